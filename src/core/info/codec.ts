/**
 * The `<pool>.info` entries of ConfigMap `kadalu-info`: upstream's contract between operator, server
 * pods and CSI (ARCHITECTURE.md#upstream-contracts). Decoding keeps unknown keys and reports problems by pool and key; encoding
 * writes upstream's key order with Python's JSON spacing.
 */
import { brickHostName, byCodePoint, dns1123LabelError } from "../naming.js";
import { DEFAULT_GLUSTER_PORT, isPoolType, resolveSinglePvPerPool, type KadaluStorage, type PoolType, type ReclaimPolicy } from "../pool/types.js";
import { pythonJsonDumps } from "./python-json.js";

export const INFO_CONFIGMAP = "kadalu-info";
export const INFO_SUFFIX = ".info";

export interface BrickInfo {
  brick_path: string;
  kube_hostname: string;
  node: string;
  node_id: string;
  host_brick_path: string;
  brick_device: string;
  pvc_name: string;
  brick_device_dir: string;
  decommissioned: string;
  brick_index: number;
  [unknown: string]: unknown;
}

export interface NativePoolInfo {
  namespace: string;
  kadalu_version: string;
  volname: string;
  volume_id: string;
  single_pv_per_pool: boolean;
  type: Exclude<PoolType, "External">;
  pvReclaimPolicy: ReclaimPolicy;
  bricks: BrickInfo[];
  disperse: { data: number; redundancy: number };
  options: Record<string, string>;
  tiebreaker?: Record<string, unknown>;
  [unknown: string]: unknown;
}

export interface ExternalPoolInfo {
  volname: string;
  volume_id: string;
  type: "External";
  pvReclaimPolicy: ReclaimPolicy;
  single_pv_per_pool: boolean;
  gluster_hosts: string;
  gluster_volname: string;
  gluster_options: string;
  [unknown: string]: unknown;
}

export type PoolInfo = NativePoolInfo | ExternalPoolInfo;

export interface InfoProblem {
  pool: string;
  key: string;
  message: string;
}

const NATIVE_ORDER = [
  "namespace",
  "kadalu_version",
  "volname",
  "volume_id",
  "single_pv_per_pool",
  "type",
  "pvReclaimPolicy",
  "bricks",
  "disperse",
  "options",
  "tiebreaker",
];
const EXTERNAL_ORDER = ["volname", "volume_id", "type", "pvReclaimPolicy", "single_pv_per_pool", "gluster_hosts", "gluster_volname", "gluster_options"];
const BRICK_ORDER = [
  "brick_path",
  "kube_hostname",
  "node",
  "node_id",
  "host_brick_path",
  "brick_device",
  "pvc_name",
  "brick_device_dir",
  "decommissioned",
  "brick_index",
];

export const infoKey = (pool: string): string => `${pool}${INFO_SUFFIX}`;

/** What a ConfigMap may hold in all: the bytes of every key and value of `data` (the apiserver's limit). */
export const INFO_MAX_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();

/** The bytes kadalu-info's `data` counts against INFO_MAX_BYTES, leaving out `exceptKey` (the entry about to be written). */
export function infoDataBytes(data: Record<string, string> | undefined, exceptKey?: string): number {
  let total = 0;
  for (const [key, value] of Object.entries(data ?? {})) if (key !== exceptKey) total += utf8.encode(key).length + utf8.encode(value).length;
  return total;
}

/**
 * Why `pool`'s entry `text` cannot be written beside the others' `othersBytes`, or undefined: past
 * INFO_MAX_BYTES the apiserver refuses the whole write, and every pool's reconcile with it.
 */
export function infoFullError(pool: string, text: string, othersBytes: number): string | undefined {
  const total = othersBytes + utf8.encode(infoKey(pool)).length + utf8.encode(text).length;
  if (total <= INFO_MAX_BYTES) return undefined;
  return `ConfigMap ${INFO_CONFIGMAP} would hold ${total} bytes with this pool's entry, over the ${INFO_MAX_BYTES} a ConfigMap may hold; remove pools that are no longer used, then this one is added`;
}

/** The pool a ConfigMap key belongs to (upstream strips a character set with rstrip; we strip the suffix). */
export function poolOfKey(key: string): string | undefined {
  return key.endsWith(INFO_SUFFIX) && key.length > INFO_SUFFIX.length ? key.slice(0, -INFO_SUFFIX.length) : undefined;
}

export const isExternal = (info: PoolInfo): info is ExternalPoolInfo => info.type === "External";

function ordered(value: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of order) if (key in value) result[key] = value[key];
  for (const [key, v] of Object.entries(value)) if (!(key in result)) result[key] = v;
  return result;
}

export function encodeInfo(info: PoolInfo): string {
  if (isExternal(info)) return pythonJsonDumps(ordered(info, EXTERNAL_ORDER));
  const bricks = info.bricks.map((brick) => ordered(brick, BRICK_ORDER));
  return pythonJsonDumps(ordered({ ...info, bricks }, NATIVE_ORDER));
}

type Check = [key: string, ok: (info: Record<string, any>) => boolean, message: string];

const COMMON: Check[] = [
  // It becomes a mount point's name and part of the Gluster client's command line.
  ["volname", (i) => typeof i.volname === "string" && dns1123LabelError(i.volname) === undefined, "must be the pool name (lower-case letters, digits and '-')"],
  ["volume_id", (i) => typeof i.volume_id === "string", "must be a string"],
  ["type", (i) => typeof i.type === "string" && isPoolType(i.type), "must be one of Replica1, Replica2, Replica3, Disperse, Arbiter, External"],
];
const EXTERNAL: Check[] = [
  ["gluster_hosts", (i) => typeof i.gluster_hosts === "string" && i.gluster_hosts !== "", "must be a comma-separated host list"],
  ["gluster_volname", (i) => typeof i.gluster_volname === "string" && i.gluster_volname !== "", "must be the Gluster volume name"],
];
const NATIVE: Check[] = [
  [
    "bricks",
    (i) => Array.isArray(i.bricks) && i.bricks.every((b: unknown) => typeof b === "object" && b !== null && Number.isInteger((b as BrickInfo).brick_index)),
    "must be a list of bricks with integer brick_index",
  ],
];

/** Decodes one entry; `pool` is the name from the ConfigMap key. */
export function decodeInfo(pool: string, text: string): { info?: PoolInfo; problems: InfoProblem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problems: [{ pool, key: infoKey(pool), message: `is not valid JSON (${(error as Error).message})` }] };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { problems: [{ pool, key: infoKey(pool), message: "must be a JSON object" }] };
  }
  const record = value as Record<string, any>;
  const checks = [...COMMON, ...(record.type === "External" ? EXTERNAL : NATIVE)];
  const problems = checks.filter(([, ok]) => !ok(record)).map(([key, , message]) => ({ pool, key, message }));
  if (problems.length > 0) return { problems };
  const info = { ...record, pvReclaimPolicy: record.pvReclaimPolicy ?? "delete", single_pv_per_pool: resolveSinglePvPerPool(record) } as PoolInfo;
  return { info, problems: [] };
}

/** All pools of a `kadalu-info` ConfigMap's data, sorted by name, and the problems of malformed entries. */
export function decodeKadaluInfo(data: Record<string, string> | undefined): { pools: PoolInfo[]; problems: InfoProblem[] } {
  const pools: PoolInfo[] = [];
  const problems: InfoProblem[] = [];
  for (const [key, text] of Object.entries(data ?? {}).sort(([a], [b]) => byCodePoint(a, b))) {
    const pool = poolOfKey(key);
    if (!pool) continue;
    const decoded = decodeInfo(pool, text);
    if (decoded.info) pools.push(decoded.info);
    problems.push(...decoded.problems);
  }
  return { pools, problems };
}

export interface InfoContext {
  namespace: string;
  kadaluVersion: string;
  volumeId: string;
}

function dirname(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

/** The native-pool entry upstream's operator writes for a `KadaluStorage`, its keys in upstream's order. */
export function buildNativeInfo(pool: KadaluStorage, context: InfoContext): NativePoolInfo {
  const { spec } = pool;
  const name = pool.metadata.name;
  const bricks = spec.storage.map((unit, index): BrickInfo => ({
    brick_path: `/bricks/${name}/data/brick`,
    kube_hostname: unit.node ?? "",
    node: brickHostName(name, index),
    node_id: `node-${index}`,
    host_brick_path: unit.path ?? "",
    brick_device: unit.device ?? "",
    pvc_name: unit.pvc ?? "",
    brick_device_dir: unit.device && !unit.device.startsWith("/dev/") ? dirname(unit.device) : "",
    decommissioned: unit.decommissioned ?? "",
    brick_index: index,
  }));
  const info: NativePoolInfo = {
    namespace: context.namespace,
    kadalu_version: context.kadaluVersion,
    volname: name,
    volume_id: context.volumeId,
    single_pv_per_pool: resolveSinglePvPerPool(spec),
    type: spec.type as NativePoolInfo["type"],
    pvReclaimPolicy: spec.pvReclaimPolicy ?? "delete",
    bricks,
    disperse: { data: spec.disperse?.data ?? 0, redundancy: spec.disperse?.redundancy ?? 0 },
    options: Object.fromEntries((spec.options ?? []).map((option) => [option.key, option.value])),
  };
  if (spec.type === "Replica2") info.tiebreaker = spec.tiebreaker ? { ...spec.tiebreaker, port: spec.tiebreaker.port ?? DEFAULT_GLUSTER_PORT } : {};
  return info;
}

/** The External-pool entry: hosts comma-joined, `gluster_host` first; no namespace, bricks, options or disperse keys. */
export function buildExternalInfo(pool: KadaluStorage, volumeId: string): ExternalPoolInfo {
  const details = pool.spec.details ?? {};
  const hosts = [details.gluster_host, ...(details.gluster_hosts ?? [])].filter((host): host is string => Boolean(host));
  return {
    volname: pool.metadata.name,
    volume_id: volumeId,
    type: "External",
    pvReclaimPolicy: pool.spec.pvReclaimPolicy ?? "delete",
    single_pv_per_pool: resolveSinglePvPerPool(pool.spec),
    gluster_hosts: hosts.join(","),
    gluster_volname: details.gluster_volname ?? "",
    gluster_options: details.gluster_options ?? "",
  };
}
