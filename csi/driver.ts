/**
 * The driver state shared by the three services: configuration, pools from the mounted `kadalu-info`
 * files, one PoolStore per mounted pool, and locks (one per pool for accounting, one per volume name for
 * idempotency).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeInfo, INFO_SUFFIX, isExternal, poolOfKey, type PoolInfo } from "../src/core/info/codec.js";
import { resolveSinglePvPerPool } from "../src/core/pool/types.js";
import { grpcError, Status } from "./grpc-error.js";
import type { Mounter } from "./mounter.js";
import { PoolStore } from "./pool-store.js";

export interface DriverConfig {
  name: string;
  version: string;
  nodeId: string;
  role: "provisioner" | "nodeplugin";
  /** Where the `kadalu-info` ConfigMap is mounted (`<pool>.info` files). */
  infoDir: string;
  /** The kubelet's directory: the only place (its pods/) a volume is published to. */
  kubeletDir: string;
  /** Pools known without an info file (`--pool-dir` on a laptop): used when no `<pool>.info` names them. */
  localPools?: PoolInfo[];
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

export type UsageListener = (pool: string, usage: { capacityBytes: number; provisionedBytes: number; pvCount: number }) => void;

export class Driver {
  readonly poolLocks = new KeyedLock();
  readonly volumeLocks = new KeyedLock();
  private readonly stores = new Map<string, PoolStore>();
  private readonly mounting = new Map<string, Promise<PoolStore>>();
  private infoCache?: { stamp: string; pools: PoolInfo[] };

  constructor(
    readonly config: DriverConfig,
    readonly mounter: Mounter,
    readonly log: (message: string) => void,
    private readonly onUsage: UsageListener = () => undefined,
  ) {}

  /** Pool information is readable: the Probe's readiness. */
  ready(): boolean {
    return existsSync(this.config.infoDir) || (this.config.localPools ?? []).length > 0;
  }

  pools(): PoolInfo[] {
    const fromFiles = existsSync(this.config.infoDir) ? this.infoFiles() : [];
    const local = (this.config.localPools ?? []).filter((pool) => !fromFiles.some((known) => known.volname === pool.volname));
    return [...fromFiles, ...local].sort((a, b) => a.volname.localeCompare(b.volname));
  }

  /** The `<pool>.info` files, decoded again only when a file's name or modification time changed. */
  private infoFiles(): PoolInfo[] {
    const files = readdirSync(this.config.infoDir).filter((file) => file.endsWith(INFO_SUFFIX));
    const stamp = files.map((file) => `${file}@${statSync(join(this.config.infoDir, file)).mtimeMs}`).join("|");
    if (this.infoCache?.stamp !== stamp) this.infoCache = { stamp, pools: this.decodeInfoFiles(files) };
    return this.infoCache.pools;
  }

  private decodeInfoFiles(files: string[]): PoolInfo[] {
    return files
      .flatMap((file) => {
        const pool = poolOfKey(file)!;
        const decoded = decodeInfo(pool, readFileSync(join(this.config.infoDir, file), "utf8"));
        if (!decoded.info) this.log(`ignoring ${file}: ${decoded.problems.map((p) => `${p.key} ${p.message}`).join("; ")}`);
        return decoded.info ? [decoded.info] : [];
      });
  }

  pool(name: string): PoolInfo | undefined {
    return this.pools().find((pool) => pool.volname === name);
  }

  /** Pools a StorageClass's parameters select (spec §3.3 filters). */
  candidates(parameters: Record<string, string>): PoolInfo[] {
    const type = parameters.hostvol_type ?? parameters.storage_type;
    return this.pools().filter((pool) => {
      if (parameters.storage_name && pool.volname !== parameters.storage_name) return false;
      if (type && pool.type !== type) return false;
      if (parameters.node_affinity && (pool.type !== "Replica1" || isExternal(pool) || pool.bricks[0]?.kube_hostname !== parameters.node_affinity)) return false;
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

  private async openStore(info: PoolInfo): Promise<PoolStore> {
    const existing = this.stores.get(info.volname);
    if (existing && this.mounter.alive(existing.root)) return existing;
    if (existing) {
      // Its mount died under it: drop the cached state (the open stat.db) and mount again.
      this.log(`pool ${info.volname}: the mount at ${existing.root} stopped answering; mounting it again`);
      existing.close();
      this.stores.delete(info.volname);
    }
    let root: string;
    try {
      root = await this.mounter.mountPool(info);
    } catch (error) {
      throw grpcError(Status.UNAVAILABLE, `cannot mount pool ${info.volname}: ${(error as Error).message}`);
    }
    const store = new PoolStore(info.volname, root, this.log);
    if (this.config.role === "provisioner") this.repairOnce(store);
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
  }

  private readonly repaired = new Set<string>();

  /** The provisioner checks each pool's records once per process: no orphan from a crash survives a restart. */
  private repairOnce(store: PoolStore): void {
    if (this.repaired.has(store.pool)) return;
    this.repaired.add(store.pool);
    try {
      const { rowsAdded, rowsDropped } = store.repair();
      if (rowsAdded.length) this.log(`pool ${store.pool}: stat.db rows added for ${rowsAdded.length} PV(s) left without one: ${rowsAdded.slice(0, 10).join(", ")}`);
      if (rowsDropped.length) this.log(`pool ${store.pool}: stat.db rows dropped for ${rowsDropped.length} PV(s) that no longer exist: ${rowsDropped.slice(0, 10).join(", ")}`);
    } catch (error) {
      this.log(`pool ${store.pool}: records not checked: ${(error as Error).message}`);
    }
  }

  reportUsage(store: PoolStore): void {
    try {
      this.onUsage(store.pool, store.usage());
    } catch (error) {
      this.log(`usage of ${store.pool} not reported: ${(error as Error).message}`);
    }
  }

  close(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
  }
}
