/**
 * The thread that owns one pool's stat.db connection. SQLite calls are synchronous, and on a FUSE mount a
 * commit (rollback journal, synchronous FULL: four fsyncs) is a dozen round trips to every brick: made on
 * the main thread it would stop every other CSI call, and the file calls of the create it accounts for,
 * for as long. Here it runs beside them.
 *
 * The file is open only while the pool is busy: opened by the first request after a quiet spell, kept
 * (EXCLUSIVE locking: a commit then pays for no lock calls and no re-read of the header) and closed after
 * `holdMs` without work (0: after each request), or at once when a request fails. Closed, it holds no lock,
 * so other readers and writers (upstream's `sqlite3`, `kadalu-csi archived`) get their turn, and no file
 * descriptor: a descriptor kept across a brick's replacement answers EBADFD on the new brick, and the
 * file and its journal, still open, would never heal there. Each open sends the rows it reads with its
 * reply, so a change made by someone else while it was closed is seen.
 */
import { existsSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { StatDb } from "../../src/statdb/stat-db.js";
import type { StatDbReply, StatDbRequest, StatDbWorkerData } from "./stat-db-thread.js";

type Rows = { rows: [string, number][]; snapshots: [string, number][] };

const { path, holdMs } = workerData as StatDbWorkerData;
const port = parentPort!;
let db: StatDb | undefined;
let closeTimer: NodeJS.Timeout | undefined;

const rowsOf = (open: StatDb): Rows => ({ rows: [...open.pvSizes()], snapshots: [...open.snapshotSizes()] });

/** Whether the file has been open once: from then on it must be there to be opened again. */
let openedOnce = false;

/**
 * The open connection, opening the file when it is closed (`fresh`: its rows must be sent). Only the first
 * open may create the file (a new pool); a file gone since is never made again empty, which would lose every
 * row without a word: a restart of the provisioner rebuilds it from the PVs' metadata.
 */
function connection(): { open: StatDb; fresh: boolean } {
  if (db) return { open: db, fresh: false };
  if (openedOnce && !existsSync(path))
    throw Object.assign(new Error(`${path} is gone since it was last open; restart the provisioner's pod to rebuild it from the PVs' metadata`), {
      code: "ENOENT",
    });
  const open = StatDb.open(path, openedOnce ? { inspect: true } : {});
  open.setLockingMode("EXCLUSIVE");
  db = open;
  openedOnce = true;
  return { open, fresh: true };
}

/** Closes the file (its lock and its descriptors go with it); a close that fails on a dead mount still lets go of the handle. */
function closeFile(): void {
  clearTimeout(closeTimer);
  closeTimer = undefined;
  if (!db) return;
  const open = db;
  db = undefined;
  try {
    open.close();
  } catch {
    // Nothing more to do: the next request opens the file anew.
  }
  port.postMessage({ type: "released" } satisfies StatDbReply);
}

function holdFor(): void {
  clearTimeout(closeTimer);
  if (!db) return;
  if (holdMs === 0) closeFile();
  else closeTimer = setTimeout(closeFile, holdMs);
}

function errorOf(error: unknown): { message: string; code?: string } {
  return { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code };
}

function commit(open: StatDb, request: Extract<StatDbRequest, { type: "commit" }>): void {
  open.transaction(() => {
    for (const change of request.changes) {
      if (change.kind === "summary") open.upsertSummary(change.pool, change.size);
      else if (change.kind === "snapshot") {
        if (change.row) open.upsertSnapshot({ snapname: change.name, ...change.row });
        else open.deleteSnapshot(change.name);
      } else if (change.size === undefined) open.deletePv(change.name);
      else open.upsertPv(change.name, change.size);
    }
  });
}

function handle(request: StatDbRequest): StatDbReply {
  if (request.type === "close") {
    closeFile();
    return { type: "reply", seq: request.seq };
  }
  try {
    const { open, fresh } = connection();
    if (request.type === "commit") commit(open, request);
    const reply: StatDbReply = { type: "reply", seq: request.seq, ...(fresh ? rowsOf(open) : {}) };
    holdFor();
    return reply;
  } catch (error) {
    // Rolled back: the caller puts its memory back on what the file holds, when it can still be read.
    let current: Rows | undefined;
    try {
      current = db ? rowsOf(db) : undefined;
    } catch {
      current = undefined;
    }
    closeFile();
    return { type: "reply", seq: request.seq, error: errorOf(error), ...current };
  }
}

try {
  const { open } = connection();
  port.postMessage({ type: "ready", ...rowsOf(open) } satisfies StatDbReply);
  holdFor();
  port.on("message", (request: StatDbRequest) => {
    port.postMessage(handle(request));
    if (request.type === "close") port.close();
  });
} catch (error) {
  closeFile();
  port.postMessage({ type: "failed", error: errorOf(error) } satisfies StatDbReply);
  port.close();
}
