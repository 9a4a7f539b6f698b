/**
 * Keeps one process running in the foreground, as upstream's kadalulib Monitor does for glusterfsd and
 * the self-heal daemon: its output goes to our stdout line by line with its name (so `kubectl logs`
 * shows it), and when it exits it starts again after a delay that doubles up to a bound, back to the
 * first delay once a run has lasted a while.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface SupervisorOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long resets the delay. */
  healthyMs: number;
}

export const DEFAULT_BACKOFF: SupervisorOptions = { firstDelayMs: 1000, maxDelayMs: 30_000, healthyMs: 60_000 };

export class Supervised {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopping = false;
  restarts = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly log: (line: string) => void,
    private readonly options: SupervisorOptions = DEFAULT_BACKOFF,
  ) {
    this.delay = options.firstDelayMs;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const started = Date.now();
    const child = spawn(this.command, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on("line", (line) => this.log(`${this.name}: ${line}`));
    child.on("error", (error) => this.log(`${this.name}: cannot start ${this.command}: ${error.message}`));
    child.on("close", (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      if (Date.now() - started >= this.options.healthyMs) this.delay = this.options.firstDelayMs;
      this.log(`${this.name} exited (${signal ?? `code ${code}`}); starting it again in ${(this.delay / 1000).toFixed(1)} s`);
      this.timer = setTimeout(() => {
        this.restarts += 1;
        this.start();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, this.options.maxDelayMs);
    });
  }

  /** Tells the running process to re-read its volfile. */
  reload(): void {
    this.child?.kill("SIGHUP");
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await closed;
    clearTimeout(killer);
  }
}
