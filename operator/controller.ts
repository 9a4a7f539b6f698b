/**
 * The control loop: informers on KadaluStorage (cluster-wide) and brick pods, a work queue keyed by pool,
 * and a level-based reconcile that reads the world, applies only differences (a pass with nothing to
 * change writes nothing), and reports status, conditions and Events on the pool.
 */
import { foreignSpecManagers } from "../src/core/manifests/managed-fields.js";
import { randomUUID } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { decodeInfo, encodeInfo, INFO_CONFIGMAP, infoKey, isExternal, type PoolInfo } from "../src/core/info/codec.js";
import { serverStatefulSetName, storageClassName } from "../src/core/naming.js";
import { DEFAULT_GLUSTER_PORT, KADALU_FINALIZER, type KadaluStorage, type KadaluStorageStatus } from "../src/core/pool/types.js";
import type { Kube, Pod } from "../src/kube/client.js";
import { CSI_DRIVER_NAME, POOL_LABEL, poolPath, poolsPath, type KubeObject } from "../src/core/kube-vocabulary.js";
import { isConflict, isNotFound } from "../src/kube/errors.js";
import type { OperatorConfig } from "./config.js";
import { Informer, keyOf } from "../src/kube/informer.js";
import { budgetName, groupCount, toleratedPerGroup } from "./budgets.js";
import { tolerationsOf } from "./objects.js";
import { WorkQueue } from "./queue.js";
import { podFailure, type PodEventView } from "../src/core/doctor/pod-failure.js";
import { brickDirMissing, contains, deletionStatus, desiredState, sameStatus, statusFor, type Desired, type Observation, type PoolEvent } from "./reconcile.js";

const POOLS_PATH = poolsPath();

export type Logger = (level: "info" | "error" | "debug", message: string) => void;

export class Controller {
  readonly pools: Informer<KadaluStorage>;
  readonly pods: Informer<Pod & { metadata: { name: string; namespace?: string } }>;
  /** PersistentVolumes, cluster-wide: a pool whose deletion they block is re-checked the moment one goes. */
  readonly volumes: Informer<PersistentVolume>;
  /** Events of the Kadalu namespace: a brick pod's FailedMount is only said there. */
  readonly events: Informer<PodEventView & { metadata: { name: string; namespace?: string } }>;
  readonly queue: WorkQueue;
  private resync?: NodeJS.Timeout;
  private readonly infoPath: string;
  /**
   * Our own writes to a pool, until the watch delivers them: `replaced` is the resourceVersion the write
   * replaced. A cached copy at exactly that version is stale, and the written object stands in for it.
   */
  private readonly written = new Map<string, { replaced: string | undefined; object: KadaluStorage }>();
  /** Told of every reconcile: its key (namespace/name), duration and outcome (the metrics). */
  onReconciled?: (key: string, seconds: number, failed: boolean) => void;

  constructor(private readonly kube: Kube, private readonly config: OperatorConfig, private readonly log: Logger) {
    this.infoPath = `/api/v1/namespaces/${config.namespace}/configmaps/${INFO_CONFIGMAP}`;
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 4, baseDelayMs: 250, maxDelayMs: 30_000,
      onError: (key, error) => log("error", `reconcile ${key}: ${(error as Error).message}`),
      onDone: (key, seconds, failed) => this.onReconciled?.(key, seconds, failed),
    });
    const informerLog = (message: string): void => log("error", message);
    const watch = { log: informerLog, watchTimeoutSeconds: config.watchTimeoutSeconds };
    this.pools = new Informer<KadaluStorage>(kube, { path: POOLS_PATH, onChange: (key) => this.queue.add(key), ...watch });
    this.pods = new Informer(kube, {
      path: `/api/v1/namespaces/${config.namespace}/pods`, // Upstream's brick pods carry no pool label: they are known by their name until they restart.
      labelSelector: "app.kubernetes.io/component=server",
      onChange: (_key, pod) => this.podChanged(pod), ...watch,
    });
    this.events = new Informer(kube, {
      path: `/api/v1/namespaces/${config.namespace}/events`,
      onChange: (_key, event) => event?.involvedObject?.kind === "Pod" && this.poolOfPodChanged(event.involvedObject.name), ...watch,
    });
    this.volumes = new Informer<PersistentVolume>(kube, { path: "/api/v1/persistentvolumes", onChange: () => this.deletingPoolsChanged(), ...watch });
  }

  async start(): Promise<void> {
    await this.ensureInfoConfigMap();
    this.pods.start();
    this.volumes.start();
    // Not waited for: without its events (an install whose RBAC predates them) the operator still runs.
    this.events.start();
    this.pools.start();
    await Promise.all([this.pools.hasSynced, this.pods.hasSynced, this.volumes.hasSynced]);
    this.resync = setInterval(() => {
      for (const key of this.pools.cache.keys()) this.queue.add(key);
    }, this.config.resyncMs);
  }

  stop(): void {
    clearInterval(this.resync);
    this.pools.stop();
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
    const pool = pod?.metadata?.labels?.[POOL_LABEL];
    if (pool) this.poolChanged(pool);
    else this.poolOfPodChanged(pod?.metadata?.name);
  }

  private poolOfPodChanged(podName: string | undefined): void {
    const pool = /^server-(.+)-\d+-0$/.exec(podName ?? "")?.[1];
    if (pool) this.poolChanged(pool);
  }

  private poolChanged(pool: string): void {
    for (const [key, object] of this.pools.cache) if (object.metadata.name === pool) this.queue.add(key);
  }

  /** On start: kadalu-info exists, with its `uid` (an existing one is kept; a missing one is added). */
  async ensureInfoConfigMap(): Promise<void> {
    const existing = await this.kube.getPath<{ data?: Record<string, string> }>(this.infoPath);
    if (!existing) {
      const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: INFO_CONFIGMAP, namespace: this.config.namespace }, data: { uid: randomUUID(), volumes: "" } };
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
    let pool = this.current(key);
    if (!pool) return;
    if (pool.metadata.deletionTimestamp) return this.finalize(pool);
    if (!(pool.metadata.finalizers ?? []).includes(KADALU_FINALIZER)) {
      const updated = await this.kube.mergePatch<KadaluStorage>(poolPath(pool), { metadata: { finalizers: [...(pool.metadata.finalizers ?? []), KADALU_FINALIZER], resourceVersion: pool.metadata.resourceVersion } }, `cannot add the finalizer to pool ${key}`);
      pool = this.remember(pool, updated);
    }
    const configMap = await this.readInfoConfigMap();
    const previous = infoOf(configMap, pool.metadata.name);
    const desired = desiredState(pool, previous, this.config);
    let storageClass = false;
    if (desired.info) {
      await this.writeInfo(pool.metadata.name, encodeInfo(desired.info), configMap);
      for (const object of desired.objects) await this.ensure(object);
      storageClass = true;
      if (tolerationsOf(pool).length > 0) await this.syncNodepluginTolerations();
    }
    const seen = await this.observe(pool, desired, storageClass);
    await this.report(pool, statusFor(pool, desired, seen, new Date().toISOString().replace(/\.\d+Z$/, "Z")));
    if (desired.info && isExternal(desired.info)) this.queue.addAfter(key, 60_000);
  }

  private readInfoConfigMap(): Promise<InfoConfigMap | undefined> {
    return this.kube.getPath<InfoConfigMap>(this.infoPath);
  }

  /**
   * Sets (or with null removes) one key with optimistic concurrency: concurrent pools lose no key.
   * `known` is a copy already read this reconcile; the ConfigMap is read again only after a conflict.
   */
  private async writeInfo(pool: string, text: string | null, known?: InfoConfigMap): Promise<void> {
    let configMap = known;
    for (let attempt = 1; ; attempt += 1) {
      configMap ??= await this.readInfoConfigMap();
      if (!configMap) {
        await this.ensureInfoConfigMap();
        continue;
      }
      if ((configMap.data?.[infoKey(pool)] ?? null) === text) return;
      try {
        await this.kube.mergePatch(this.infoPath, { metadata: { resourceVersion: configMap.metadata.resourceVersion }, data: { [infoKey(pool)]: text } }, `cannot update configmap ${INFO_CONFIGMAP}`);
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= 20) throw error;
        configMap = undefined;
      }
    }
  }

  /**
   * Applies `object` unless the live one already holds it; StorageClass parameters are immutable: replace.
   * A brick StatefulSet another manager wrote (upstream's operator, through kubectl apply) is replaced
   * whole first: apply would keep what that manager set (its rollingUpdate beside our OnDelete is invalid).
   */
  private async ensure(object: KubeObject): Promise<void> {
    const live = await this.kube.getObject(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace);
    if (live && contains(live, object)) return;
    if (live && object.kind === "StatefulSet" && foreignSpecManagers(live).length > 0) {
      await this.kube.replace(object as KubeObject, (live.metadata as { resourceVersion?: string }).resourceVersion ?? "");
    }
    if (live && object.kind === "StorageClass" && (!contains(live.parameters, object.parameters) || live.provisioner !== object.provisioner)) {
      await this.kube.deleteObject(live);
    }
    await this.kube.apply(object as KubeObject);
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
    if (merged.length !== current.length) await this.kube.mergePatch(path, { spec: { template: { spec: { tolerations: merged } } } }, "cannot update the nodeplugin's tolerations");
  }

  private async observe(pool: KadaluStorage, desired: Desired, storageClass: boolean): Promise<Observation> {
    const info = desired.info;
    if (!info || isExternal(info)) {
      return { bricksReady: 0, bricksTotal: 0, storageClass, hosts: info && isExternal(info) ? await this.checkHosts(pool, info.gluster_hosts) : undefined };
    }
    const pods = new Map([...this.pods.cache.values()].map((pod) => [pod.metadata.name, pod]));
    const events = [...this.events.cache.values()];
    let ready = 0;
    const missingDirs: string[] = [];
    const podProblems: string[] = [];
    for (const brick of info.bricks) {
      const name = `${serverStatefulSetName(pool.metadata.name, brick.brick_index)}-0`;
      const pod = pods.get(name);
      if (pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) ready += 1;
      else if (pod) {
        const failure = podFailure(pod, events);
        if (failure?.missingPath) missingDirs.push(brickDirMissing(failure.missingPath, failure.node ?? brick.kube_hostname));
        else if (failure) podProblems.push(`${name}: ${failure.reason}: ${failure.detail}`);
      }
    }
    return { bricksReady: ready, bricksTotal: info.bricks.length, storageClass, ...(missingDirs.length ? { missingDirs } : {}), ...(podProblems.length ? { podProblems } : {}) };
  }

  /** A TCP check of the Gluster hosts of an External pool: reported, never fatal. */
  private async checkHosts(pool: KadaluStorage, hosts: string): Promise<{ reachable: boolean; detail: string }> {
    const port = Number(pool.spec.details?.gluster_port ?? DEFAULT_GLUSTER_PORT);
    const results = await Promise.all(hosts.split(",").filter(Boolean).map((host) =>
      new Promise<string | undefined>((resolve) => {
        const socket = tcpConnect({ host, port, timeout: this.config.hostCheckTimeoutMs });
        const done = (problem?: string): void => {
          socket.destroy();
          resolve(problem ? `${host}:${port} ${problem}` : undefined);
        };
        socket.once("connect", () => done());
        socket.once("timeout", () => done("timed out"));
        socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED" ? "refused the connection" : error.code ?? error.message));
      })));
    const problems = results.filter((result): result is string => Boolean(result));
    if (problems.length < results.length) return { reachable: true, detail: problems.length ? `reachable; but ${problems.join(", ")}` : "every Gluster host answered" };
    return { reachable: false, detail: `no Gluster host is reachable: ${problems.join(", ")}` };
  }

  /** Writes the status if it changed; returns the pool as it now is on the server (for later preconditions). */
  private async report(pool: KadaluStorage, status: KadaluStorageStatus): Promise<KadaluStorage> {
    if (sameStatus(pool.status, status)) return pool;
    const written = this.remember(pool, await this.kube.mergePatch<KadaluStorage>(poolPath(pool, "status"), { status }, `cannot update the status of pool ${keyOf(pool)}`));
    const event = transitionEvent(pool.status, status);
    if (event) await this.emit(pool, event);
    return written;
  }

  private async emit(pool: KadaluStorage, event: PoolEvent): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    try {
      await this.kube.create(`/api/v1/namespaces/${pool.metadata.namespace}/events`, {
        apiVersion: "v1", kind: "Event",
        metadata: { generateName: `${pool.metadata.name}.`, namespace: pool.metadata.namespace },
        involvedObject: { apiVersion: pool.apiVersion, kind: pool.kind, name: pool.metadata.name, namespace: pool.metadata.namespace, uid: pool.metadata.uid },
        reason: event.reason, message: event.message, type: event.type, source: { component: "kadalu-operator" },
        reportingComponent: "kadalu-operator", firstTimestamp: now, lastTimestamp: now, count: 1,
      }, "cannot record an event");
    } catch (error) {
      this.log("error", `event for ${keyOf(pool)}: ${(error as Error).message}`);
    }
  }

  /** PVs that use the pool (by StorageClass or the CSI hostvol attribute), from the informer's cache or a fresh list. */
  private async poolPersistentVolumes(pool: KadaluStorage, fresh: boolean): Promise<string[]> {
    const volumes = fresh
      ? (await this.kube.getPath<{ items: PersistentVolume[] }>("/api/v1/persistentvolumes"))?.items ?? []
      : [...this.volumes.cache.values()];
    return volumes.filter((pv) => pv.spec?.storageClassName === storageClassName(pool.metadata.name)
      || (pv.spec?.csi?.driver === CSI_DRIVER_NAME && pv.spec.csi.volumeAttributes?.hostvol === pool.metadata.name)).map((pv) => pv.metadata.name).sort();
  }

  /** Deletion: blocked while PVs use the pool; then its objects and info key go, then the finalizer. */
  private async finalize(pool: KadaluStorage): Promise<void> {
    if (!(pool.metadata.finalizers ?? []).includes(KADALU_FINALIZER)) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    // The cache decides quickly; a teardown is only started on a fresh list (a PV may be newer than the cache).
    let pvs = await this.poolPersistentVolumes(pool, false);
    if (pvs.length === 0) pvs = await this.poolPersistentVolumes(pool, true);
    const latest = await this.report(pool, deletionStatus(pool, pvs, now));
    if (pvs.length > 0) {
      // The PV informer re-queues the pool when one goes; this is only a safety net.
      this.queue.addAfter(keyOf(pool), 60_000);
      return;
    }
    const configMap = await this.readInfoConfigMap();
    const info = infoOf(configMap, pool.metadata.name);
    const bricks = info && !isExternal(info) ? info.bricks.length : pool.spec.storage?.length ?? 0;
    const ns = this.config.namespace;
    const budgets = info && !isExternal(info) && toleratedPerGroup(info) !== undefined ? groupCount(info) : 0;
    const doomed: KubeObject[] = [
      ...Array.from({ length: budgets }, (_, group) => ({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: budgetName(pool.metadata.name, group), namespace: ns } })),
      ...Array.from({ length: bricks }, (_, index) => ({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: serverStatefulSetName(pool.metadata.name, index), namespace: ns } })),
      ...(pool.spec.type === "External" ? [] : [{ apiVersion: "v1", kind: "Service", metadata: { name: pool.metadata.name, namespace: ns } }]),
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: storageClassName(pool.metadata.name) } },
    ];
    for (const object of doomed) await this.kube.deleteObject(object);
    await this.writeInfo(pool.metadata.name, null, configMap);
    const finalizers = (latest.metadata.finalizers ?? []).filter((f) => f !== KADALU_FINALIZER);
    // Preconditioned on the version our status write produced: no conflict with ourselves.
    try {
      await this.kube.mergePatch(poolPath(pool), { metadata: { finalizers, resourceVersion: latest.metadata.resourceVersion } }, `cannot remove the finalizer of pool ${keyOf(pool)}`);
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

interface InfoConfigMap {
  metadata: { resourceVersion: string };
  data?: Record<string, string>;
}

function infoOf(configMap: InfoConfigMap | undefined, pool: string): PoolInfo | undefined {
  const text = configMap?.data?.[infoKey(pool)];
  return text ? decodeInfo(pool, text).info : undefined;
}

function transitionEvent(before: KadaluStorageStatus | undefined, after: KadaluStorageStatus): PoolEvent | undefined {
  if (before?.state === after.state && before?.message === after.message) return undefined;
  if (after.state === "error") return { type: "Warning", reason: after.conditions?.find((c) => c.status === "False")?.reason ?? "Error", message: after.message ?? "" };
  if (after.state === "blocked") return { type: "Warning", reason: "DeletionBlocked", message: after.message ?? "" };
  if (after.state === "ready" && before?.state !== "ready") return { type: "Normal", reason: "Ready", message: after.message ?? "ready" };
  return undefined;
}
