/**
 * The main thread's end of a pool's stat.db thread (stat-db-worker.ts): requests numbered and answered in
 * order, the rows it read at start, and a bounded close. In the bundle the worker is the
 * `stat-db-worker.cjs` next to the program.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import type { SnapshotRow } from "../../src/statdb/stat-db.js";

/** A snapshot row's change: `row` to write it, undefined to drop it. */
export type SnapshotChange = { kind: "snapshot"; name: string; row: Omit<SnapshotRow, "snapname" | "created_at"> | undefined };
export type Change = { kind: "pv"; name: string; size: number | undefined } | { kind: "summary"; pool: string; size: number } | SnapshotChange;

export interface StatDbWorkerData {
  path: string;
  holdMs: number;
}

export type StatDbRequest = { type: "commit"; seq: number; changes: Change[] } | { type: "take"; seq: number } | { type: "close"; seq: number };

type WireError = { message: string; code?: string };

export type StatDbReply =
  | { type: "ready"; rows: [string, number][]; snapshots: [string, number][] }
  | { type: "failed"; error: WireError }
  /** The file was closed: the next request opens it again. */
  | { type: "released" }
  /** `rows`: what the file holds after the request, sent when the request opened the file (or a commit failed). */
  | { type: "reply"; seq: number; rows?: [string, number][]; snapshots?: [string, number][]; error?: WireError };

export type Answer = Extract<StatDbReply, { type: "reply" }>;

const START_MS = 30_000;
const CLOSE_MS = 10_000;

/** In the bundle the worker is the `stat-db-worker.cjs` beside it; from source (the tests) tsx loads the TypeScript. */
function startWorker(data: StatDbWorkerData): Worker {
  // The CommonJS bundle has no import.meta.url (the build defines it away).
  const here = import.meta.url;
  if (!here) return new Worker(join(__dirname, "stat-db-worker.cjs"), { workerData: data });
  const source = fileURLToPath(new URL("./stat-db-worker.ts", here));
  return new Worker(`require("tsx/cjs/api").register(); require(${JSON.stringify(source)});`, { eval: true, workerData: data });
}

export const asError = (wire: WireError): Error => Object.assign(new Error(wire.message), wire.code ? { code: wire.code } : {});

export class StatDbThread {
  private seq = 0;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private failure?: Error;
  onReleased: () => void = () => undefined;

  private constructor(private readonly worker: Worker) {}

  /** Starts the thread on `path` and waits (bounded) for the rows it read. */
  static async open(path: string, holdMs: number): Promise<{ thread: StatDbThread; rows: Map<string, number>; snapshots: Map<string, number> }> {
    const thread = new StatDbThread(startWorker({ path, holdMs }));
    let timer: NodeJS.Timeout | undefined;
    try {
      const ready = await new Promise<{ rows: [string, number][]; snapshots: [string, number][] }>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`stat.db at ${path} did not open within ${START_MS / 1000}s`)), START_MS);
        thread.listen(resolve, reject);
      });
      return { thread, rows: new Map(ready.rows), snapshots: new Map(ready.snapshots) };
    } catch (error) {
      await thread.worker.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private listen(ready: (rows: { rows: [string, number][]; snapshots: [string, number][] }) => void, failed: (error: Error) => void): void {
    this.worker.on("message", (reply: StatDbReply) => {
      if (reply.type === "ready") ready(reply);
      else if (reply.type === "failed") failed(asError(reply.error));
      else if (reply.type === "released") this.onReleased();
      else {
        const resolve = this.waiting.get(reply.seq);
        this.waiting.delete(reply.seq);
        resolve?.(reply);
      }
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      failed(this.failure);
      for (const [seq, resolve] of this.waiting) resolve({ type: "reply", seq, error: { message: this.failure.message } });
      this.waiting.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the stat.db thread exited (code ${code})`)));
  }

  /** Sends a request; the answer comes in the order requests were sent. Never rejects: errors are in the answer. */
  request(request: { type: "commit"; changes: Change[] } | { type: "take" }): Promise<Answer> {
    const seq = (this.seq += 1);
    if (this.failure) return Promise.resolve({ type: "reply", seq, error: { message: this.failure.message } });
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.worker.postMessage({ ...request, seq } satisfies StatDbRequest);
    });
  }

  /** Closes the connection (its lock goes with it) and ends the thread; a thread stuck on a dead mount is stopped. */
  async close(): Promise<void> {
    if (this.failure) return;
    const seq = (this.seq += 1);
    const closed = new Promise<void>((resolve) => this.waiting.set(seq, () => resolve()));
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ type: "close", seq } satisfies StatDbRequest);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), CLOSE_MS)));
    if ((await Promise.race([closed.then(() => exited), late])) === "late") await this.worker.terminate();
    clearTimeout(timer);
  }
}
