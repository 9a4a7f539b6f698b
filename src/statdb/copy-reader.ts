/**
 * Reads a copy of a pool's stat.db (and its rollback journal, if one was copied beside it) for
 * `storage-list --status`: integrity, the recorded capacity, the PV totals and the snapshot totals. Node's built-in SQLite
 * (`node:sqlite`, Node 22.13 and later, so the single-binary builds) when this Node has it, else
 * better-sqlite3 (an npm install on Node 20). Either opens the copy writable, so a hot journal rolls
 * back, and never changes its schema or journal mode. A copy without a journal is read from memory
 * (deserialized) where the engine can, so nothing is written to disk for it.
 */
import { writeFileSync } from "node:fs";
import { NO_SNAPSHOTS, type PvTotals, type SnapshotTotals } from "../core/stats/usage.js";

export { STAT_DB_FILE } from "./file-name.js";

export interface CopySummary {
  /** "ok", or what SQLite found wrong (a torn copy). */
  integrity: string;
  capacity: number | null;
  totals: PvTotals;
  /** This project's `snapshot_stats` (none in a file that predates it, such as upstream's). */
  snapshots: SnapshotTotals;
}

const CAPACITY = "SELECT volname, size FROM summary";
const TOTALS = "SELECT COUNT(pvname) AS count, SUM(size) AS sum, MIN(size) AS min, AVG(size) AS avg, MAX(size) AS max FROM pv_stats";
const HAS_SNAPSHOTS = "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'snapshot_stats'";
const SNAPSHOTS = "SELECT COUNT(snapname) AS count, SUM(size) AS sum FROM snapshot_stats";

interface Connection {
  integrity(): string;
  first(sql: string): Record<string, unknown> | undefined;
  close(): void;
}

type BuiltinDatabase = { prepare(sql: string): { get(): unknown; all(): unknown[] }; close(): void; deserialize?: (bytes: Uint8Array) => void };
type NodeSqlite = { DatabaseSync: new (path: string, options?: { open?: boolean; timeout?: number }) => BuiltinDatabase };

function builtinSqlite(): NodeSqlite | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  try {
    return getBuiltin?.("node:sqlite") as NodeSqlite | undefined;
  } catch {
    return undefined;
  }
}

function openBuiltin(sqlite: NodeSqlite, path: string): Connection {
  return builtinConnection(new sqlite.DatabaseSync(path, { timeout: 0 }));
}

function builtinConnection(db: BuiltinDatabase): Connection {
  return {
    integrity: () => (db.prepare("PRAGMA quick_check").all() as { quick_check: string }[]).map((row) => row.quick_check).join("; "),
    first: (sql) => db.prepare(sql).get() as Record<string, unknown> | undefined,
    close: () => db.close(),
  };
}

/** better-sqlite3 through StatDb, loaded only here (a bundled module: no dynamic import of a native one). */
async function openBetterSqlite(path: string): Promise<Connection> {
  const { StatDb } = await import("./stat-db.js");
  const db = StatDb.open(path, { inspect: true, busyTimeoutMs: 0 });
  return { integrity: () => db.quickCheck(), first: (sql) => db.first(sql), close: () => db.close() };
}

/** The copy's bytes in memory; undefined where this Node's built-in SQLite cannot deserialize (before Node 24). */
async function openBytes(bytes: Buffer): Promise<Connection | undefined> {
  const sqlite = builtinSqlite();
  if (!sqlite) {
    const { StatDb } = await import("./stat-db.js");
    const db = StatDb.fromBytes(bytes);
    return { integrity: () => db.quickCheck(), first: (sql) => db.first(sql), close: () => db.close() };
  }
  const db = new sqlite.DatabaseSync(":memory:");
  if (!db.deserialize) {
    db.close();
    return undefined;
  }
  db.deserialize(bytes);
  return builtinConnection(db);
}

/** A copy on disk, with its rollback journal beside it if one was copied (SQLite rolls it back). */
export async function readCopy(path: string): Promise<CopySummary> {
  const sqlite = builtinSqlite();
  return summarize(sqlite ? openBuiltin(sqlite, path) : await openBetterSqlite(path));
}

/** A copy that came without a journal: read from memory, or through `scratchPath` (0600) where it must be a file. */
export async function readCopyBytes(bytes: Buffer, scratchPath: string): Promise<CopySummary> {
  const inMemory = await openBytes(bytes);
  if (inMemory) return summarize(inMemory);
  writeFileSync(scratchPath, bytes, { mode: 0o600 });
  return readCopy(scratchPath);
}

function summarize(db: Connection): CopySummary {
  try {
    const integrity = db.integrity();
    if (integrity !== "ok") return { integrity, capacity: null, totals: { count: 0, sum: 0, min: null, avg: null, max: null }, snapshots: NO_SNAPSHOTS };
    const capacity = (db.first(CAPACITY)?.size as number | null | undefined) ?? null;
    const row = db.first(TOTALS)!;
    const number = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
    const snapshotRow = db.first(HAS_SNAPSHOTS) ? db.first(SNAPSHOTS)! : undefined;
    const snapshots = snapshotRow ? { count: Number(snapshotRow.count), sum: number(snapshotRow.sum) ?? 0 } : NO_SNAPSHOTS;
    return {
      integrity,
      capacity: number(capacity),
      totals: { count: Number(row.count), sum: number(row.sum) ?? 0, min: number(row.min), avg: number(row.avg), max: number(row.max) },
      snapshots,
    };
  } finally {
    db.close();
  }
}
