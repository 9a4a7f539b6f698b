/**
 * reconcile(pool, observed) -> what should exist and what the status says: pure, tested through the
 * running operator (test/operator). The controller alone reads the world and applies the difference.
 */
import { randomUUID } from "node:crypto";
import { buildExternalInfo, buildNativeInfo, isExternal, type PoolInfo } from "../src/core/info/codec.js";
import { storageClassName } from "../src/core/naming.js";
import { validatePool } from "../src/core/pool/validate.js";
import type { Condition, KadaluStorage, KadaluStorageStatus, PoolState } from "../src/core/pool/types.js";
import type { OperatorConfig } from "./config.js";
import { poolDisruptionBudgets } from "./budgets.js";
import { poolService, poolStorageClass, serverStatefulSet } from "./objects.js";
import type { KubeObject } from "../src/core/kube-vocabulary.js";

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

/** Removing or changing storage units, or the type, of a pool in use would lose data: refused. */
export function refusedChange(pool: KadaluStorage, previous: PoolInfo | undefined): string | undefined {
  if (!previous) return undefined;
  if (previous.type !== pool.spec.type) return `changing the type from ${previous.type} to ${pool.spec.type} is not supported (data would be lost); set spec.type back to ${previous.type}`;
  if (isExternal(previous)) return undefined;
  const units = pool.spec.storage;
  if (units.length < previous.bricks.length) {
    return `removing storage units is not supported (data would be lost): the pool has ${previous.bricks.length}, the spec lists ${units.length}; restore the removed units`;
  }
  for (const brick of previous.bricks) {
    const unit = units[brick.brick_index];
    const same = unit && (unit.node ?? "") === brick.kube_hostname && (unit.path ?? "") === brick.host_brick_path && (unit.device ?? "") === brick.brick_device && (unit.pvc ?? "") === brick.pvc_name;
    if (!same) return `storage unit ${brick.brick_index + 1} changed; existing storage units cannot be replaced or reordered (data would be lost)`;
  }
  return undefined;
}

/**
 * volume_id: the one already in `<pool>.info` (its bricks carry it in an xattr and would refuse to start
 * under another), else the spec's, else a new one; then stable forever.
 */
export function volumeIdFor(pool: KadaluStorage, previous: PoolInfo | undefined, fresh: () => string = randomUUID): string {
  return previous?.volume_id || pool.spec.volume_id || fresh();
}

/** A spec.volume_id that differs from the pool's: kept out, and said so in the conditions. */
export function refusedVolumeId(pool: KadaluStorage, previous: PoolInfo | undefined): string | undefined {
  if (!previous?.volume_id || !pool.spec.volume_id || pool.spec.volume_id === previous.volume_id) return undefined;
  return `spec.volume_id ${pool.spec.volume_id} differs from the pool's volume id ${previous.volume_id}, which its bricks carry; the pool keeps ${previous.volume_id} (set spec.volume_id back to it, or remove it)`;
}

export function desiredState(pool: KadaluStorage, previous: PoolInfo | undefined, config: OperatorConfig, fresh?: () => string): Desired {
  const problems = validatePool(pool);
  if (problems.length > 0) return { objects: [], refusal: { reason: "InvalidSpec", message: problems.map((p) => `${p.field}: ${p.message}`).join("; ") } };
  const change = refusedChange(pool, previous);
  if (change) return { objects: [], refusal: { reason: "UnsupportedChange", message: change } };
  const volumeId = volumeIdFor(pool, previous, fresh);
  const volumeIdProblem = refusedVolumeId(pool, previous);
  const ignored = volumeIdProblem ? { reason: "VolumeIdChangeRefused", message: volumeIdProblem } : undefined;
  const info = pool.spec.type === "External"
    ? buildExternalInfo(pool, volumeId)
    : buildNativeInfo(pool, { namespace: config.namespace, kadaluVersion: config.kadaluVersion, volumeId });
  const objects = isExternal(info)
    ? [poolStorageClass(pool, info, config)]
    : [...info.bricks.map((brick) => serverStatefulSet(pool, info, brick, config)), poolService(pool, config), ...poolDisruptionBudgets(pool, info, config), poolStorageClass(pool, info, config)];
  return { info, objects, ...(ignored ? { ignored } : {}) };
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

// eslint-disable-next-line complexity -- one condition per observed fact and the state they add up to; issue 37 item 5 (one plan) reshapes it
export function statusFor(pool: KadaluStorage, desired: Desired, seen: Observation, now: string): KadaluStorageStatus {
  const generation = pool.metadata.generation;
  const previous = pool.status?.conditions;
  if (desired.refusal) {
    return {
      state: "error", message: desired.refusal.message, observedGeneration: generation,
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
      ? condition("HostsReachable", seen.hosts?.reachable ?? false, seen.hosts?.reachable ? "Reachable" : "Unreachable", seen.hosts?.detail ?? "not checked yet", generation)
      : bricksCondition(seen, generation),
    condition("StorageClassReady", seen.storageClass, seen.storageClass ? "Exists" : "Missing", `StorageClass ${storageClassName(pool.metadata.name)}`, generation),
  ];
  let state: PoolState = "ready";
  let message = "ready";
  if (!seen.storageClass) [state, message] = ["initializing", "creating the StorageClass"];
  else if (external && !seen.hosts?.reachable) [state, message] = ["error", seen.hosts?.detail ?? "Gluster hosts not checked yet"];
  else if (!external && seen.missingDirs?.length) [state, message] = ["error", seen.missingDirs.join("; ")];
  else if (!external && seen.bricksReady < seen.bricksTotal) [state, message] = ["initializing", [`${seen.bricksReady}/${seen.bricksTotal} brick pods ready`, ...(seen.podProblems ?? [])].join("; ")];
  return {
    state, message, observedGeneration: generation, conditions: mergeConditions(previous, conditions, now),
    bricks: { ready: seen.bricksReady, total: seen.bricksTotal },
    volumeId: desired.info!.volume_id, storageClass: storageClassName(pool.metadata.name),
  };
}

/** Status of a pool being deleted: blocked while PVs use it, stopping while its objects go. */
export function deletionStatus(pool: KadaluStorage, pvs: string[], now: string): KadaluStorageStatus {
  const blocked = pvs.length > 0;
  const names = pvs.slice(0, 5).join(", ") + (pvs.length > 5 ? ` and ${pvs.length - 5} more` : "");
  const message = blocked
    ? `deletion blocked: ${pvs.length} PersistentVolume${pvs.length === 1 ? "" : "s"} still use${pvs.length === 1 ? "s" : ""} the pool (${names}); delete their PVCs first`
    : "removing the pool's server pods, Service, StorageClass and configuration (brick data is kept)";
  return {
    ...pool.status, state: blocked ? "blocked" : "stopping", message, observedGeneration: pool.metadata.generation,
    conditions: mergeConditions(pool.status?.conditions, [condition("Deleting", true, blocked ? "PersistentVolumesExist" : "TearingDown", message, pool.metadata.generation)], now),
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
  return live === desired;
}

/** Status writes only when something other than timestamps changed. */
export function sameStatus(a: KadaluStorageStatus | undefined, b: KadaluStorageStatus): boolean {
  const strip = (status: KadaluStorageStatus | undefined): unknown => JSON.parse(JSON.stringify({
    ...status, usage: undefined, conditions: status?.conditions?.map(({ lastTransitionTime: _t, ...rest }) => rest),
  }));
  const [left, right] = [strip(a), strip(b)];
  return contains(left, right) && contains(right, left);
}

