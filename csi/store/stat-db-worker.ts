/**
 * The thread that owns one pool's stat.db connection. SQLite calls are synchronous, and on a FUSE mount a
 * commit (rollback journal, synchronous FULL: four fsyncs) is a dozen round trips to every brick: made on
 * the main thread it would stop every other CSI call, and the file calls of the create it accounts for,
 * for as long. Here it runs beside them.
 *
 * It also keeps the file's lock while the pool is busy (EXCLUSIVE locking mode: a commit then pays for no
 * lock calls and no re-read of the header) and lets go after `holdMs` without work, so other readers and
 * writers (upstream's `sqlite3`, `kadalu-csi archived`) get their turn. Taking the lock again, it tells
 * whether anyone else wrote meanwhile (`data_version`) by sending the rows with its reply.
 */
import { parentPort, workerData } from "node:worker_threads";
import { StatDb } from "../../src/statdb/stat-db.js";
import type { StatDbReply, StatDbRequest, StatDbWorkerData } from "./stat-db-thread.js";

const { path, holdMs } = workerData as StatDbWorkerData;
const port = parentPort!;
let db: StatDb;
let holding = false;
let versionAtRelease = 0;
let releaseTimer: NodeJS.Timeout | undefined;

const rows = (): [string, number][] => [...db.pvSizes()];
const snapshots = (): [string, number][] => [...db.snapshotSizes()];

/** Takes the lock for a busy spell; true when someone else changed the file since it was let go. */
function take(): boolean {
  if (holding || holdMs === 0) return false;
  holding = true;
  const changed = versionAtRelease !== 0 && db.dataVersion() !== versionAtRelease;
  db.setLockingMode("EXCLUSIVE");
  return changed;
}

function holdFor(): void {
  if (!holding) return;
  clearTimeout(releaseTimer);
  releaseTimer = setTimeout(release, holdMs);
}

function release(): void {
  holding = false;
  db.setLockingMode("NORMAL");
  db.touch();
  versionAtRelease = db.dataVersion();
  port.postMessage({ type: "released" } satisfies StatDbReply);
}

function errorOf(error: unknown): { message: string; code?: string } {
  return { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code };
}

function handle(request: StatDbRequest): StatDbReply {
  if (request.type === "close") {
    clearTimeout(releaseTimer);
    db.close();
    return { type: "reply", seq: request.seq };
  }
  const changed = take();
  try {
    if (request.type === "commit") {
      db.transaction(() => {
        for (const change of request.changes) {
          if (change.kind === "summary") db.upsertSummary(change.pool, change.size);
          else if (change.kind === "snapshot") {
            if (change.row) db.upsertSnapshot({ snapname: change.name, ...change.row });
            else db.deleteSnapshot(change.name);
          } else if (change.size === undefined) db.deletePv(change.name);
          else db.upsertPv(change.name, change.size);
        }
      });
    }
    return { type: "reply", seq: request.seq, ...(changed ? { rows: rows(), snapshots: snapshots() } : {}) };
  } catch (error) {
    // Rolled back: the caller puts its memory back on what the file holds.
    let current: { rows: [string, number][]; snapshots: [string, number][] } | undefined;
    try {
      current = { rows: rows(), snapshots: snapshots() };
    } catch {
      current = undefined;
    }
    return { type: "reply", seq: request.seq, error: errorOf(error), ...current };
  } finally {
    holdFor();
  }
}

try {
  db = StatDb.open(path);
  port.postMessage({ type: "ready", rows: rows(), snapshots: snapshots() } satisfies StatDbReply);
  port.on("message", (request: StatDbRequest) => {
    port.postMessage(handle(request));
    if (request.type === "close") port.close();
  });
} catch (error) {
  port.postMessage({ type: "failed", error: errorOf(error) } satisfies StatDbReply);
  port.close();
}
