/** What snapshots and clones copy, by pool, copy kind and operation: the provisioner's metrics listen. */
import type { CopyKind } from "./copy-tree.js";

export type CopyOperation = "snapshot" | "clone";

export interface FinishedCopy {
  pool: string;
  kind: CopyKind;
  operation: CopyOperation;
  /** Bytes the copy holds. */
  bytes: number;
  /** Bytes read and written (full copies; reflinks write none). */
  copiedBytes: number;
}

export class CopyMeter {
  /** Told of each step (the metrics' counters); nothing listens where no metrics are served. */
  onProgress: (pool: string, bytes: number) => void = () => undefined;
  onFinished: (copy: FinishedCopy) => void = () => undefined;

  /** A full copy's progress: `bytes` more written. */
  progress(pool: string, bytes: number): void {
    this.onProgress(pool, bytes);
  }

  finished(copy: FinishedCopy): void {
    this.onFinished(copy);
  }
}
