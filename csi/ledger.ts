/**
 * A pool's stat.db accounting as the provisioner keeps it: every PV row's size in memory (so a capacity
 * check is a sum, not a query), changes applied to memory at once and made durable by group commit
 * (the changes that arrive while one transaction commits go together in the next), and the file's lock
 * held while the pool is busy.
 *
 * The file stays a rollback-journal SQLite database in upstream's schema. Holding the lock (EXCLUSIVE
 * locking mode) is what makes a commit on a FUSE mount cheap; it is released after `holdMs` without
 * writes, so other readers and writers (upstream's `sqlite3` in the provisioner, `kadalu-csi archived`)
 * get their turn. When the lock is taken again, a change by anyone else (`data_version`) reloads the rows.
 * A `holdMs` of 0 never holds it past a transaction (each one then takes and drops its locks, as upstream's do).
 */
import type { StatDb } from "../src/statdb/stat-db.js";

type Change = { kind: "pv"; name: string; size: number | undefined } | { kind: "summary"; pool: string; size: number };

interface Pending {
  changes: Change[];
  /** What memory held before each change, to put back if the commit fails. */
  undo: (() => void)[];
  done: Promise<void>;
  settle: (error?: Error) => void;
}

export const DEFAULT_HOLD_MS = 500;

export class Ledger {
  private sizes: Map<string, number>;
  private total = 0;
  private pending?: Pending;
  private holding = false;
  private releaseTimer?: NodeJS.Timeout;
  private versionAtRelease = 0;

  constructor(private readonly db: StatDb, private readonly holdMs = DEFAULT_HOLD_MS) {
    this.sizes = db.pvSizes();
    this.total = sum(this.sizes);
  }

  /** Σ of PV sizes and the PV count, including changes not yet committed. */
  provisioned(): { sum: number; count: number } {
    this.take();
    return { sum: this.total, count: this.sizes.size };
  }

  /**
   * Counts `size` for `name` now; the row is written once `after` has settled (the files it accounts for
   * go first) and this resolves when it is durable. If `after` or the commit fails, memory is put back
   * and this rejects.
   */
  /** The PV names as last read or changed here (no lock taken: a background reader can live with a stale list). */
  names(): string[] {
    return [...this.sizes.keys()];
  }

  upsertPv(name: string, size: number, after?: Promise<unknown>): Promise<void> {
    return this.change({ kind: "pv", name, size }, after);
  }

  deletePv(name: string): Promise<void> {
    return this.change({ kind: "pv", name, size: undefined });
  }

  upsertSummary(pool: string, size: number): Promise<void> {
    return this.change({ kind: "summary", pool, size });
  }

  private change(change: Change, after?: Promise<unknown>): Promise<void> {
    this.take();
    let undo = (): void => undefined;
    if (change.kind === "pv") {
      const before = this.sizes.get(change.name);
      this.apply(change.name, change.size);
      undo = () => this.apply(change.name, before);
    }
    if (!after) return this.enqueue(change, undo);
    return after.then(() => this.enqueue(change, undo), (error: unknown) => {
      undo();
      throw error;
    });
  }

  private enqueue(change: Change, undo: () => void): Promise<void> {
    this.take();
    const batch = (this.pending ??= this.newBatch());
    batch.changes.push(change);
    batch.undo.push(undo);
    return batch.done;
  }

  private apply(name: string, size: number | undefined): void {
    this.total -= this.sizes.get(name) ?? 0;
    if (size === undefined) this.sizes.delete(name);
    else {
      this.sizes.set(name, size);
      this.total += size;
    }
  }

  private newBatch(): Pending {
    let settle!: (error?: Error) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    const batch: Pending = { changes: [], undo: [], done, settle };
    // Everything that arrives before the event loop comes round again commits in this one transaction.
    setImmediate(() => this.commit(batch));
    return batch;
  }

  private commit(batch: Pending): void {
    if (this.pending === batch) this.pending = undefined;
    try {
      this.db.transaction(() => {
        for (const change of batch.changes) {
          if (change.kind === "summary") this.db.upsertSummary(change.pool, change.size);
          else if (change.size === undefined) this.db.deletePv(change.name);
          else this.db.upsertPv(change.name, change.size);
        }
      });
      batch.settle();
    } catch (error) {
      for (const undo of batch.undo.reverse()) undo();
      batch.settle(error as Error);
    }
    this.holdFor();
  }

  /** Takes the lock for a busy spell; reloads the rows if someone else wrote since it was last released. */
  private take(): void {
    if (this.holding || this.holdMs === 0) return;
    this.holding = true;
    if (this.versionAtRelease !== 0 && this.db.dataVersion() !== this.versionAtRelease) {
      this.sizes = this.db.pvSizes();
      this.total = sum(this.sizes);
    }
    this.db.setLockingMode("EXCLUSIVE");
    this.holdFor();
  }

  private holdFor(): void {
    if (!this.holding) return;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => this.release(), this.holdMs);
    this.releaseTimer.unref();
  }

  private release(): void {
    if (!this.holding || this.pending) return;
    this.holding = false;
    this.db.setLockingMode("NORMAL");
    this.db.touch();
    this.versionAtRelease = this.db.dataVersion();
  }

  /** Commits what is pending and lets go of the lock (before the connection closes). */
  close(): void {
    clearTimeout(this.releaseTimer);
    if (this.pending) this.commit(this.pending);
    clearTimeout(this.releaseTimer);
  }
}

function sum(sizes: Map<string, number>): number {
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}
