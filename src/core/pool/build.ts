/**
 * `storage-add` arguments -> the exact `KadaluStorage` object that will be sent (README.md#storage-add), upstream's
 * field order, with upstream's silent mistakes refused. Storage units keep their command-line order across
 * --device, --path and --pvc (upstream moved devices first): the order is what makes the replica groups.
 */
import { UsageError, type Problem } from "../errors.js";
import { parseGlusterSyntax } from "./gluster-syntax.js";
import { sameNodeProblems } from "./placement.js";
import { normalizeHostPath, validatePool } from "./validate.js";
import {
  DEFAULT_GLUSTER_PORT,
  isPoolType,
  KADALU_API_VERSION,
  KADALU_FORMATS,
  KADALU_KIND,
  POOL_TYPES,
  RECLAIM_POLICIES,
  STORAGE_UNIT_KINDS,
  type DisperseConfig,
  type KadaluFormat,
  type KadaluStorage,
  type KadaluStorageSpec,
  type PoolType,
  type ReclaimPolicy,
  type StorageUnit,
  type StorageUnitKind,
} from "./types.js";

/** One --device, --path or --pvc value, as typed. */
export interface UnitArgument {
  kind: StorageUnitKind;
  text: string;
}

export interface StorageAddInput {
  name: string;
  namespace: string;
  type?: string;
  /** --device, --path and --pvc values in the order they were given. */
  units: UnitArgument[];
  /** Gluster-style layout arguments after NAME. */
  layout: string[];
  storageUnitType?: string;
  external?: string;
  glusterOptions?: string;
  tiebreaker?: string;
  data?: number;
  redundancy?: number;
  kadaluFormat?: string;
  singlePvPerPool?: boolean;
  pvReclaimPolicy?: string;
  volumeId?: string;
  /** Allow members of one replica or disperse group on one node. */
  force?: boolean;
}

/** `NODE:PATH` as given to --device, --path and --tiebreaker. */
export function parseNodePath(flag: string, value: string): { node: string; path: string } {
  const colon = value.indexOf(":");
  const node = colon < 0 ? "" : value.slice(0, colon);
  const path = colon < 0 ? "" : value.slice(colon + 1);
  if (!node || !path) throw new UsageError(`${flag} "${value}" must be NODE:PATH, as in ${flag} kube1:${flag === "--device" ? "/dev/sdb" : "/data/pool1"}`);
  if (!path.startsWith("/")) throw new UsageError(`${flag} "${value}": the path must be absolute, as in ${node}:${flag === "--device" ? "/dev/" : "/"}${path}`);
  // Written as the directory is named (`kube1://d/./x/` is /d/x); ".." is left for validation to refuse.
  return { node, path: path.split("/").includes("..") ? path : normalizeHostPath(path) };
}

/** `HOST[,HOST...]:/VOLUME` as given to --external or after the `external` keyword. */
export function parseExternal(value: string): { hosts: string[]; volume: string } {
  const colon = value.indexOf(":");
  const hosts =
    colon < 0
      ? []
      : value
          .slice(0, colon)
          .split(",")
          .map((host) => host.trim());
  const volume = colon < 0 ? "" : value.slice(colon + 1).replace(/^\/+|\/+$/g, "");
  if (hosts.length === 0 || hosts.some((host) => !host) || !volume) {
    throw new UsageError(`external storage "${value}" must be HOST[,HOST...]:/VOLUME, as in --external gluster1.example.com:/gvol0`);
  }
  return { hosts, volume };
}

function choice<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} "${value}" is not valid; use one of ${choices.join(", ")}`);
  return value as T;
}

interface Layout {
  type: PoolType;
  units: StorageUnit[];
  disperse?: DisperseConfig;
  external?: string;
}

export function unitFromText(kind: StorageUnitKind, text: string): StorageUnit {
  if (kind === "pvc") return { pvc: text };
  const { node, path } = parseNodePath(`--${kind}`, text);
  return kind === "device" ? { node, device: path } : { node, path };
}

function layoutFromFlags(input: StorageAddInput, type: PoolType): Layout {
  const units = input.units.map(({ kind, text }) => unitFromText(kind, text));
  const disperse = type === "Disperse" ? { data: input.data ?? 0, redundancy: input.redundancy ?? 0 } : undefined;
  return { type, units, disperse, external: input.external };
}

function layoutFromArguments(input: StorageAddInput, requestedType?: PoolType): Layout {
  if (input.units.length > 0 || input.external) {
    throw new UsageError("give storage units either as arguments after NAME or with --device/--path/--pvc/--external, not both");
  }
  const parsed = parseGlusterSyntax(input.layout);
  if (requestedType && requestedType !== parsed.type) {
    throw new UsageError(`--type ${requestedType} does not match the layout "${input.layout.join(" ")}", which describes a ${parsed.type} pool`);
  }
  if (parsed.type === "External") return { type: "External", units: [], external: parsed.units[0] };
  const kind = choice("--storage-unit-type", input.storageUnitType, STORAGE_UNIT_KINDS);
  if (!kind) throw new UsageError("storage units given as arguments need --storage-unit-type device, path or pvc");
  if (parsed.disperse && (input.data !== undefined || input.redundancy !== undefined)) {
    const fromFlags = { data: input.data ?? parsed.disperse.data, redundancy: input.redundancy ?? parsed.disperse.redundancy };
    if (fromFlags.data !== parsed.disperse.data || fromFlags.redundancy !== parsed.disperse.redundancy) {
      throw new UsageError(
        `--data/--redundancy do not match the layout, which gives data ${parsed.disperse.data} and redundancy ${parsed.disperse.redundancy}`,
      );
    }
  }
  return { type: parsed.type, units: parsed.units.map((text) => unitFromText(kind, text)), disperse: parsed.disperse };
}

function checkFlagCombinations(input: StorageAddInput, type: PoolType): void {
  if (input.external && type !== "External") throw new UsageError(`--external is used only with --type External (got --type ${type})`);
  if (input.glusterOptions !== undefined && !input.external) throw new UsageError("--gluster-options is used only with --external");
  if (input.tiebreaker && type !== "Replica2") throw new UsageError(`--tiebreaker is used only with --type Replica2 (got ${type})`);
  if ((input.data !== undefined || input.redundancy !== undefined) && type !== "Disperse") {
    throw new UsageError(`--data and --redundancy are used only with --type Disperse (got ${type})`);
  }
  if (type === "External" && input.units.length > 0) {
    throw new UsageError("an External pool takes no --device, --path or --pvc");
  }
}

function resolveLayout(input: StorageAddInput): Layout {
  const requestedType = choice("--type", input.type, POOL_TYPES);
  if (input.layout.length > 0) {
    const layout = layoutFromArguments(input, requestedType);
    checkFlagCombinations({ ...input, external: layout.external }, layout.type);
    return layout;
  }
  const type: PoolType = requestedType ?? (input.external ? "External" : "Replica1");
  checkFlagCombinations(input, type);
  return layoutFromFlags(input, type);
}

/** Builds the pool or throws a UsageError naming the argument at fault. */
export function buildKadaluStorage(input: StorageAddInput): KadaluStorage {
  const layout = resolveLayout(input);
  if (!isPoolType(layout.type)) throw new UsageError(`unknown pool type ${layout.type}`);
  const spec: KadaluStorageSpec = { type: layout.type, storage: layout.units };
  if (layout.type === "External") {
    if (!layout.external) throw new UsageError("an External pool needs --external HOST[,HOST...]:/VOLUME");
    const { hosts, volume } = parseExternal(layout.external);
    spec.details = { gluster_hosts: hosts, gluster_volname: volume, gluster_options: input.glusterOptions ?? "" };
  }
  if (input.tiebreaker) spec.tiebreaker = { ...parseNodePath("--tiebreaker", input.tiebreaker), port: DEFAULT_GLUSTER_PORT };
  if (layout.disperse) spec.disperse = layout.disperse;
  const policy = choice<ReclaimPolicy>("--pv-reclaim-policy", input.pvReclaimPolicy, RECLAIM_POLICIES);
  if (policy) spec.pvReclaimPolicy = policy;
  if (input.volumeId) spec.volume_id = input.volumeId;
  if (input.singlePvPerPool) spec.single_pv_per_pool = true;
  const format = choice<KadaluFormat>("--kadalu-format", input.kadaluFormat, KADALU_FORMATS);
  if (format === "native" && input.singlePvPerPool) {
    throw new UsageError(
      "--single-pv-per-pool hands the whole volume to one PV, which is the non-native format: drop --kadalu-format native or --single-pv-per-pool",
    );
  }
  if (format) spec.kadalu_format = format;
  return { apiVersion: KADALU_API_VERSION, kind: KADALU_KIND, metadata: { name: input.name, namespace: input.namespace }, spec };
}

/** Build and validate: the pool, or the problems that keep it from being sent. */
export function planStorageAdd(input: StorageAddInput): { pool: KadaluStorage; problems: Problem[] } {
  const pool = buildKadaluStorage(input);
  const problems = validatePool(pool);
  if (problems.length > 0 || input.force) return { pool, problems };
  return { pool, problems: sameNodeProblems(pool) };
}
