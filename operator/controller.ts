/**
 * The control loop: informers on KadaluStorage (cluster-wide), brick pods, Events and PVs, a work queue keyed
 * by pool, and a level-based reconcile that reads (caches, kadalu-info, the objects `toRead` names), asks
 * the pure `plan` (operator/plan.ts) what to do, and does it: a pass with nothing to change writes nothing.
 * A change to a pool's status alone (the CSI's usage, our own writes) queues no reconcile.
 */
import { randomUUID } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { INFO_CONFIGMAP, infoDataBytes, infoKey } from "../src/core/info/codec.js";
import { storageClassName } from "../src/core/naming.js";
import { DEFAULT_GLUSTER_PORT, KADALU_FINALIZER, type KadaluStorage } from "../src/core/pool/types.js";
import type { Kube, Pod } from "../src/kube/client.js";
import { CSI_DRIVER_NAME, poolPath, poolsPath, type KubeObject } from "../src/core/kube-vocabulary.js";
import { isConflict, isNotFound } from "../src/kube/errors.js";
import { SNAPSHOT_API } from "../src/core/manifests/snapshots.js";
import type { OperatorConfig } from "./config.js";
import { forEachPage, Informer, keyOf, withoutManagedFields } from "../src/kube/informer.js";
import { tolerationsOf } from "./objects.js";
import { WorkQueue } from "./queue.js";
import type { PodEventView } from "../src/core/doctor/pod-failure.js";
import { InfoRefresh, poolOfBrickPod } from "./info-refresh.js";
import { plan, refKey, statusOnlyChange, toRead, type Observed, type Plan, type PoolEvent } from "./plan.js";

const POOLS_PATH = poolsPath();

export type Logger = (level: "info" | "error" | "debug", message: string) => void;

export class Controller {
  readonly pools: Informer<KadaluStorage>;
  readonly pods: Informer<Pod & { metadata: { name: string; namespace?: string } }>;
  /** PersistentVolumes, cluster-wide: a pool whose deletion they block is re-checked the moment one goes. */
  readonly volumes: Informer<PersistentVolume>;
  /** Events of the Kadalu namespace: a brick pod's FailedMount is only said there. */
  readonly events: Informer<PodEventView & { metadata: { name: string; namespace?: string } }>;
  /** kadalu-info alone: every reconcile reads it, and at 500 pools it is a quarter of a MiB to GET each time. */
  readonly info: Informer<InfoConfigMap>;
  readonly queue: WorkQueue;
  private resync?: NodeJS.Timeout;
  private readonly infoPath: string;
  /** Pods that mount kadalu-info are asked to refresh it when a pool's entry changes. */
  readonly infoRefresh: InfoRefresh;
  /** The newest kadalu-info seen: from the watch, or from our own write's answer (which the watch repeats later). */
  private latestInfo?: InfoConfigMap;
  /** Writes to kadalu-info, one at a time: concurrent reconciles would otherwise fail each other's preconditions. */
  private infoWrites: Promise<unknown> = Promise.resolve();
  /**
   * Our own writes to a pool, until the watch delivers them: `replaced` is the resourceVersion the write
   * replaced. A cached copy at exactly that version is stale, and the written object stands in for it.
   */
  private readonly written = new Map<string, { replaced: string | undefined; object: KadaluStorage }>();
  /** Told of every reconcile: its key (namespace/name), duration and outcome (the metrics). */
  onReconciled?: (key: string, seconds: number, failed: boolean) => void;

  constructor(
    private readonly kube: Kube,
    private readonly config: OperatorConfig,
    private readonly log: Logger,
  ) {
    this.infoPath = `/api/v1/namespaces/${config.namespace}/configmaps/${INFO_CONFIGMAP}`;
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 4,
      baseDelayMs: 250,
      maxDelayMs: 30_000,
      onError: (key, error) => log("error", `reconcile ${key}: ${(error as Error).message}`),
      onDone: (key, seconds, failed) => this.onReconciled?.(key, seconds, failed),
    });
    const informerLog = (message: string): void => log("error", message);
    const watch = { log: informerLog, watchTimeoutSeconds: config.watchTimeoutSeconds };
    this.pools = new Informer<KadaluStorage>(kube, {
      path: POOLS_PATH,
      onChange: (key, pool, previous) => {
        if (!statusOnlyChange(previous, pool)) this.queue.add(key);
      },
      transform: withoutManagedFields,
      ...watch,
    });
    this.pods = new Informer(kube, {
      path: `/api/v1/namespaces/${config.namespace}/pods`, // Upstream's brick pods carry no pool label: they are known by their name until they restart.
      labelSelector: "app.kubernetes.io/component=server",
      onChange: (_key, pod) => this.podChanged(pod),
      transform: withoutManagedFields,
      ...watch,
    });
    this.events = new Informer(kube, {
      path: `/api/v1/namespaces/${config.namespace}/events`,
      onChange: (_key, event) => event?.involvedObject?.kind === "Pod" && this.poolOfPodChanged(event.involvedObject.name),
      transform: withoutManagedFields,
      ...watch,
    });
    this.volumes = new Informer<PersistentVolume>(kube, {
      path: "/api/v1/persistentvolumes",
      onChange: () => this.deletingPoolsChanged(),
      transform: poolUse,
      ...watch,
    });
    this.infoRefresh = new InfoRefresh(
      kube,
      config.namespace,
      () => this.pods.cache.values(),
      (message) => this.log("error", message),
    );
    this.info = new Informer<InfoConfigMap>(kube, {
      path: `/api/v1/namespaces/${config.namespace}/configmaps`,
      fieldSelector: `metadata.name=${INFO_CONFIGMAP}`,
      onChange: (_key, configMap) => (this.latestInfo = configMap),
      ...watch,
    });
  }

  async start(): Promise<void> {
    await this.ensureInfoConfigMap();
    this.info.start();
    this.pods.start();
    this.volumes.start();
    // Not waited for: without its events (an install whose RBAC predates them) the operator still runs.
    this.events.start();
    this.pools.start();
    await Promise.all([this.info.hasSynced, this.pools.hasSynced, this.pods.hasSynced, this.volumes.hasSynced]);
    this.resync = setInterval(() => {
      for (const key of this.pools.cache.keys()) this.queue.add(key);
    }, this.config.resyncMs);
  }

  stop(): void {
    clearInterval(this.resync);
    this.pools.stop();
    this.info.stop();
    this.pods.stop();
    this.volumes.stop();
    this.events.stop();
    this.queue.stop();
  }

  /** A PV came or went: pools being deleted get a fresh verdict (the others do not care). */
  private deletingPoolsChanged(): void {
    for (const [key, pool] of this.pools.cache) if (pool.metadata.deletionTimestamp) this.queue.add(key);
  }

  private podChanged(pod: Pod | undefined): void {
    const pool = pod && poolOfBrickPod(pod);
    if (pool) this.poolChanged(pool);
  }

  private poolOfPodChanged(podName: string | undefined): void {
    const pool = poolOfBrickPod({ metadata: { name: podName } });
    if (pool) this.poolChanged(pool);
  }

  private poolChanged(pool: string): void {
    for (const [key, object] of this.pools.cache) if (object.metadata.name === pool) this.queue.add(key);
  }

  /** On start: kadalu-info exists, with its `uid` (an existing one is kept; a missing one is added). */
  async ensureInfoConfigMap(): Promise<void> {
    const existing = await this.kube.getPath<{ data?: Record<string, string> }>(this.infoPath);
    if (!existing) {
      const body = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: INFO_CONFIGMAP, namespace: this.config.namespace },
        data: { uid: randomUUID(), volumes: "" },
      };
      try {
        await this.kube.create(`/api/v1/namespaces/${this.config.namespace}/configmaps`, body, `cannot create configmap ${INFO_CONFIGMAP}`);
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      return;
    }
    if (!existing.data?.uid) await this.kube.mergePatch(this.infoPath, { data: { uid: randomUUID() } }, `cannot update configmap ${INFO_CONFIGMAP}`);
  }

  /** The pool as cached, or as our last write left it when the cache has not caught up yet. */
  private current(key: string): KadaluStorage | undefined {
    const cached = this.pools.cache.get(key);
    const write = this.written.get(key);
    if (cached && write && cached.metadata.resourceVersion === write.replaced) return write.object;
    this.written.delete(key);
    return cached;
  }

  private remember(before: KadaluStorage, after: KadaluStorage): KadaluStorage {
    this.written.set(keyOf(before), { replaced: before.metadata.resourceVersion, object: after });
    return after;
  }

  async reconcile(key: string): Promise<void> {
    const pool = this.current(key);
    if (!pool) return;
    if (pool.metadata.deletionTimestamp) return this.finalize(pool);
    const configMap = await this.readInfoConfigMap();
    const entry = infoKey(pool.metadata.name);
    const known = {
      pool,
      infoText: configMap?.data?.[entry],
      infoOthersBytes: infoDataBytes(configMap?.data, entry),
      freshVolumeId: randomUUID(),
      snapshotClasses: await this.servesSnapshotClasses(),
    };
    const reads = toRead(known, this.config);
    const live = new Map<string, KubeObject>();
    for (const ref of reads.objects) {
      const object = await this.kube.getObject(ref.apiVersion, ref.kind, ref.metadata.name, ref.metadata.namespace);
      if (object) live.set(refKey(ref), object);
    }
    const hosts = reads.hosts !== undefined ? await this.checkHosts(pool, reads.hosts) : undefined;
    const observed: Observed = { ...known, live, hosts, pods: [...this.pods.cache.values()], events: [...this.events.cache.values()], now: now() };
    await this.carryOut(pool, plan(observed, this.config));
  }

  /** Does what the plan says: the finalizer, kadalu-info, deletes, replaces, applies; the status last (it reports them). */
  private async carryOut(pool: KadaluStorage, steps: Plan): Promise<void> {
    let latest = pool;
    if (steps.finalizer === "add") {
      const updated = await this.kube.mergePatch<KadaluStorage>(
        poolPath(pool),
        { metadata: { finalizers: [...(pool.metadata.finalizers ?? []), KADALU_FINALIZER], resourceVersion: pool.metadata.resourceVersion } },
        `cannot add the finalizer to pool ${keyOf(pool)}`,
      );
      latest = this.remember(pool, updated);
    }
    if (steps.info !== undefined) {
      const version = await this.writeInfo(pool.metadata.name, steps.info);
      if (version && steps.info !== null) this.infoRefresh.changed(pool.metadata.name, version);
    }
    await this.change(steps);
    if (steps.nodepluginTolerations) await this.syncNodepluginTolerations();
    await this.report(latest, steps);
    if (steps.requeueAfterMs) this.queue.addAfter(keyOf(pool), steps.requeueAfterMs);
  }

  private async change(steps: Plan): Promise<void> {
    for (const ref of steps.delete) await this.kube.deleteObject(ref);
    for (const object of steps.replace) await this.kube.replace(object, (object.metadata as { resourceVersion?: string }).resourceVersion ?? "");
    for (const object of steps.apply) await this.kube.apply(object);
  }

  /**
   * Whether the cluster serves VolumeSnapshotClass, asked of discovery at each reconcile (the CRDs can come
   * and go while the operator runs; a pool gets its class at the next reconcile or resync after they come).
   */
  private async servesSnapshotClasses(): Promise<boolean> {
    const list = await this.kube.getPath<{ resources?: { kind: string }[] }>(`/apis/${SNAPSHOT_API}`);
    return Boolean(list?.resources?.some((resource) => resource.kind === "VolumeSnapshotClass"));
  }

  /** kadalu-info as last seen; read from the API only when none is known (before the watch, or deleted). */
  private async readInfoConfigMap(): Promise<InfoConfigMap | undefined> {
    this.latestInfo ??= await this.kube.getPath<InfoConfigMap>(this.infoPath);
    return this.latestInfo;
  }

  /** Sets (or with null removes) one key, after the writes queued before it: the ConfigMap's new resourceVersion, undefined when unchanged. */
  private writeInfo(pool: string, text: string | null): Promise<string | undefined> {
    const write = this.infoWrites.then(() => this.writeInfoNow(pool, text));
    this.infoWrites = write.catch(() => undefined);
    return write;
  }

  /**
   * One key, with optimistic concurrency against writers outside this process (a second operator, a
   * person): the newest copy known is the precondition, and after a conflict the ConfigMap is read again.
   */
  private async writeInfoNow(pool: string, text: string | null): Promise<string | undefined> {
    let configMap = await this.readInfoConfigMap();
    for (let attempt = 1; ; attempt += 1) {
      configMap ??= this.latestInfo = await this.kube.getPath<InfoConfigMap>(this.infoPath);
      if (!configMap) {
        await this.ensureInfoConfigMap();
        continue;
      }
      if ((configMap.data?.[infoKey(pool)] ?? null) === text) return undefined;
      try {
        this.latestInfo = await this.kube.mergePatch<InfoConfigMap>(
          this.infoPath,
          { metadata: { resourceVersion: configMap.metadata.resourceVersion }, data: { [infoKey(pool)]: text } },
          `cannot update configmap ${INFO_CONFIGMAP}`,
        );
        return this.latestInfo.metadata.resourceVersion;
      } catch (error) {
        if (!isConflict(error) || attempt >= 20) throw error;
        configMap = undefined;
      }
    }
  }

  /** The nodeplugin runs wherever a pool's pods may need it: it tolerates what every pool tolerates. */
  private async syncNodepluginTolerations(): Promise<void> {
    const wanted = new Map<string, unknown>();
    for (const pool of this.pools.cache.values()) for (const t of tolerationsOf(pool)) wanted.set(JSON.stringify(t), t);
    const path = `/apis/apps/v1/namespaces/${this.config.namespace}/daemonsets/kadalu-csi-nodeplugin`;
    const daemonSet = await this.kube.getPath<{ spec: { template: { spec: { tolerations?: unknown[] } } } }>(path);
    if (!daemonSet) return;
    const current = daemonSet.spec.template.spec.tolerations ?? [];
    const merged = [...current];
    for (const [text, toleration] of wanted) if (!current.some((t) => JSON.stringify(t) === text)) merged.push(toleration);
    if (merged.length !== current.length)
      await this.kube.mergePatch(path, { spec: { template: { spec: { tolerations: merged } } } }, "cannot update the nodeplugin's tolerations");
  }

  /** A TCP check of the Gluster hosts of an External pool: reported, never fatal. */
  private async checkHosts(pool: KadaluStorage, hosts: string): Promise<{ reachable: boolean; detail: string }> {
    const port = Number(pool.spec.details?.gluster_port ?? DEFAULT_GLUSTER_PORT);
    const results = await Promise.all(
      hosts
        .split(",")
        .filter(Boolean)
        .map(
          (host) =>
            new Promise<string | undefined>((resolve) => {
              const socket = tcpConnect({ host, port, timeout: this.config.hostCheckTimeoutMs });
              const done = (problem?: string): void => {
                socket.destroy();
                resolve(problem ? `${host}:${port} ${problem}` : undefined);
              };
              socket.once("connect", () => done());
              socket.once("timeout", () => done("timed out"));
              socket.once("error", (error: NodeJS.ErrnoException) =>
                done(error.code === "ECONNREFUSED" ? "refused the connection" : (error.code ?? error.message)),
              );
            }),
        ),
    );
    const problems = results.filter((result): result is string => Boolean(result));
    if (problems.length < results.length)
      return { reachable: true, detail: problems.length ? `reachable; but ${problems.join(", ")}` : "every Gluster host answered" };
    return { reachable: false, detail: `no Gluster host is reachable: ${problems.join(", ")}` };
  }

  /** Writes the status if it changed; returns the pool as it now is on the server (for later preconditions). */
  private async report(pool: KadaluStorage, steps: Plan): Promise<KadaluStorage> {
    if (!steps.status) return pool;
    const written = this.remember(
      pool,
      await this.kube.mergePatch<KadaluStorage>(poolPath(pool, "status"), { status: steps.status }, `cannot update the status of pool ${keyOf(pool)}`),
    );
    for (const event of steps.events) await this.emit(pool, event);
    return written;
  }

  private async emit(pool: KadaluStorage, event: PoolEvent): Promise<void> {
    const time = now();
    try {
      await this.kube.create(
        `/api/v1/namespaces/${pool.metadata.namespace}/events`,
        {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${pool.metadata.name}.`, namespace: pool.metadata.namespace },
          involvedObject: {
            apiVersion: pool.apiVersion,
            kind: pool.kind,
            name: pool.metadata.name,
            namespace: pool.metadata.namespace,
            uid: pool.metadata.uid,
          },
          reason: event.reason,
          message: event.message,
          type: event.type,
          source: { component: "kadalu-operator" },
          reportingComponent: "kadalu-operator",
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
        "cannot record an event",
      );
    } catch (error) {
      this.log("error", `event for ${keyOf(pool)}: ${(error as Error).message}`);
    }
  }

  /** PVs that use the pool (by StorageClass or the CSI hostvol attribute), from the informer's cache or a fresh list. */
  private async poolPersistentVolumes(pool: KadaluStorage, fresh: boolean): Promise<string[]> {
    let volumes: PersistentVolume[] = [];
    if (fresh) await forEachPage<PersistentVolume>(this.kube, "/api/v1/persistentvolumes", {}, (items) => volumes.push(...items.map(poolUse)));
    else volumes = [...this.volumes.cache.values()];
    return volumes
      .filter(
        (pv) =>
          pv.spec?.storageClassName === storageClassName(pool.metadata.name) ||
          (pv.spec?.csi?.driver === CSI_DRIVER_NAME && pv.spec.csi.volumeAttributes?.hostvol === pool.metadata.name),
      )
      .map((pv) => pv.metadata.name)
      .sort();
  }

  /** Deletion: blocked while PVs use the pool; then the plan's objects and info key go, then the finalizer. */
  private async finalize(pool: KadaluStorage): Promise<void> {
    if (!(pool.metadata.finalizers ?? []).includes(KADALU_FINALIZER)) return;
    // The cache decides quickly; a teardown is only started on a fresh list (a PV may be newer than the cache).
    let pvs = await this.poolPersistentVolumes(pool, false);
    if (pvs.length === 0) pvs = await this.poolPersistentVolumes(pool, true);
    const configMap = pvs.length === 0 ? await this.readInfoConfigMap() : undefined;
    const observed: Observed = {
      pool,
      infoText: configMap?.data?.[infoKey(pool.metadata.name)],
      persistentVolumes: pvs,
      pods: [],
      events: [],
      live: new Map(),
      freshVolumeId: randomUUID(),
      now: now(),
      snapshotClasses: pvs.length === 0 && (await this.servesSnapshotClasses()),
    };
    const steps = plan(observed, this.config);
    const latest = await this.report(pool, steps);
    // The PV informer re-queues the pool when one goes; this is only a safety net.
    if (steps.requeueAfterMs) this.queue.addAfter(keyOf(pool), steps.requeueAfterMs);
    if (steps.finalizer !== "remove") return;
    await this.change(steps);
    await this.writeInfo(pool.metadata.name, null);
    const finalizers = (latest.metadata.finalizers ?? []).filter((f) => f !== KADALU_FINALIZER);
    // Preconditioned on the version our status write produced: no conflict with ourselves.
    try {
      await this.kube.mergePatch(
        poolPath(pool),
        { metadata: { finalizers, resourceVersion: latest.metadata.resourceVersion } },
        `cannot remove the finalizer of pool ${keyOf(pool)}`,
      );
    } catch (error) {
      // A repeat of a teardown that already finished (its watch event had not arrived yet): nothing left to do.
      if (!isNotFound(error)) throw error;
    }
  }
}

interface PersistentVolume {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: { storageClassName?: string; csi?: { driver?: string; volumeAttributes?: Record<string, string> } };
}

/**
 * What the operator keeps of a PV: whether it uses a pool (its StorageClass, or Kadalu's driver and its
 * hostvol). The cache holds every PV of the cluster, most of them not Kadalu's.
 */
export function poolUse(pv: PersistentVolume): PersistentVolume {
  const csi = pv.spec?.csi;
  const hostvol = csi?.driver === CSI_DRIVER_NAME ? csi.volumeAttributes?.hostvol : undefined;
  return {
    metadata: { name: pv.metadata.name, resourceVersion: pv.metadata.resourceVersion },
    spec: {
      storageClassName: pv.spec?.storageClassName,
      ...(hostvol === undefined ? {} : { csi: { driver: CSI_DRIVER_NAME, volumeAttributes: { hostvol } } }),
    },
  };
}

interface InfoConfigMap {
  metadata: { name: string; namespace?: string; resourceVersion: string };
  data?: Record<string, string>;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");
