/**
 * The driver state shared by the three services: configuration, pools from the mounted `kadalu-info`
 * files, one PoolStore per mounted pool, and one lock per volume name (idempotency: calls for one name run
 * one at a time; different names run side by side, their accounting kept exact by each pool's Ledger).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeInfo, INFO_SUFFIX, isExternal, poolOfKey, type PoolInfo } from "../src/core/info/codec.js";
import { resolveSinglePvPerPool } from "../src/core/pool/types.js";
import { grpcError, Status } from "./rpc/grpc-error.js";
import type { Mounter } from "./os/mounter.js";
import { PoolStore } from "./store/pool-store.js";
import type { VolumeStore } from "./store/volume-store.js";
import { poolQuota, QuotaCrawler, type CrawlerOptions } from "./jobs/quota-crawler.js";
import type { GlusterQuotaOverSsh } from "./os/external-quota.js";
import { byCodePoint } from "../src/core/naming.js";
import { CopyMeter } from "./store/copy-meter.js";
import { poolBricks, VolfileReloader, type ReloadOptions } from "./jobs/volfile-reload.js";

export interface DriverConfig {
  name: string;
  version: string;
  nodeId: string;
  role: "provisioner" | "nodeplugin";
  /** Where the `kadalu-info` ConfigMap is mounted (`<pool>.info` files). */
  infoDir: string;
  /** The kubelet's directory: the only place (its pods/) a volume is published to. */
  kubeletDir: string;
  /** How long a pool's stat.db lock is kept after its last write (see Ledger). */
  statDbHoldMs?: number;
  /** Pools known without an info file (`--pool-dir` on a laptop): used when no `<pool>.info` names them. */
  localPools?: PoolInfo[];
  /** The provisioner's quota crawler over each mounted pool (absent: none runs). */
  quotaCrawler?: CrawlerOptions;
  /** Mounted clients told to fetch a grown pool's volfile (absent: none are; directories are not Gluster mounts). */
  volfileReload?: ReloadOptions;
}

/** Serialises async work per key. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const ALIVE_CHECK_MS = 1000;

/** `volumeId`: which incarnation of the pool (a pool removed and added again under its name has a new one). */
export type UsageListener = (pool: string, usage: { capacityBytes: number; provisionedBytes: number; pvCount: number }, volumeId?: string) => void;

/** One gRPC service's handlers by method name, as csi/server.ts registers them (requests are the proto's plain objects). */
export type ServiceHandlers = Record<string, (request: any) => Promise<unknown>>;

export class Driver {
  readonly volumeLocks = new KeyedLock();
  /** What snapshots and clones copied (the metrics read it). */
  readonly copies = new CopyMeter();
  /** Quotas of External pools' PVs over SSH (upstream's optional glusterquota-ssh-secret). */
  externalQuota?: GlusterQuotaOverSsh;
  private readonly stores = new Map<string, PoolStore>();
  private readonly crawlers = new Map<PoolStore, QuotaCrawler>();
  /** Per mounted store, the bricks its client was last brought to, and the reloader doing it. */
  private readonly reloads = new Map<PoolStore, { bricks: string; reloader: VolfileReloader; done: Promise<unknown> }>();
  private readonly mounting = new Map<string, Promise<PoolStore>>();
  private infoCache?: { stamp: string; pools: PoolInfo[] };
  private refreshing?: Promise<void>;
  /** kadalu-info's data read through the API (the provisioner in a cluster); undefined when it does not exist. */
  infoSource?: () => Promise<Record<string, string> | undefined>;

  constructor(
    readonly config: DriverConfig,
    readonly mounter: Mounter,
    readonly log: (message: string) => void,
    private readonly onUsage: UsageListener = () => undefined,
  ) {}

  /** The pools mounted now (metrics). */
  mounted(): PoolStore[] {
    return [...this.stores.values()];
  }

  /** Pool information is readable: the Probe's readiness. */
  ready(): boolean {
    return existsSync(this.config.infoDir) || (this.config.localPools ?? []).length > 0;
  }

  pools(): PoolInfo[] {
    const fromFiles = this.infoFiles();
    const local = (this.config.localPools ?? []).filter((pool) => !fromFiles.some((known) => known.volname === pool.volname));
    return [...fromFiles, ...local].sort((a, b) => byCodePoint(a.volname, b.volname));
  }

  /** The mounted `<pool>.info` files' names and modification times: what tells a change of the volume. */
  private infoStamp(): { files: string[]; stamp: string } {
    if (!existsSync(this.config.infoDir)) return { files: [], stamp: "" };
    const files = readdirSync(this.config.infoDir).filter((file) => file.endsWith(INFO_SUFFIX));
    return { files, stamp: files.map((file) => `${file}@${statSync(join(this.config.infoDir, file)).mtimeMs}`).join("|") };
  }

  /** The `<pool>.info` files, decoded again only when a file's name or modification time changed. */
  private infoFiles(): PoolInfo[] {
    const { files, stamp } = this.infoStamp();
    if (this.infoCache?.stamp !== stamp)
      this.infoCache = { stamp, pools: this.decodeInfo(files.map((file) => [file, readFileSync(join(this.config.infoDir, file), "utf8")])) };
    return this.infoCache.pools;
  }

  private decodeInfo(entries: [string, string][]): PoolInfo[] {
    return entries
      .filter(([key]) => key.endsWith(INFO_SUFFIX))
      .flatMap(([key, text]) => {
        const decoded = decodeInfo(poolOfKey(key)!, text);
        if (!decoded.info) this.log(`ignoring ${key}: ${decoded.problems.map((p) => `${p.key} ${p.message}`).join("; ")}`);
        return decoded.info ? [decoded.info] : [];
      });
  }

  /**
   * kadalu-info as the API has it, for a pool the mounted files do not name yet: the kubelet refreshes a
   * ConfigMap volume only every sync period plus its cache's TTL (a minute or two), so a PVC made right
   * after `storage-add --wait` would wait that long. What is read stands until the mounted files change.
   * Concurrent misses share one read; without `infoSource` (a laptop, the sandbox) nothing happens.
   */
  async refreshPools(): Promise<void> {
    if (!this.infoSource) return;
    this.refreshing ??= (async () => {
      try {
        const { stamp } = this.infoStamp();
        const data = await this.infoSource!();
        if (data) this.infoCache = { stamp, pools: this.decodeInfo(Object.entries(data)) };
      } catch (error) {
        this.log(`kadalu-info not read through the API: ${(error as Error).message}`);
      } finally {
        this.refreshing = undefined;
      }
    })();
    await this.refreshing;
  }

  pool(name: string): PoolInfo | undefined {
    return this.pools().find((pool) => pool.volname === name);
  }

  /** Pools a StorageClass's parameters select, by upstream's filters: storage_name, node_affinity, storage_type or hostvol_type. */
  candidates(parameters: Record<string, string>): PoolInfo[] {
    const type = parameters.hostvol_type ?? parameters.storage_type;
    return this.pools().filter((pool) => {
      if (parameters.storage_name && pool.volname !== parameters.storage_name) return false;
      if (type && pool.type !== type) return false;
      if (parameters.node_affinity && (pool.type !== "Replica1" || isExternal(pool) || pool.bricks[0]?.kube_hostname !== parameters.node_affinity))
        return false;
      if (type === "External" && isExternal(pool)) {
        if (parameters.gluster_volname && pool.gluster_volname !== parameters.gluster_volname) return false;
        if (parameters.gluster_hosts && pool.gluster_hosts !== parameters.gluster_hosts) return false;
        // Upstream matches External pools on single_pv_per_pool too; native pools take it from the StorageClass.
        if (parameters.single_pv_per_pool !== undefined && resolveSinglePvPerPool(parameters) !== pool.single_pv_per_pool) return false;
      }
      return true;
    });
  }

  /** The store of a pool, mounting it first; concurrent callers share one mount attempt. */
  async store(info: PoolInfo): Promise<PoolStore> {
    const pending = this.mounting.get(info.volname);
    if (pending) return pending;
    const attempt = this.openStore(info).finally(() => this.mounting.delete(info.volname));
    this.mounting.set(info.volname, attempt);
    return attempt;
  }

  private readonly aliveAt = new Map<PoolStore, number>();

  /**
   * Runs an idempotent call; if a mount turns out dead under it (ENOTCONN: its FUSE client died within
   * the second the alive check is trusted), the verdicts are dropped and the call runs once more, on
   * remounted pools.
   */
  async remountingOnce<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOTCONN") throw error;
      this.log(`a pool mount stopped answering (${(error as Error).message}); checking the mounts and trying again`);
      this.aliveAt.clear();
      return work();
    }
  }

  /**
   * Whether a store's mount still answers, asked at most once a second: the check is a statfs, a round
   * trip to every brick, and a call in the second after a mount died fails and is retried by the CO.
   */
  private stillAlive(store: PoolStore): boolean {
    const now = Date.now();
    if (now - (this.aliveAt.get(store) ?? 0) < ALIVE_CHECK_MS) return true;
    const alive = this.mounter.alive(store.root);
    if (alive) this.aliveAt.set(store, now);
    else this.aliveAt.delete(store);
    return alive;
  }

  private async openStore(info: PoolInfo): Promise<PoolStore> {
    const existing = this.stores.get(info.volname);
    if (existing && this.stillAlive(existing)) return existing;
    if (existing) {
      // Its mount died under it: drop the cached state (the open stat.db) and mount again.
      this.log(`pool ${info.volname}: the mount at ${existing.root} stopped answering; mounting it again`);
      void this.closeStore(existing);
      this.stores.delete(info.volname);
      // A brick host that lost power may have lost what its page cache held: check the records again.
      this.repaired.delete(info.volname);
    }
    let root: string;
    try {
      root = await this.mounter.mountPool(info);
    } catch (error) {
      throw grpcError(Status.UNAVAILABLE, `cannot mount pool ${info.volname}: ${(error as Error).message}`);
    }
    const store = new PoolStore(info.volname, root, this.log, this.config.statDbHoldMs);
    try {
      await store.open();
    } catch (error) {
      await store.close();
      throw grpcError(Status.UNAVAILABLE, `cannot open stat.db of pool ${info.volname}: ${(error as Error).message}`);
    }
    if (this.config.role === "provisioner") {
      await this.repairOnce(store);
      store.prepareHashDirs().catch((error) => this.log(`pool ${info.volname}: hash directories not prepared: ${(error as Error).message}`));
      if (this.config.quotaCrawler)
        this.crawlers.set(
          store,
          new QuotaCrawler(
            info.volname,
            () => store.pvDirectories(),
            this.log,
            this.config.quotaCrawler,
            poolQuota(info, store.root, () => store.pvLimits()),
          ).start(),
        );
    }
    this.stores.set(info.volname, store);
    return store;
  }

  /**
   * The provisioner mounts every multi-PV pool up front, as upstream does: storage-list, remove-archived-pv
   * and healinfo exec into it and read /mnt/<pool> before any CSI call has mounted it. Pools that cannot
   * be mounted yet are logged and tried again by the next call.
   */
  async mountAll(): Promise<void> {
    for (const pool of this.pools().filter((p) => !p.single_pv_per_pool)) {
      try {
        await this.store(pool);
      } catch (error) {
        this.log(`pool ${pool.volname} not mounted yet: ${(error as Error).message}`);
      }
    }
    if (this.config.role === "provisioner") {
      const configured = new Map(this.pools().map((pool) => [pool.volname, pool.volume_id]));
      for (const store of this.stores.values()) if (configured.has(store.pool)) await this.refreshUsage(store, configured.get(store.pool));
      if (this.ready()) await this.releaseRemoved(new Set(configured.keys()));
    }
  }

  /** A pool gone from kadalu-info (removed) is unmounted: its FUSE client would otherwise run until the pod restarts. */
  private async releaseRemoved(configured: Set<string>): Promise<void> {
    for (const [name, store] of [...this.stores]) {
      if (configured.has(name)) continue;
      this.stores.delete(name);
      this.repaired.delete(name);
      await this.closeStore(store);
      try {
        await this.mounter.unbind(store.root);
        this.log(`pool ${name} is no longer configured: unmounted ${store.root}`);
      } catch (error) {
        this.log(`pool ${name} is no longer configured, but ${store.root} was not unmounted: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Each pass, the provisioner's word on every pool it has mounted: the status's usage appears only once
   * the mount and stat.db answer (what `storage-add --wait` waits for), and catches up with rows others
   * wrote (`remove-archived-pv` runs its own process), so every reader sees one number within a pass.
   */
  private async refreshUsage(store: PoolStore, volumeId: string | undefined): Promise<void> {
    try {
      await store.measure();
      this.onUsage(store.pool, store.usage(), volumeId);
    } catch (error) {
      this.log(`usage of ${store.pool} not measured: ${(error as Error).message}`);
    }
  }

  private readonly repaired = new Set<string>();

  /** The provisioner checks each pool's records once per mount: no orphan from a crash survives a restart or a remount. */
  private async repairOnce(store: PoolStore): Promise<void> {
    if (this.repaired.has(store.pool)) return;
    this.repaired.add(store.pool);
    try {
      const { rowsAdded, rowsDropped, metadataRemoved, metadataRewritten } = await store.repair();
      if (metadataRemoved.length)
        this.log(`pool ${store.pool}: torn metadata of ${metadataRemoved.length} unfinished create(s) removed: ${metadataRemoved.slice(0, 10).join(", ")}`);
      if (metadataRewritten.length)
        this.log(
          `pool ${store.pool}: torn metadata of ${metadataRewritten.length} PV(s) written again from stat.db: ${metadataRewritten.slice(0, 10).join(", ")}`,
        );
      if (rowsAdded.length)
        this.log(`pool ${store.pool}: stat.db rows added for ${rowsAdded.length} PV(s) left without one: ${rowsAdded.slice(0, 10).join(", ")}`);
      if (rowsDropped.length)
        this.log(`pool ${store.pool}: stat.db rows dropped for ${rowsDropped.length} PV(s) that no longer exist: ${rowsDropped.slice(0, 10).join(", ")}`);
      const snapshots = await store.shelf.repair();
      if (snapshots.removed.length)
        this.log(`pool ${store.pool}: ${snapshots.removed.length} unfinished snapshot copies removed: ${snapshots.removed.slice(0, 10).join(", ")}`);
      if (snapshots.rowsAdded.length)
        this.log(
          `pool ${store.pool}: stat.db rows added for ${snapshots.rowsAdded.length} snapshot(s) left without one: ${snapshots.rowsAdded.slice(0, 10).join(", ")}`,
        );
      if (snapshots.rowsDropped.length)
        this.log(
          `pool ${store.pool}: stat.db rows dropped for ${snapshots.rowsDropped.length} snapshot(s) that no longer exist: ${snapshots.rowsDropped.slice(0, 10).join(", ")}`,
        );
    } catch (error) {
      this.log(`pool ${store.pool}: records not checked: ${(error as Error).message}`);
    }
  }

  /**
   * Brings every mounted native pool's FUSE client to the bricks kadalu-info lists now (a grown pool's new
   * groups): one reloader per change, which first checks the running graph, so a fresh mount costs one read.
   * External pools' clients are told by their glusterd.
   */
  reloadChanged(): void {
    if (!this.config.volfileReload) return;
    const pools = new Map(this.pools().map((pool) => [pool.volname, pool]));
    for (const store of this.stores.values()) {
      const info = pools.get(store.pool);
      if (!info || isExternal(info) || info.bricks.length === 0) continue;
      const bricks = poolBricks(info);
      const current = this.reloads.get(store);
      if (current?.bricks === bricks.join(",")) continue;
      current?.reloader.stop();
      const reloader = new VolfileReloader(store.pool, store.root, bricks, this.log, this.config.volfileReload);
      this.reloads.set(store, { bricks: bricks.join(","), reloader, done: reloader.run() });
    }
  }

  reportUsage(store: VolumeStore): void {
    try {
      this.onUsage(store.pool, store.usage());
    } catch (error) {
      this.log(`usage of ${store.pool} not reported: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((store) => this.closeStore(store)));
    this.externalQuota?.close();
  }

  private async closeStore(store: PoolStore): Promise<void> {
    const reload = this.reloads.get(store);
    this.reloads.delete(store);
    reload?.reloader.stop();
    await reload?.done;
    const crawler = this.crawlers.get(store);
    this.crawlers.delete(store);
    await crawler?.stop();
    await store.close();
  }
}
