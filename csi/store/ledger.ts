/**
 * A pool's stat.db accounting as the provisioner keeps it: every PV row's size in memory (so a capacity
 * check is a sum, not a query), changes applied to memory at once and made durable by group commit on the
 * pool's stat.db thread (the changes that arrive while one transaction commits go together in the next).
 *
 * The file stays a rollback-journal SQLite database in upstream's schema. The thread keeps it open, and
 * locked, while the pool is busy and closes it after `holdMs` without work (0: after each request); each
 * time it opens the file again it sends back the rows it read, which replace memory (someone else may have
 * written meanwhile), with the changes still on their way applied on top.
 */
import { asError, StatDbThread, type Answer, type Change, type SnapshotChange } from "./stat-db-thread.js";

interface Batch {
  changes: Change[];
  sent: boolean;
  done: Promise<void>;
  settle: (error?: Error) => void;
}

export const DEFAULT_HOLD_MS = 500;

export class Ledger {
  private sizes: Map<string, number>;
  private total = 0;
  /** Collecting: sent when the event loop comes round. */
  private pending?: Batch;
  /** Sent, not answered yet (one at a time, but close() may add the last one). */
  private readonly inFlight = new Set<Batch>();
  /** Whether the thread holds the file open (as its last word said): then memory is what the file holds. */
  private holding = false;

  /** Snapshot sizes by name, kept like the PV rows (their own table). */
  private snapshotSizes: Map<string, number>;

  private constructor(
    private readonly thread: StatDbThread,
    rows: Map<string, number>,
    snapshots: Map<string, number>,
    private readonly holdMs: number,
  ) {
    this.sizes = rows;
    this.snapshotSizes = snapshots;
    this.total = sum(rows);
    thread.onReleased = () => (this.holding = false);
  }

  static async open(path: string, holdMs = DEFAULT_HOLD_MS): Promise<Ledger> {
    const { thread, rows, snapshots } = await StatDbThread.open(path, holdMs);
    return new Ledger(thread, rows, snapshots, holdMs);
  }

  /** Σ of PV sizes and the PV count, including changes not yet committed. */
  provisioned(): { sum: number; count: number } {
    return { sum: this.total, count: this.sizes.size };
  }

  /** Σ of the snapshots' sizes and their count (they take room in the pool as PVs do). */
  snapshots(): { sum: number; count: number } {
    return { sum: sum(this.snapshotSizes), count: this.snapshotSizes.size };
  }

  /** Snapshot names as memory holds them. */
  snapshotNames(): string[] {
    return [...this.snapshotSizes.keys()];
  }

  /** Writes (row) or drops (undefined) a snapshot's row side by side with `after`, as upsertPv does. */
  changeSnapshot(name: string, row: SnapshotChange["row"], after?: Promise<unknown>): Promise<void> {
    return this.change({ kind: "snapshot", name, row }, after);
  }

  /** Whether a row of `name` is in memory (read, or changed here). */
  has(name: string): boolean {
    return this.sizes.has(name);
  }

  /** The PV names as last read or changed here. */
  names(): string[] {
    return [...this.sizes.keys()];
  }

  /** Every PV's size as memory holds it (what the file holds, with the changes on their way). */
  rows(): Map<string, number> {
    return new Map(this.sizes);
  }

  /** After an idle spell: opens the file and catches up with what anyone else wrote meanwhile. */
  async fresh(): Promise<void> {
    if (this.holding || this.holdMs === 0) return;
    this.holding = true;
    this.answered(await this.thread.request({ type: "take" }));
  }

  /**
   * Counts `size` for `name` now and commits the row side by side with `after` (the files it accounts
   * for); resolves when both are done and the row is durable. If the commit fails, memory follows the
   * file; if `after` fails, the row is put back (memory at once, the file by the next commit) and this
   * rejects. A crash in between leaves a row without whole metadata: the start's repair drops it.
   */
  upsertPv(name: string, size: number, after?: Promise<unknown>): Promise<void> {
    return this.change({ kind: "pv", name, size }, after);
  }

  /** Drops the row side by side with `after` (the files going), as upsertPv does. */
  deletePv(name: string, after?: Promise<unknown>): Promise<void> {
    return this.change({ kind: "pv", name, size: undefined }, after);
  }

  upsertSummary(pool: string, size: number): Promise<void> {
    return this.change({ kind: "summary", pool, size });
  }

  private change(change: Change, after?: Promise<unknown>): Promise<void> {
    if (change.kind === "snapshot") return this.changeOfSnapshot(change, after);
    const before = change.kind === "pv" ? this.sizes.get(change.name) : undefined;
    const putBack = change.kind === "pv" ? (): Promise<void> => this.enqueue({ kind: "pv", name: change.name, size: before }) : undefined;
    return this.settle(this.enqueue(change), after, putBack);
  }

  /**
   * The row's commit beside the file work `after`: settles when both have; when the files fail, a committed
   * row is put back by `putBack` (its failure is the files' to report, not the caller's) and the files' error
   * is thrown.
   */
  private settle(committed: Promise<void>, after: Promise<unknown> | undefined, putBack: (() => Promise<void>) | undefined): Promise<void> {
    if (!after) return committed;
    return Promise.allSettled([committed, after]).then(async ([row, files]) => {
      if (files.status === "fulfilled") {
        if (row.status === "rejected") throw row.reason;
        return;
      }
      if (row.status === "fulfilled" && putBack) await putBack().catch(() => undefined);
      throw files.reason;
    });
  }

  /** As change() for a PV row: memory at once, put back if `after` fails. */
  private changeOfSnapshot(change: SnapshotChange, after?: Promise<unknown>): Promise<void> {
    // Only a new row is put back (dropped); a rewritten one stays as the file work left it.
    const putBack =
      !this.snapshotSizes.has(change.name) && change.row
        ? (): Promise<void> => this.enqueue({ kind: "snapshot", name: change.name, row: undefined })
        : undefined;
    return this.settle(this.enqueue(change), after, putBack);
  }

  private enqueue(change: Change): Promise<void> {
    if (change.kind === "pv") this.apply(change.name, change.size);
    if (change.kind === "snapshot") this.applySnapshot(change);
    const batch = (this.pending ??= this.newBatch());
    batch.changes.push(change);
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

  private applySnapshot(change: SnapshotChange): void {
    if (change.row) this.snapshotSizes.set(change.name, change.row.size);
    else this.snapshotSizes.delete(change.name);
  }

  private newBatch(): Batch {
    let settle!: (error?: Error) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
    const batch: Batch = { changes: [], sent: false, done, settle };
    // Everything that arrives before the event loop comes round again, or while the transaction before
    // it commits, goes in this one.
    setImmediate(() => this.inFlight.size === 0 && this.send(batch));
    return batch;
  }

  private send(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.pending === batch) this.pending = undefined;
    this.inFlight.add(batch);
    this.holding = this.holdMs > 0;
    void this.thread.request({ type: "commit", changes: batch.changes }).then((answer) => {
      this.inFlight.delete(batch);
      this.answered(answer);
      batch.settle(answer.error ? asError(answer.error) : undefined);
      if (this.pending) this.send(this.pending);
    });
  }

  /** The file's rows, when the answer carries them, with the changes sent after it and those collecting on top. */
  private answered(answer: Answer): void {
    if (!answer.rows) return;
    this.sizes = new Map(answer.rows);
    this.total = sum(this.sizes);
    if (answer.snapshots) this.snapshotSizes = new Map(answer.snapshots);
    for (const batch of [...this.inFlight, ...(this.pending ? [this.pending] : [])]) {
      for (const change of batch.changes) {
        if (change.kind === "pv") this.apply(change.name, change.size);
        if (change.kind === "snapshot" && answer.snapshots) this.applySnapshot(change);
      }
    }
  }

  /**
   * Commits what is collecting and closes the file (its lock goes with it). The thread answers in order,
   * so once it has closed every commit was answered; one stuck on a dead mount is stopped (bounded).
   */
  async close(): Promise<void> {
    if (this.pending) this.send(this.pending);
    await this.thread.close();
  }
}

function sum(sizes: Map<string, number>): number {
  let total = 0;
  for (const size of sizes.values()) total += size;
  return total;
}
