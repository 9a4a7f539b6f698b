/**
 * plan(observed) -> what to apply, replace and delete, the pool's kadalu-info entry, its status and Events:
 * pure, table-tested (test/stand-in/operator/plan.test.ts). The controller reads what `toRead` names and what its
 * caches hold, calls `plan`, and carries the result out; it decides nothing. Pool deletion deletes the
 * same object list (`poolObjects`) that creation applies.
 */
import { buildExternalInfo, buildNativeInfo, decodeInfo, encodeInfo, infoFullError, isExternal, type PoolInfo } from "../src/core/info/codec.js";
import { serverPodName, serverStatefulSetName, storageClassName } from "../src/core/naming.js";
import { validatePool } from "../src/core/pool/validate.js";
import { KADALU_FINALIZER, type Condition, type KadaluStorage, type KadaluStorageStatus, type PoolState } from "../src/core/pool/types.js";
import type { OperatorConfig } from "./config.js";
import { poolDisruptionBudgets } from "./budgets.js";
import { poolService, poolSnapshotClass, poolStorageClass, serverStatefulSet } from "./objects.js";
import { SNAPSHOT_API } from "../src/core/manifests/snapshots.js";
import type { KubeObject, ObjectRef } from "../src/core/kube-vocabulary.js";
import { foreignSpecManagers } from "../src/core/manifests/managed-fields.js";
import { podFailure, type FailingPodView, type PodEventView } from "../src/core/doctor/pod-failure.js";
import { podServesUnit, type BrickPodSpecView } from "../src/core/pool/replace.js";
import type { PodView } from "../src/core/upgrade/switch-over.js";
import { changedUnits, refusedReplacement, stalePods, type Swap } from "./replacing.js";

export interface PoolEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface Desired {
  info?: PoolInfo;
  objects: KubeObject[];
  /** Why nothing may be applied (invalid spec, refused change), for status and an event. */
  refusal?: { reason: string; message: string };
  /** Part of the spec that was not applied while the rest was (a changed volume_id). */
  ignored?: { reason: string; message: string };
}

/** Removing storage units, changing the type, or changing units in a way no heal can repair would lose data: refused. */
export function refusedChange(pool: KadaluStorage, previous: PoolInfo | undefined): string | undefined {
  if (!previous) return undefined;
  if (previous.type !== pool.spec.type)
    return `changing the type from ${previous.type} to ${pool.spec.type} is not supported (data would be lost); set spec.type back to ${previous.type}`;
  if (isExternal(previous)) return undefined;
  const units = pool.spec.storage;
  if (units.length < previous.bricks.length) {
    return `removing storage units is not supported (data would be lost): the pool has ${previous.bricks.length}, the spec lists ${units.length}; restore the removed units`;
  }
  const changed = changedUnits(pool, previous);
  return changed.length > 0 ? refusedReplacement(pool, previous, changed) : undefined;
}

/**
 * volume_id: the one already in `<pool>.info` (its bricks carry it in an xattr and would refuse to start
 * under another), else the spec's, else a new one; then stable forever.
 */
export function volumeIdFor(pool: KadaluStorage, previous: PoolInfo | undefined, fresh: string): string {
  return previous?.volume_id || pool.spec.volume_id || fresh;
}

/** A spec.volume_id that differs from the pool's: kept out, and said so in the conditions. */
export function refusedVolumeId(pool: KadaluStorage, previous: PoolInfo | undefined): string | undefined {
  if (!previous?.volume_id || !pool.spec.volume_id || pool.spec.volume_id === previous.volume_id) return undefined;
  return `spec.volume_id ${pool.spec.volume_id} differs from the pool's volume id ${previous.volume_id}, which its bricks carry; the pool keeps ${previous.volume_id} (set spec.volume_id back to it, or remove it)`;
}

export function desiredState(pool: KadaluStorage, previous: PoolInfo | undefined, config: OperatorConfig, fresh: string, snapshotClasses = false): Desired {
  const problems = validatePool(pool);
  if (problems.length > 0) return { objects: [], refusal: { reason: "InvalidSpec", message: problems.map((p) => `${p.field}: ${p.message}`).join("; ") } };
  const change = refusedChange(pool, previous);
  if (change) return { objects: [], refusal: { reason: "UnsupportedChange", message: change } };
  const volumeId = volumeIdFor(pool, previous, fresh);
  const volumeIdProblem = refusedVolumeId(pool, previous);
  const ignored = volumeIdProblem ? { reason: "VolumeIdChangeRefused", message: volumeIdProblem } : undefined;
  const info =
    pool.spec.type === "External"
      ? buildExternalInfo(pool, volumeId)
      : buildNativeInfo(pool, { namespace: config.namespace, kadaluVersion: config.kadaluVersion, volumeId });
  return { info, objects: poolObjects(pool, info, config, snapshotClasses), ...(ignored ? { ignored } : {}) };
}

/**
 * Everything the operator runs for a pool: applied while it lives, deleted when it goes. The
 * VolumeSnapshotClass only where the cluster serves the kind (`snapshotClasses`).
 */
export function poolObjects(pool: KadaluStorage, info: PoolInfo, config: OperatorConfig, snapshotClasses = false): KubeObject[] {
  const snapshotClass = snapshotClasses ? [poolSnapshotClass(pool, info, config)] : [];
  return isExternal(info)
    ? [poolStorageClass(pool, info, config), ...snapshotClass]
    : [
        ...info.bricks.map((brick) => serverStatefulSet(pool, info, brick, config)),
        poolService(pool, config),
        ...poolDisruptionBudgets(pool, info, config),
        poolStorageClass(pool, info, config),
        ...snapshotClass,
      ];
}

/** The pool's message when a brick directory is missing: a stable wording (the node tier's tests and storage-list's REASON read it). */
export const brickDirMissing = (path: string, node: string | undefined): string => `brick directory ${path} is missing on node ${node || "?"}`;

export interface Observation {
  bricksReady: number;
  bricksTotal: number;
  storageClass: boolean;
  /** Bricks that cannot start for want of their directory on the node, in the words of brickDirMissing. */
  missingDirs?: string[];
  /** Other brick pods' own failures (an image that cannot be pulled, a crash loop), for the message. */
  podProblems?: string[];
  /** Bricks whose pod still serves a replaced storage unit: what happens to each. */
  replacing?: string[];
  /** External pools: whether a Gluster host answered, and the detail. */
  hosts?: { reachable: boolean; detail: string };
}

function condition(type: string, ok: boolean, reason: string, message: string, generation: number | undefined): Omit<Condition, "lastTransitionTime"> {
  return { type, status: ok ? "True" : "False", reason, message, observedGeneration: generation };
}

/** Keeps lastTransitionTime of conditions whose status did not change. */
export function mergeConditions(previous: Condition[] = [], next: Omit<Condition, "lastTransitionTime">[], now: string): Condition[] {
  return next.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now };
  });
}

function bricksCondition(seen: Observation, generation: number | undefined): Omit<Condition, "lastTransitionTime"> {
  const all = seen.bricksReady === seen.bricksTotal;
  if (!all && seen.missingDirs?.length) return condition("BricksReady", false, "BrickDirectoryMissing", seen.missingDirs.join("; "), generation);
  return condition("BricksReady", all, all ? "AllReady" : "NotReady", `${seen.bricksReady}/${seen.bricksTotal} brick pods ready`, generation);
}

// eslint-disable-next-line complexity -- one condition per observed fact and the state they add up to
export function statusFor(pool: KadaluStorage, desired: Desired, seen: Observation, now: string): KadaluStorageStatus {
  const generation = pool.metadata.generation;
  const previous = pool.status?.conditions;
  if (desired.refusal) {
    return {
      state: "error",
      message: desired.refusal.message,
      observedGeneration: generation,
      conditions: mergeConditions(previous, [condition("Valid", false, desired.refusal.reason, desired.refusal.message, generation)], now),
      ...(pool.status?.volumeId ? { volumeId: pool.status.volumeId } : {}),
    };
  }
  const external = desired.info && isExternal(desired.info);
  const conditions = [
    desired.ignored
      ? condition("Valid", false, desired.ignored.reason, desired.ignored.message, generation)
      : condition("Valid", true, "Valid", "the spec is valid", generation),
    condition("ConfigWritten", true, "Written", `kadalu-info has ${pool.metadata.name}.info`, generation),
    external
      ? condition(
          "HostsReachable",
          seen.hosts?.reachable ?? false,
          seen.hosts?.reachable ? "Reachable" : "Unreachable",
          seen.hosts?.detail ?? "not checked yet",
          generation,
        )
      : bricksCondition(seen, generation),
    condition(
      "StorageClassReady",
      seen.storageClass,
      seen.storageClass ? "Exists" : "Missing",
      `StorageClass ${storageClassName(pool.metadata.name)}`,
      generation,
    ),
  ];
  let state: PoolState = "ready";
  let message = "ready";
  if (!seen.storageClass) [state, message] = ["initializing", "creating the StorageClass"];
  else if (external && !seen.hosts?.reachable) [state, message] = ["error", seen.hosts?.detail ?? "Gluster hosts not checked yet"];
  else if (!external && seen.missingDirs?.length) [state, message] = ["error", seen.missingDirs.join("; ")];
  else if (!external && seen.bricksReady < seen.bricksTotal)
    [state, message] = [
      "initializing",
      [`${seen.bricksReady}/${seen.bricksTotal} brick pods ready`, ...(seen.replacing ?? []), ...(seen.podProblems ?? [])].join("; "),
    ];
  return {
    state,
    message,
    observedGeneration: generation,
    conditions: mergeConditions(previous, conditions, now),
    bricks: { ready: seen.bricksReady, total: seen.bricksTotal },
    volumeId: desired.info!.volume_id,
    storageClass: storageClassName(pool.metadata.name),
  };
}

/** Status of a pool being deleted: blocked while PVs use it, stopping while its objects go. */
export function deletionStatus(pool: KadaluStorage, pvs: string[], now: string): KadaluStorageStatus {
  const blocked = pvs.length > 0;
  const names = pvs.slice(0, 5).join(", ") + (pvs.length > 5 ? ` and ${pvs.length - 5} more` : "");
  const message = blocked
    ? `deletion blocked: ${pvs.length} PersistentVolume${pvs.length === 1 ? "" : "s"} still use${pvs.length === 1 ? "s" : ""} the pool (${names}); delete ${pvs.length === 1 ? "its PVC" : "their PVCs"} first`
    : "removing the pool's server pods, Service, StorageClass and configuration (brick data is kept)";
  return {
    ...pool.status,
    state: blocked ? "blocked" : "stopping",
    message,
    observedGeneration: pool.metadata.generation,
    conditions: mergeConditions(
      pool.status?.conditions,
      [condition("Deleting", true, blocked ? "PersistentVolumesExist" : "TearingDown", message, pool.metadata.generation)],
      now,
    ),
  };
}

/** Whether `desired` is already contained in `live` (the server adds defaults, so subset, not equality). */
export function contains(live: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((item, index) => contains(live[index], item));
  }
  if (desired && typeof desired === "object") {
    if (!live || typeof live !== "object") return false;
    return Object.entries(desired).every(([key, value]) => contains((live as Record<string, unknown>)[key], value));
  }
  // The API server drops empty strings it serialises with omitempty (an env var's `value: ""`), so an absent
  // field holds a desired "": without this, a directory brick's StatefulSet (BRICK_DEVICE="") was applied
  // again at every reconcile.
  return live === desired || (desired === "" && live === undefined);
}

/** Status writes only when something other than timestamps changed. */
export function sameStatus(a: KadaluStorageStatus | undefined, b: KadaluStorageStatus): boolean {
  const strip = (status: KadaluStorageStatus | undefined): unknown =>
    JSON.parse(
      JSON.stringify({
        ...status,
        usage: undefined,
        conditions: status?.conditions?.map(({ lastTransitionTime: _t, ...rest }) => rest),
      }),
    );
  const [left, right] = [strip(a), strip(b)];
  return contains(left, right) && contains(right, left);
}

/** A brick pod as the pod informer holds it. */
export type BrickPod = FailingPodView & BrickPodSpecView & { metadata: { name: string } };

/** What the controller knows of one pool when it plans: its caches, kadalu-info and the reads `toRead` names. */
export interface Observed {
  pool: KadaluStorage;
  /** The pool's entry in kadalu-info, as last written (text). */
  infoText?: string;
  /** The bytes of kadalu-info's other keys and values (absent: not read; no size check). */
  infoOthersBytes?: number;
  /** Brick pods and Events of the Kadalu namespace (the informers' caches). */
  pods: BrickPod[];
  events: PodEventView[];
  /** The objects `toRead` named, by `refKey`; a missing key: the object does not exist. */
  live: ReadonlyMap<string, KubeObject>;
  /** External pools: whether a Gluster host answered `toRead().hosts`. */
  hosts?: { reachable: boolean; detail: string };
  /** A pool being deleted: the PersistentVolumes that still use it. */
  persistentVolumes?: string[];
  /** The volume id a new pool gets when its spec names none. */
  freshVolumeId: string;
  /** Whether the cluster serves VolumeSnapshotClass (snapshot.storage.k8s.io/v1). */
  snapshotClasses?: boolean;
  /** RFC 3339, seconds. */
  now: string;
}

export interface Plan {
  finalizer?: "add" | "remove";
  /** The pool's kadalu-info entry to write, or null to remove it; absent: unchanged. */
  info?: string | null;
  /** Deleted first: a StorageClass whose parameters changed (immutable) is deleted, then applied again. */
  delete: ObjectRef[];
  /** Replaced whole before the apply (a StatefulSet another manager wrote); metadata.resourceVersion is the live one's. */
  replace: KubeObject[];
  apply: KubeObject[];
  /** The status to write; absent when it is unchanged. */
  status?: KadaluStorageStatus;
  events: PoolEvent[];
  /** Plan again after this long: External pools' hosts, a deletion blocked by PVs (safety nets). */
  requeueAfterMs?: number;
  /** The pool's tolerations changed what the nodeplugin must tolerate. */
  nodepluginTolerations?: boolean;
}

export const refKey = (ref: ObjectRef): string => `${ref.kind}/${ref.metadata.namespace ?? ""}/${ref.metadata.name}`;
const refOf = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  metadata: { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) },
});
const previousInfo = (observed: Pick<Observed, "pool" | "infoText">): PoolInfo | undefined =>
  observed.infoText ? decodeInfo(observed.pool.metadata.name, observed.infoText).info : undefined;

/** What `plan` compares with: the live objects to read, and the Gluster hosts an External pool names. */
export function toRead(
  observed: Pick<Observed, "pool" | "infoText" | "freshVolumeId" | "snapshotClasses">,
  config: OperatorConfig,
): { objects: ObjectRef[]; hosts?: string } {
  if (observed.pool.metadata.deletionTimestamp) return { objects: [] };
  const desired = desiredState(observed.pool, previousInfo(observed), config, observed.freshVolumeId, observed.snapshotClasses);
  const hosts = desired.info && isExternal(desired.info) ? desired.info.gluster_hosts : undefined;
  return { objects: desired.objects.map(refOf), ...(hosts !== undefined ? { hosts } : {}) };
}

/**
 * True when only the status (and the resourceVersion) changed: the CSI's usage writes and our own status
 * writes. Those cannot change the plan, so they queue no reconcile.
 */
export function statusOnlyChange(before: KadaluStorage | undefined, after: KadaluStorage | undefined): boolean {
  if (!before || !after || before.metadata.generation !== after.metadata.generation) return false;
  const rest = ({
    status: _s,
    metadata: { resourceVersion: _v, managedFields: _m, ...metadata },
    ...object
  }: KadaluStorage & { metadata: { managedFields?: unknown } }): unknown => ({ ...object, metadata });
  const [left, right] = [rest(before), rest(after)];
  return contains(left, right) && contains(right, left);
}

export function plan(observed: Observed, config: OperatorConfig): Plan {
  const { pool } = observed;
  const finalized = (pool.metadata.finalizers ?? []).includes(KADALU_FINALIZER);
  if (pool.metadata.deletionTimestamp) return finalized ? deletionPlan(observed, config) : { delete: [], replace: [], apply: [], events: [] };
  const previous = previousInfo(observed);
  const desired = sizeChecked(observed, desiredState(pool, previous, config, observed.freshVolumeId, observed.snapshotClasses));
  const steps: Plan = { ...(finalized ? {} : { finalizer: "add" as const }), delete: [], replace: [], apply: [], events: [] };
  if (desired.info) {
    const text = encodeInfo(desired.info);
    if (text !== observed.infoText) steps.info = text;
    for (const object of desired.objects) addObjectSteps(steps, object, observed.live.get(refKey(object)));
    if (pool.spec.tolerations?.length) steps.nodepluginTolerations = true;
    if (isExternal(desired.info)) steps.requeueAfterMs = 60_000;
  }
  const swap = desired.info ? swapSteps(steps, observed, desired, config) : undefined;
  const status = statusFor(pool, desired, observe(observed, desired, swap), observed.now);
  return withStatus(steps, pool, status);
}

/** A pool whose entry would push kadalu-info past what a ConfigMap holds is refused: nothing is applied for it. */
function sizeChecked(observed: Observed, desired: Desired): Desired {
  if (!desired.info || observed.infoOthersBytes === undefined) return desired;
  const text = encodeInfo(desired.info);
  if (text === observed.infoText) return desired;
  const full = infoFullError(observed.pool.metadata.name, text, observed.infoOthersBytes);
  return full ? { objects: [], refusal: { reason: "KadaluInfoFull", message: full } } : desired;
}

/**
 * Brick pods still serving a replaced unit: deleted (before this plan's applies, so only once the live
 * StatefulSet already holds the new template); planned again soon while one waits.
 */
function swapSteps(steps: Plan, observed: Observed, desired: Desired, config: OperatorConfig): Swap {
  const pods = new Map(observed.pods.map((pod) => [pod.metadata.name, pod as BrickPod & PodView]));
  const bricks = isExternal(desired.info!) ? [] : desired.info!.bricks;
  // The live template's unit only: the pod may move once the StatefulSet serves the new unit, whatever else differs.
  const synced = (index: number): boolean => {
    const live = observed.live.get(
      refKey({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: serverStatefulSetName(observed.pool.metadata.name, index), namespace: config.namespace },
      }),
    );
    const template = (live?.spec as { template?: BrickPodSpecView } | undefined)?.template;
    return Boolean(template && bricks[index] && podServesUnit(template, bricks[index]!));
  };
  const swap = stalePods(desired.info!, observed.pool, pods, synced);
  for (const name of swap.deletePods) steps.delete.push({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: config.namespace } });
  if (swap.messages.length > 0) steps.requeueAfterMs = Math.min(steps.requeueAfterMs ?? 5_000, 5_000);
  return swap;
}

/** Applies `object` unless the live one already holds it; StorageClass parameters are immutable: delete, then apply. */
function addObjectSteps(steps: Plan, object: KubeObject, live: KubeObject | undefined): void {
  if (live && contains(live, object)) return;
  // Another manager's fields (upstream's operator, through kubectl apply) would survive an apply: its rollingUpdate beside our OnDelete is invalid.
  if (live && object.kind === "StatefulSet" && foreignSpecManagers(live).length > 0) {
    steps.replace.push({
      ...object,
      metadata: { ...object.metadata, resourceVersion: (live.metadata as { resourceVersion?: string }).resourceVersion ?? "" } as KubeObject["metadata"],
    });
  }
  if (live && object.kind === "StorageClass" && (!contains(live.parameters, object.parameters) || live.provisioner !== object.provisioner))
    steps.delete.push(refOf(object));
  steps.apply.push(object);
}

function withStatus(steps: Plan, pool: KadaluStorage, status: KadaluStorageStatus): Plan {
  if (sameStatus(pool.status, status)) return steps;
  const event = transitionEvent(pool.status, status);
  return { ...steps, status, events: event ? [event] : [] };
}

/** The bricks as their pods and Events tell: ready, a missing directory, another failure of the pod's own. */
function observe(observed: Observed, desired: Desired, swap?: Swap): Observation {
  const info = desired.info;
  if (!info || isExternal(info)) return { bricksReady: 0, bricksTotal: 0, storageClass: Boolean(info), hosts: observed.hosts };
  const pods = new Map(observed.pods.map((pod) => [pod.metadata.name, pod]));
  let ready = 0;
  const missingDirs: string[] = [];
  const podProblems: string[] = [];
  for (const brick of info.bricks) {
    const name = serverPodName(observed.pool.metadata.name, brick.brick_index);
    const pod = pods.get(name);
    // A pod still on a replaced unit is not the brick the spec asks for.
    if (pod && !podServesUnit(pod, brick)) continue;
    if (pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) ready += 1;
    else if (pod) {
      const failure = podFailure(pod, observed.events);
      if (failure?.missingPath) missingDirs.push(brickDirMissing(failure.missingPath, failure.node ?? brick.kube_hostname));
      else if (failure) podProblems.push(`${name}: ${failure.reason}: ${failure.detail}`);
    }
  }
  return {
    bricksReady: ready,
    bricksTotal: info.bricks.length,
    storageClass: true,
    ...(missingDirs.length ? { missingDirs } : {}),
    ...(podProblems.length ? { podProblems } : {}),
    ...(swap?.messages.length ? { replacing: swap.messages } : {}),
  };
}

/**
 * Deletion: blocked while PVs use the pool; else the pool's objects (as kadalu-info records them, or as its
 * spec would make them), its info entry, then the finalizer.
 */
function deletionPlan(observed: Observed, config: OperatorConfig): Plan {
  const { pool } = observed;
  const pvs = observed.persistentVolumes ?? [];
  const none: Plan = { delete: [], replace: [], apply: [], events: [] };
  const status = deletionStatus(pool, pvs, observed.now);
  if (pvs.length > 0) return withStatus({ ...none, requeueAfterMs: 60_000 }, pool, status);
  const info = previousInfo(observed) ?? desiredState(pool, undefined, config, observed.freshVolumeId).info;
  const objects = info ? poolObjects(pool, info, config, observed.snapshotClasses) : specObjectRefs(pool, config, observed.snapshotClasses);
  // Budgets before the bricks they guard, the classes last.
  const order = ["PodDisruptionBudget", "StatefulSet", "Service", "VolumeSnapshotClass", "StorageClass"];
  const refs = objects.map(refOf).sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return withStatus({ ...none, delete: refs, info: null, finalizer: "remove" }, pool, status);
}

/** A pool that never had a valid spec nor an info entry: what the operator could have made, by name. */
function specObjectRefs(pool: KadaluStorage, config: OperatorConfig, snapshotClasses = false): ObjectRef[] {
  const name = pool.metadata.name;
  return [
    ...(pool.spec.storage ?? []).map((_, index) => ({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: serverStatefulSetName(name, index), namespace: config.namespace },
    })),
    ...(pool.spec.type === "External" ? [] : [{ apiVersion: "v1", kind: "Service", metadata: { name, namespace: config.namespace } }]),
    { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: storageClassName(name) } },
    ...(snapshotClasses ? [{ apiVersion: SNAPSHOT_API, kind: "VolumeSnapshotClass", metadata: { name: storageClassName(name) } }] : []),
  ];
}

/** An Event when the state or message changes into error, blocked or (newly) ready. */
export function transitionEvent(before: KadaluStorageStatus | undefined, after: KadaluStorageStatus): PoolEvent | undefined {
  if (before?.state === after.state && before?.message === after.message) return undefined;
  if (after.state === "error")
    return { type: "Warning", reason: after.conditions?.find((c) => c.status === "False")?.reason ?? "Error", message: after.message ?? "" };
  if (after.state === "blocked") return { type: "Warning", reason: "DeletionBlocked", message: after.message ?? "" };
  if (after.state === "ready" && before?.state !== "ready") return { type: "Normal", reason: "Ready", message: after.message ?? "ready" };
  return undefined;
}
