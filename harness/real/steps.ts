/** Tests that build on each other: after a failure the rest are skipped (saying which failed), not failed again. */
import { it } from "vitest";

/** `skip`: why this step cannot run here (a part the machine lacks); the steps after it still run. */
export function stepper(timeoutMs?: number): (name: string, body: () => Promise<void>, skip?: string) => void {
  let failed: string | undefined;
  return (name, body, skip) => {
    it(
      name,
      async (context) => {
        if (failed) context.skip(`an earlier step failed: ${failed}`);
        if (skip) context.skip(skip);
        try {
          await body();
        } catch (error) {
          failed = name;
          throw error;
        }
      },
      timeoutMs,
    );
  };
}
