/**
 * A work queue keyed by pool: events for a key coalesce while it waits; a key is never processed twice
 * at once; failures come back with a growing delay, successes reset it.
 */
export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private idleResolvers: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly options: {
      concurrency: number;
      baseDelayMs: number;
      maxDelayMs: number;
      onError: (key: string, error: unknown) => void;
      /** After each run of `work`: how long it took and whether it failed (metrics). */
      onDone?: (key: string, seconds: number, failed: boolean) => void;
    },
  ) {}

  /** Keys waiting to run (not those running now). */
  depth(): number {
    return this.waiting.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.waiting.add(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, delayMs);
    this.timers.add(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  /** Resolves once nothing is waiting or running (tests and shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.concurrency) {
      const key = [...this.waiting].find((candidate) => !this.running.has(candidate));
      if (!key) break;
      this.waiting.delete(key);
      this.running.add(key);
      this.active += 1;
      void this.process(key);
    }
    if (this.active === 0 && this.waiting.size === 0) {
      for (const resolve of this.idleResolvers.splice(0)) resolve();
    }
  }

  private async process(key: string): Promise<void> {
    const started = performance.now();
    try {
      await this.work(key);
      this.attempts.delete(key);
      this.options.onDone?.(key, (performance.now() - started) / 1000, false);
    } catch (error) {
      this.options.onDone?.(key, (performance.now() - started) / 1000, true);
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.options.onError(key, error);
      // Jitter (half to all of the growing delay): pools that failed together do not retry together.
      const ceiling = Math.min(this.options.baseDelayMs * 2 ** (attempt - 1), this.options.maxDelayMs);
      this.addAfter(key, Math.round(ceiling / 2 + Math.random() * (ceiling / 2)));
    } finally {
      this.running.delete(key);
      this.active -= 1;
      if (this.dirty.delete(key)) this.waiting.add(key);
      this.pump();
    }
  }
}
