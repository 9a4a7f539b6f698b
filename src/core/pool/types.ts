/** The `KadaluStorage` custom resource: field names and shapes are upstream's contract (ARCHITECTURE.md#upstream-contracts). */

export const KADALU_GROUP = "kadalu-operator.storage";
export const KADALU_VERSION = "v1alpha1";
export const KADALU_API_VERSION = `${KADALU_GROUP}/${KADALU_VERSION}`;
export const KADALU_KIND = "KadaluStorage";
export const KADALU_PLURAL = "kadalustorages";
export const KADALU_FINALIZER = "kadalu-operator.storage/finalizer";

export const POOL_TYPES = ["Replica1", "Replica2", "Replica3", "Disperse", "Arbiter", "External"] as const;
export type PoolType = (typeof POOL_TYPES)[number];

export const RECLAIM_POLICIES = ["delete", "archive", "retain"] as const;
export type ReclaimPolicy = (typeof RECLAIM_POLICIES)[number];

export const KADALU_FORMATS = ["native", "non-native"] as const;
export type KadaluFormat = (typeof KADALU_FORMATS)[number];

export const STORAGE_UNIT_KINDS = ["device", "path", "pvc"] as const;
export type StorageUnitKind = (typeof STORAGE_UNIT_KINDS)[number];

export const POOL_STATES = ["initializing", "ready", "error", "stopping", "blocked"] as const;
export type PoolState = (typeof POOL_STATES)[number];

export const DEFAULT_GLUSTER_PORT = 24007;

export interface StorageUnit {
  node?: string;
  device?: string;
  path?: string;
  pvc?: string;
  decommissioned?: string;
}

export interface ExternalDetails {
  gluster_host?: string;
  gluster_hosts?: string[];
  gluster_volname?: string;
  gluster_options?: string;
  gluster_port?: number;
}

export interface Tiebreaker {
  node?: string;
  path?: string;
  port?: number;
  deployment?: string;
}

export interface DisperseConfig {
  data: number;
  redundancy: number;
}

export interface PoolOption {
  key: string;
  value: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface KadaluStorageSpec {
  type: PoolType;
  storage: StorageUnit[];
  details?: ExternalDetails;
  tiebreaker?: Tiebreaker;
  disperse?: DisperseConfig;
  pvReclaimPolicy?: ReclaimPolicy;
  volume_id?: string;
  single_pv_per_pool?: boolean;
  kadalu_format?: KadaluFormat;
  options?: PoolOption[];
  tolerations?: Toleration[];
  [unknown: string]: unknown;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PoolUsage {
  capacityBytes: number;
  provisionedBytes: number;
  pvCount: number;
  updatedAt: string;
}

export interface KadaluStorageStatus {
  state?: PoolState;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  bricks?: { ready: number; total: number };
  volumeId?: string;
  storageClass?: string;
  usage?: PoolUsage;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KadaluStorage {
  apiVersion: typeof KADALU_API_VERSION;
  kind: typeof KADALU_KIND;
  metadata: ObjectMeta;
  spec: KadaluStorageSpec;
  status?: KadaluStorageStatus;
}

/** Bricks per distribute group; External pools have no bricks. */
export function groupSize(type: PoolType, disperse?: DisperseConfig): number {
  switch (type) {
    case "Replica1":
    case "External":
      return 1;
    case "Replica2":
      return 2;
    case "Replica3":
    case "Arbiter":
      return 3;
    case "Disperse":
      return (disperse?.data ?? 0) + (disperse?.redundancy ?? 0);
  }
}

export function isPoolType(value: string): value is PoolType {
  return (POOL_TYPES as readonly string[]).includes(value);
}

export function isReclaimPolicy(value: string): value is ReclaimPolicy {
  return (RECLAIM_POLICIES as readonly string[]).includes(value);
}

/** Upstream's single_pv_per_pool resolution, shared by operator and CSI: `kadalu_format` wins (anything but "native" is single-PV), strings "true" count. */
export function resolveSinglePvPerPool(source: { kadalu_format?: unknown; single_pv_per_pool?: unknown }): boolean {
  if (source.kadalu_format !== undefined && source.kadalu_format !== null) {
    return String(source.kadalu_format).toLowerCase() !== "native";
  }
  const value = source.single_pv_per_pool;
  if (typeof value === "string") return value.toLowerCase() === "true";
  return value === true;
}
