/**
 * Reads a copy of a pool's stat.db (and its rollback journal, if one was copied beside it) for
 * `storage-list --status`: integrity, the recorded capacity, the PV totals. Node's built-in SQLite
 * (`node:sqlite`, Node 22.13 and later, so the single-binary builds) when this Node has it, else
 * better-sqlite3 (an npm install on Node 20). Either opens the copy writable, so a hot journal rolls
 * back, and never changes its schema or journal mode.
 */
import type { PvTotals } from "../core/stats/usage.js";

/** The file's name at the pool root (upstream's). */
export const STAT_DB_FILE = "stat.db";

export interface CopySummary {
  /** "ok", or what SQLite found wrong (a torn copy). */
  integrity: string;
  capacity: number | null;
  totals: PvTotals;
}

const CAPACITY = "SELECT volname, size FROM summary";
const TOTALS = "SELECT COUNT(pvname) AS count, SUM(size) AS sum, MIN(size) AS min, AVG(size) AS avg, MAX(size) AS max FROM pv_stats";

interface Connection {
  integrity(): string;
  first(sql: string): Record<string, unknown> | undefined;
  close(): void;
}

type NodeSqlite = { DatabaseSync: new (path: string, options?: { open?: boolean; timeout?: number }) => { prepare(sql: string): { get(): unknown; all(): unknown[] }; close(): void } };

function builtinSqlite(): NodeSqlite | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  try {
    return getBuiltin?.("node:sqlite") as NodeSqlite | undefined;
  } catch {
    return undefined;
  }
}

function openBuiltin(sqlite: NodeSqlite, path: string): Connection {
  const db = new sqlite.DatabaseSync(path, { timeout: 0 });
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

export async function readCopy(path: string): Promise<CopySummary> {
  const sqlite = builtinSqlite();
  const db = sqlite ? openBuiltin(sqlite, path) : await openBetterSqlite(path);
  try {
    const integrity = db.integrity();
    if (integrity !== "ok") return { integrity, capacity: null, totals: { count: 0, sum: 0, min: null, avg: null, max: null } };
    const capacity = (db.first(CAPACITY)?.size as number | null | undefined) ?? null;
    const row = db.first(TOTALS)!;
    const number = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
    return { integrity, capacity: number(capacity), totals: { count: Number(row.count), sum: number(row.sum) ?? 0, min: number(row.min), avg: number(row.avg), max: number(row.max) } };
  } finally {
    db.close();
  }
}
