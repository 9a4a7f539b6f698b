/**
 * The processes a real-tier test starts: each logs to a file in the test's directory, and `stopAll`
 * ends them (SIGTERM, then SIGKILL after a bound). They are also killed if the test process exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Started {
  name: string;
  child: ChildProcess;
  log: string;
  /** The last lines of its log, for failure messages. */
  tail(lines?: number): string;
  exited: Promise<number | null>;
}

const everyChild = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of everyChild) child.kill("SIGKILL");
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Processes {
  private readonly started: Started[] = [];
  private readonly stopping = new WeakMap<Started, Promise<void>>();

  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Started {
    const log = join(this.logDir, `${name}.log`);
    const fd = openSync(log, "a");
    const child = spawn(command, args, { stdio: ["ignore", fd, fd], env });
    closeSync(fd);
    everyChild.add(child);
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        everyChild.delete(child);
        resolve(code);
      }),
    );
    const tail = (lines = 15): string =>
      readFileSync(log, "utf8")
        .split("\n")
        .slice(-lines - 1)
        .join("\n");
    const started = { name, child, log, tail, exited };
    this.started.push(started);
    return started;
  }

  /**
   * Stops one process: SIGTERM, and SIGKILL if it is still there after `graceMs`. A second call waits for
   * the first; a process this list never started is left alone.
   */
  stop(process: Started, graceMs = 5000): Promise<void> {
    // Off the list at once: indexOf gives -1 for one already stopped (or being stopped), and splice(-1)
    // would drop the last process started, which stopAll then never stops.
    const index = this.started.indexOf(process);
    if (index === -1) return this.stopping.get(process) ?? Promise.resolve();
    this.started.splice(index, 1);
    const stopped = this.terminate(process, graceMs);
    this.stopping.set(process, stopped);
    return stopped;
  }

  private async terminate(process: Started, graceMs: number): Promise<void> {
    if (process.child.exitCode === null && process.child.signalCode === null) {
      process.child.kill("SIGTERM");
      const done = await Promise.race([process.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        process.child.kill("SIGKILL");
        await process.exited;
      }
    }
  }

  /** Stops everything, the last started first. */
  async stopAll(): Promise<void> {
    for (const process of [...this.started].reverse()) await this.stop(process);
  }
}

/** Polls `check` every `intervalMs` until it returns a value, or fails after `timeoutMs` with `what`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await sleep(intervalMs);
  }
}
