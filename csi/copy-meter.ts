/** What snapshots and clones copied, by pool, copy kind and operation: the provisioner's metrics read it. */
import type { CopyKind } from "./copy-tree.js";

export type CopyOperation = "snapshot" | "clone";

export interface CopyCount {
  pool: string;
  kind: CopyKind;
  operation: CopyOperation;
  copies: number;
  /** Bytes the copies hold. */
  bytes: number;
  /** Bytes read and written (full copies; reflinks write none). */
  copiedBytes: number;
}

export class CopyMeter {
  private readonly counts = new Map<string, CopyCount>();
  /** Told of each step (the metrics' counters). */
  onProgress: (pool: string, bytes: number) => void = () => undefined;
  onFinished: (count: Omit<CopyCount, "copies">) => void = () => undefined;
  /** Bytes written by copies still running, by pool (progress between scrapes). */
  private readonly running = new Map<string, number>();

  /** A copy's progress: `bytes` more written. */
  progress(pool: string, bytes: number): void {
    this.running.set(pool, (this.running.get(pool) ?? 0) + bytes);
    this.onProgress(pool, bytes);
  }

  /** A copy finished: its totals counted, its progress no longer running. */
  finished(pool: string, kind: CopyKind, operation: CopyOperation, bytes: number, copiedBytes: number): void {
    const key = `${pool}/${kind}/${operation}`;
    const count = this.counts.get(key) ?? { pool, kind, operation, copies: 0, bytes: 0, copiedBytes: 0 };
    count.copies += 1;
    count.bytes += bytes;
    count.copiedBytes += copiedBytes;
    this.counts.set(key, count);
    this.running.set(pool, Math.max(0, (this.running.get(pool) ?? 0) - copiedBytes));
    this.onFinished({ pool, kind, operation, bytes, copiedBytes });
  }

  /** A copy failed: what it wrote is no longer running. */
  abandoned(pool: string, copiedBytes: number): void {
    this.running.set(pool, Math.max(0, (this.running.get(pool) ?? 0) - copiedBytes));
  }

  totals(): CopyCount[] {
    return [...this.counts.values()].map((count) => ({ ...count }));
  }

  inProgress(): Map<string, number> {
    return new Map(this.running);
  }
}
