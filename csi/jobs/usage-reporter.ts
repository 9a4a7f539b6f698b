/**
 * After creates, deletes and expansions, the provisioner writes the pool's usage into its KadaluStorage
 * `status.usage`, so `kubectl get kds` shows it without any exec. Rate-limited per pool and best-effort:
 * a failure is logged, never returned to the CSI caller.
 */
import { poolPath, poolsPath } from "../../src/core/kube-vocabulary.js";
import { formatBytes } from "../../src/core/units.js";
import type { Kube } from "../../src/kube/client.js";

export interface Usage {
  capacityBytes: number;
  provisionedBytes: number;
  pvCount: number;
}

const REWRITE_MS = 60_000;
const usageKey = (usage: Usage, volumeId = ""): string => `${volumeId}/${usage.capacityBytes}/${usage.provisionedBytes}/${usage.pvCount}`;

export class UsageReporter {
  private readonly pending = new Map<string, Usage>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly written = new Map<string, { key: string; volumeId?: string; at: number }>();
  private readonly volumeIds = new Map<string, string>();

  constructor(
    private readonly kube: Kube,
    private readonly log: (message: string) => void,
    private readonly delayMs = 1000,
  ) {}

  /**
   * `volumeId`, when known, tells a pool added again under the same name from the one before: its new
   * object has no usage yet, so the same numbers are written at once.
   */
  report(pool: string, usage: Usage, volumeId?: string): void {
    // The provisioner repeats itself every few seconds: an unchanged usage is written again only now and then.
    const last = this.written.get(pool);
    const key = usageKey(usage, volumeId ?? last?.volumeId);
    if (!this.timers.has(pool) && last && last.key === key && Date.now() - last.at < REWRITE_MS) return;
    if (volumeId !== undefined) this.volumeIds.set(pool, volumeId);
    this.pending.set(pool, usage);
    if (this.timers.has(pool)) return;
    this.timers.set(
      pool,
      setTimeout(() => {
        this.timers.delete(pool);
        const latest = this.pending.get(pool)!;
        this.pending.delete(pool);
        const write = this.write(pool, latest).finally(() => this.inFlight.delete(write));
        this.inFlight.add(write);
      }, this.delayMs),
    );
  }

  /** Writes whatever is waiting now (shutdown and tests). */
  async flush(): Promise<void> {
    for (const [pool, timer] of this.timers) {
      clearTimeout(timer);
      this.timers.delete(pool);
      const usage = this.pending.get(pool);
      this.pending.delete(pool);
      if (usage) this.inFlight.add(this.write(pool, usage));
    }
    await Promise.all(this.inFlight);
  }

  private async write(pool: string, usage: Usage): Promise<void> {
    try {
      const list = await this.kube.getPath<{ items: { metadata: { namespace: string } }[] }>(poolsPath(), { fieldSelector: `metadata.name=${pool}` });
      for (const item of list?.items ?? []) {
        await this.kube.mergePatch(
          poolPath({ metadata: { ...item.metadata, name: pool } }, "status"),
          {
            status: {
              usage: {
                ...usage,
                capacity: formatBytes(usage.capacityBytes),
                provisioned: formatBytes(usage.provisionedBytes),
                updatedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
              },
            },
          },
          `cannot record the usage of pool ${pool}`,
        );
      }
      const volumeId = this.volumeIds.get(pool);
      if (list?.items.length) this.written.set(pool, { key: usageKey(usage, volumeId), volumeId, at: Date.now() });
    } catch (error) {
      this.log(`usage of pool ${pool} not recorded: ${(error as Error).message}`);
    }
  }
}
