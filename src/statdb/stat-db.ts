/**
 * `stat.db`: the per-pool SQLite accounting file at the pool root, with upstream's schema, statements
 * and text local timestamps (see ARCHITECTURE.md#upstream-contracts). It lives on a network filesystem and the CLI copies it, so it stays
 * in rollback-journal mode (never WAL); writers wait on a busy timeout instead of failing.
 */
import Database from "better-sqlite3";
import type { PvTotals } from "../core/stats/usage.js";
import { xxh64Hex } from "../core/xxh64.js";

export { STAT_DB_FILE } from "./file-name.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS summary (volname VARCHAR PRIMARY KEY, size INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL)`,
  `CREATE TABLE IF NOT EXISTS pv_stats (pvname VARCHAR PRIMARY KEY, hash VARCHAR, size INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL)`,
  // This project's own table (upstream's readers query only the two above): one row per snapshot kept in the pool.
  `CREATE TABLE IF NOT EXISTS snapshot_stats (snapname VARCHAR PRIMARY KEY, source VARCHAR, size INTEGER, kind VARCHAR, ready INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL)`,
];

/** A snapshot's row: the PV it was taken of, the bytes it holds, how it was copied, whether it is whole. */
export interface SnapshotRow {
  snapname: string;
  source: string;
  size: number;
  kind: string;
  ready: boolean;
  created_at?: string;
}

export interface PvRow {
  pvname: string;
  hash: string;
  size: number;
  created_at: string;
  updated_at: string;
}

export interface OpenOptions {
  /** Only read; never create tables or change the journal mode. */
  readonly?: boolean;
  /** Inspect an existing file (a copy): writable so a hot journal rolls back, but no schema or mode changes. */
  inspect?: boolean;
  busyTimeoutMs?: number;
}

export class StatDb {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string, options: OpenOptions = {}): StatDb {
    const mustExist = Boolean(options.readonly || options.inspect);
    const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: mustExist, timeout: options.busyTimeoutMs ?? 10_000 });
    try {
      if (!mustExist) {
        db.pragma("journal_mode = DELETE");
        for (const statement of SCHEMA) db.exec(statement);
      }
      return new StatDb(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** An in-memory database from a file's bytes (a copy without a journal): nothing written to disk. */
  static fromBytes(bytes: Buffer): StatDb {
    return new StatDb(new Database(bytes));
  }

  /**
   * EXCLUSIVE: the lock taken by the next access is kept until the connection closes (or goes back to
   * NORMAL), so no transaction pays for lock calls or a re-read of the header (on a FUSE mount each is a
   * round trip to every brick). NORMAL: locks go at the end of each transaction.
   */
  setLockingMode(mode: "EXCLUSIVE" | "NORMAL"): void {
    this.db.pragma(`locking_mode = ${mode}`);
  }

  /** Every PV row's size, by name. */
  pvSizes(): Map<string, number> {
    const rows = this.statement("SELECT pvname, size FROM pv_stats").all() as { pvname: string; size: number }[];
    return new Map(rows.map((row) => [row.pvname, row.size]));
  }

  /** Every snapshot row's size, by name (none where the file predates the table: an upstream file opened read-only). */
  snapshotSizes(): Map<string, number> {
    if (!this.hasSnapshotTable()) return new Map();
    const rows = this.statement("SELECT snapname, size FROM snapshot_stats").all() as { snapname: string; size: number }[];
    return new Map(rows.map((row) => [row.snapname, row.size]));
  }

  private hasSnapshotTable(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshot_stats'").get() !== undefined;
  }

  upsertSnapshot(row: SnapshotRow): void {
    this.statement(
      `INSERT OR REPLACE INTO snapshot_stats (snapname, source, size, kind, ready, created_at, updated_at) VALUES (?, ?, ?, ?, ?, COALESCE((SELECT created_at FROM snapshot_stats WHERE snapname = ?), datetime('now','localtime')), datetime('now','localtime'))`,
    ).run(row.snapname, row.source, row.size, row.kind, row.ready ? 1 : 0, row.snapname);
  }

  deleteSnapshot(snapname: string): boolean {
    return this.statement("DELETE FROM snapshot_stats WHERE snapname = ?").run(snapname).changes > 0;
  }

  listSnapshots(): SnapshotRow[] {
    if (!this.hasSnapshotTable()) return [];
    const rows = this.db.prepare("SELECT snapname, source, size, kind, ready, created_at FROM snapshot_stats ORDER BY snapname").all() as (Omit<
      SnapshotRow,
      "ready"
    > & { ready: number })[];
    return rows.map((row) => ({ ...row, ready: row.ready === 1 }));
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per connection: the hot path runs the same few statements again and again. */
  private statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /** The first row of a read-only query (the copy reader's queries). */
  first(sql: string): Record<string, unknown> | undefined {
    return this.db.prepare(sql).get() as Record<string, unknown> | undefined;
  }

  journalMode(): string {
    return String(this.db.pragma("journal_mode", { simple: true }));
  }

  /** "ok", or what SQLite found wrong (a torn copy shows here). */
  quickCheck(): string {
    const rows = this.db.pragma("quick_check") as { quick_check: string }[];
    return rows.map((row) => row.quick_check).join("; ");
  }

  upsertSummary(volname: string, size: number): void {
    this.statement(
      `INSERT OR REPLACE INTO summary (volname, size, created_at, updated_at) VALUES (?, ?, COALESCE((SELECT created_at FROM summary WHERE volname = ?), datetime('now','localtime')), datetime('now','localtime'))`,
    ).run(volname, size, volname);
  }

  upsertPv(pvname: string, size: number): void {
    this.statement(
      `INSERT OR REPLACE INTO pv_stats (pvname, hash, size, created_at, updated_at) VALUES (?, ?, ?, COALESCE((SELECT created_at FROM pv_stats WHERE pvname = ?), datetime('now','localtime')), datetime('now','localtime'))`,
    ).run(pvname, xxh64Hex(pvname), size, pvname);
  }

  /** Deletes a PV row; deleting a missing one is not an error. Returns whether a row went. */
  deletePv(pvname: string): boolean {
    return this.statement("DELETE FROM pv_stats WHERE pvname = ?").run(pvname).changes > 0;
  }

  getPv(pvname: string): PvRow | undefined {
    return this.db.prepare("SELECT pvname, hash, size, created_at, updated_at FROM pv_stats WHERE pvname = ?").get(pvname) as PvRow | undefined;
  }

  listPvs(): PvRow[] {
    return this.db.prepare("SELECT pvname, hash, size, created_at, updated_at FROM pv_stats ORDER BY pvname").all() as PvRow[];
  }

  /** The pool size recorded in `summary` (its first row, as upstream reads it). */
  capacity(): number | null {
    const row = this.db.prepare("SELECT volname, size FROM summary").get() as { size: number | null } | undefined;
    return row?.size ?? null;
  }

  totals(): PvTotals {
    const row = this.db
      .prepare("SELECT COUNT(pvname) AS count, SUM(size) AS sum, MIN(size) AS min, AVG(size) AS avg, MAX(size) AS max FROM pv_stats")
      .get() as {
      count: number;
      sum: number | null;
      min: number | null;
      avg: number | null;
      max: number | null;
    };
    return { count: row.count, sum: row.sum ?? 0, min: row.min, avg: row.avg, max: row.max };
  }

  /** Runs `work` in one IMMEDIATE transaction: other writers wait rather than interleave. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  close(): void {
    this.db.close();
  }
}
