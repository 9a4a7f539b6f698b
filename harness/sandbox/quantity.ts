/** Kubernetes resource quantities for storage: "1Gi", "500Mi", "2G", "1073741824". */
const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

export function parseQuantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(text).trim());
  if (!match) throw new Error(`"${text}" is not a storage quantity`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? ""]!);
}

export function formatQuantity(bytes: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki"]) if (bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  return String(bytes);
}
