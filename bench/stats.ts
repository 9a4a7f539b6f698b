/** Small statistics for the bench: percentiles, and min/median/max of repeated measurements. */

export type Row = [scenario: string, measured: string, target: string];

export const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
};

export const median = (values: number[]): number => percentile(values, 50);

/** `min / median / max` of repeated figures, each with `digits` decimals and an optional unit. */
export function spread(values: number[], digits = 2, unit = ""): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (value: number): string => `${value.toFixed(digits)}${unit}`;
  return `${f(sorted[0]!)} / ${f(median(sorted))} / ${f(sorted[sorted.length - 1]!)}`;
}

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The rows of `work`, or one row naming its failure: `--quick` fails nothing, and a full run keeps the rows that worked. */
export async function guarded(label: string, work: () => Promise<Row[]>): Promise<Row[]> {
  try {
    return await work();
  } catch (error) {
    return [[label, `failed: ${(error as Error).message.split("\n")[0]}`, "-"]];
  }
}
