/**
 * Upstream's quota crawler (csi/quota-crawler.sh), bounded: Kadalu's simple-quota learns each PV
 * directory's usage from the `glusterfs.quota.total-usage` xattr the provisioner writes (the directory's
 * `df` used bytes), and a brick restart or a self-heal can lose a directory's
 * `trusted.glusterfs.namespace`, which the provisioner then sets again.
 *
 * Only where a PV's files are spread over several bricks' accounting (a distributed pool) does a brick
 * need the total: a written total makes simple-quota stop adding its own writes to it at each statfs
 * (`df`), so between two sweeps a PV could take far more than its size. A pool of one brick or one
 * replica or disperse set counts every write on each brick; its PVs are not crawled (`PoolQuota`).
 *
 * Self-heal copies neither the limit nor (on a brick that already has it) the namespace xattr, and an
 * xattr written while a brick is away leaves a metadata heal behind: so while a pool's mount does not
 * reach every brick nothing is written, and once it does again every PV's namespace and limit (stat.db's
 * size) are set again, on that sweep and the next (a PV made meanwhile reaches the brick by a heal),
 * and every `limitRefreshMs` anyway.
 *
 * Upstream runs `df` and `setfattr` for every PV every five seconds, so a pool with 10k PVs crawls
 * without end. Here a sweep visits PVs at a bounded pace (`ratePerSecond`), takes the list from stat.db's
 * rows in memory (no directory walk), writes a usage only when it changed (and every
 * `refreshSweeps`-th sweep anyway, for bricks that restarted), and stops on a pool whose Gluster has no
 * simple-quota (the write is refused with ENOTSUP: Debian's and Gluster's own builds), asking again
 * every `probeMs`.
 */
import { statfs } from "node:fs/promises";
import { setAttribute } from "@napi-rs/xattr";
import { isExternal, type PoolInfo } from "../../src/core/info/codec.js";
import { groupSize } from "../../src/core/pool/types.js";
import { bricksReached, QUOTA_LIMIT, QUOTA_NAMESPACE } from "../os/xattr.js";

export const QUOTA_USAGE = "glusterfs.quota.total-usage";

export interface CrawlerOptions {
  /** PVs visited per second, at most. */
  ratePerSecond: number;
  /** Pause between two sweeps. */
  pauseMs: number;
  /** After this many sweeps every usage is written again, changed or not. */
  refreshSweeps: number;
  /** How long a pool without simple-quota is left alone before it is asked again. */
  probeMs: number;
  /** The usage xattr's name (the bench measures the same calls under a user.* name on a local filesystem). */
  usageAttribute: string;
  /** Every PV's limit is set again this often, whether a brick was away or not. */
  limitRefreshMs: number;
}

export const DEFAULT_CRAWLER: CrawlerOptions = {
  ratePerSecond: 100,
  pauseMs: 5000,
  refreshSweeps: 12,
  probeMs: 10 * 60_000,
  usageAttribute: QUOTA_USAGE,
  limitRefreshMs: 10 * 60_000,
};

/** What the crawler knows of a Kadalu pool's bricks (none of it for a local directory or an External pool). */
export interface PoolQuota {
  /** Whether a PV's files are spread over several distribute groups (each brick sees only its part). */
  distributed: boolean;
  /** Each PV directory and its size in bytes (stat.db's rows). */
  limits: () => Iterable<[string, number]>;
  /** How many of the pool's bricks its mount does not reach now; undefined when the mount cannot tell. */
  bricksAway: () => Promise<number | undefined>;
}

export interface SweepResult {
  visited: number;
  written: number;
  namespacesSet: number;
  /** No simple-quota there: the pool refused the usage xattr as unsupported, or a PV's df shows more than its size. */
  unsupported: boolean;
  /** PVs whose namespace and limit were set again. */
  limitsSet: number;
  /** Bricks the mount did not reach (nothing was written then). */
  bricksAway: number;
}

/** A Kadalu pool's bricks as the crawler needs them: undefined for an External pool or one without bricks (a local directory). */
export function poolQuota(info: PoolInfo, root: string, limits: () => Iterable<[string, number]>): PoolQuota | undefined {
  if (isExternal(info) || info.bricks.length === 0) return undefined;
  const bricks = info.bricks.length;
  return {
    distributed: bricks > groupSize(info.type, info.disperse),
    limits,
    bricksAway: async () => {
      const reached = await bricksReached(root);
      return reached === undefined ? undefined : Math.max(0, bricks - reached);
    },
  };
}

/** The binding reports errno in its message: "Operation not supported (os error 95)". */
const errnoOf = (error: unknown): number => Number(/\(os error (\d+)\)/.exec(String((error as Error).message))?.[1] ?? -1);
const ENOTSUP = 95;
const ENOENT = 2;
const ENOTDIR = 20;
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** The `df` used bytes of the filesystem a directory is on (a namespace directory's own usage under simple-quota). */
async function usedBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return (fs.blocks - fs.bfree) * fs.bsize;
}

export class QuotaCrawler {
  private readonly written = new Map<string, number>();
  private sweeps = 0;
  private readonly stopping = new AbortController();
  private running?: Promise<void>;
  /** Sweeps left that set every limit again (a brick came back). */
  private limitSweeps = 0;
  private limitsSetAt = performance.now();
  private away = 0;
  private unsupportedWhy?: string;

  /** `directories`: the pool's PV directories now (absolute paths); `quota`: the pool's bricks, when it has any. */
  constructor(
    private readonly pool: string,
    private readonly directories: () => string[],
    private readonly log: (message: string) => void,
    private readonly options: CrawlerOptions = DEFAULT_CRAWLER,
    private readonly quota?: PoolQuota,
  ) {}

  /** One pass over the PVs at the bounded pace; stops early when the pool has no simple-quota. */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { visited: 0, written: 0, namespacesSet: 0, unsupported: false, limitsSet: 0, bricksAway: 0 };
    if (this.quota) {
      if (!(await this.bricksAnswer(result))) return result;
      if (this.limitSweeps > 0 || performance.now() - this.limitsSetAt >= this.options.limitRefreshMs) await this.setLimits(result, this.quota);
      if (!this.quota.distributed) return this.checkEnforced(result, this.quota);
    }
    return this.writeUsage(result);
  }

  /**
   * Where no usage is written, whether the bricks enforce limits at all, asked without side effects:
   * simple-quota makes a PV's df total its limit (plus a block); a Gluster without it shows the brick's.
   */
  private async checkEnforced(result: SweepResult, quota: PoolQuota): Promise<SweepResult> {
    for (const [dir, size] of quota.limits()) {
      let total: number;
      try {
        const fs = await statfs(dir);
        total = fs.blocks * fs.bsize;
        if (total <= size + 2 * fs.bsize) return result;
      } catch {
        continue; // a block PV's name, or deleted meanwhile
      }
      result.unsupported = true;
      this.unsupportedWhy = `df in ${dir} shows ${total} bytes, not its size ${size}`;
      return result;
    }
    return result;
  }

  /** Whether every brick answers; notes a brick away and, once all answer again, asks for the limits to be set again. */
  private async bricksAnswer(result: SweepResult): Promise<boolean> {
    const away = (await this.quota!.bricksAway()) ?? 0;
    if (away > 0 && this.away === 0) this.log(`pool ${this.pool}: ${away} brick(s) not reached; no quota xattr is written until every brick answers`);
    if (away === 0 && this.away > 0) {
      this.log(`pool ${this.pool}: every brick answers again; setting every PV's quota limit again`);
      this.limitSweeps = 2;
    }
    this.away = away;
    result.bricksAway = away;
    return away === 0;
  }

  /** Every PV's namespace and limit, at the crawler's pace; a PV without a directory (block, deleted) is skipped. */
  private async setLimits(result: SweepResult, quota: PoolQuota): Promise<void> {
    this.limitSweeps = Math.max(0, this.limitSweeps - 1);
    this.limitsSetAt = performance.now();
    const started = performance.now();
    let failed: string | undefined;
    for (const [dir, size] of quota.limits()) {
      if (this.stopping.signal.aborted) return;
      const due = (result.limitsSet * 1000) / this.options.ratePerSecond - (performance.now() - started);
      if (due > 1) await sleep(due, this.stopping.signal);
      try {
        // In this order: simple-quota refuses a limit on a directory that is not (yet) a namespace.
        await setAttribute(dir, QUOTA_NAMESPACE, "true");
        await setAttribute(dir, QUOTA_LIMIT, String(size));
        result.limitsSet += 1;
      } catch (error) {
        if (errnoOf(error) !== ENOENT && errnoOf(error) !== ENOTDIR) failed ??= `${dir}: ${(error as Error).message.split("\n")[0]}`;
      }
    }
    if (failed) this.log(`pool ${this.pool}: quota limits not all set again (${failed})`);
  }

  /** Each PV's df used bytes as simple-quota's total usage; stops early when the pool has no simple-quota. */
  private async writeUsage(result: SweepResult): Promise<SweepResult> {
    const refresh = this.sweeps % this.options.refreshSweeps === 0;
    this.sweeps += 1;
    const started = performance.now();
    const seen = new Set<string>();
    for (const dir of this.directories()) {
      if (this.stopping.signal.aborted) break;
      // The pace: the i-th PV is not visited before i / rate seconds into the sweep.
      const due = (result.visited * 1000) / this.options.ratePerSecond - (performance.now() - started);
      if (due > 1) await sleep(due, this.stopping.signal);
      result.visited += 1;
      let used: number;
      try {
        used = await usedBytes(dir);
      } catch {
        continue; // deleted meanwhile, or a block PV's name: nothing to account
      }
      seen.add(dir);
      if (!refresh && this.written.get(dir) === used) continue;
      try {
        await setAttribute(dir, this.options.usageAttribute, String(used));
        this.written.set(dir, used);
        result.written += 1;
      } catch (error) {
        if (errnoOf(error) === ENOTSUP) {
          result.unsupported = true;
          this.unsupportedWhy = undefined;
          break;
        }
        if (errnoOf(error) === ENOENT) continue;
        // Upstream's fix: the namespace went missing (a brick restart, a self-heal); set it again.
        await setAttribute(dir, QUOTA_NAMESPACE, "true").then(
          () => (result.namespacesSet += 1),
          (again: Error) => this.log(`pool ${this.pool}: quota namespace not set on ${dir}: ${again.message.split("\n")[0]}`),
        );
      }
    }
    if (!result.unsupported) for (const dir of this.written.keys()) if (!seen.has(dir)) this.written.delete(dir);
    return result;
  }

  /** Sweeps until stopped: a pause after each sweep, a long one while the pool has no simple-quota. */
  start(): this {
    this.running ??= (async () => {
      let told = false;
      while (!this.stopping.signal.aborted) {
        const result = await this.sweep().catch((error: Error) => {
          this.log(`pool ${this.pool}: quota crawl failed: ${error.message}`);
          return undefined;
        });
        if (result?.unsupported && !told) {
          const why = this.unsupportedWhy ?? `${this.options.usageAttribute} is not supported`;
          this.log(
            `pool ${this.pool}: its Gluster has no simple-quota (${why}); PV sizes are not enforced, asked again every ${Math.round(this.options.probeMs / 60_000)} min`,
          );
          told = true;
        }
        if (result?.namespacesSet) this.log(`pool ${this.pool}: quota namespace set again on ${result.namespacesSet} PV(s)`);
        await sleep(result?.unsupported ? this.options.probeMs : this.options.pauseMs, this.stopping.signal);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}
