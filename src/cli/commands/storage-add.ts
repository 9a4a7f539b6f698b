/** `storage-add NAME`: flags or gluster-style layout -> a validated `KadaluStorage`, previewed, confirmed, created. */
import { Command, Option } from "commander";
import { AlreadyReported, ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal } from "../../core/info/codec.js";
import { OPERATOR_DEPLOYMENT } from "../../core/manifests/common.js";
import { planStorageAdd, type StorageAddInput, type UnitArgument } from "../../core/pool/build.js";
import { unitsInUseProblems, type UsedUnits } from "../../core/pool/placement.js";
import { KADALU_FORMATS, POOL_TYPES, RECLAIM_POLICIES, STORAGE_UNIT_KINDS, type KadaluStorage } from "../../core/pool/types.js";
import type { Kube } from "../../kube/client.js";
import { deviceRefusals, type BlockDevice } from "../../core/devices.js";
import type { PodView } from "../../core/upgrade/switch-over.js";
import { askNode, NODEPLUGIN_SELECTOR, nodepluginPods } from "../pools/node-devices.js";
import type { Deps } from "../deps.js";
import {
  addDryRunFlag,
  addOutputFlag,
  addWaitFlags,
  addYesFlag,
  collect,
  dryRunOf,
  intArg,
  DEFAULT_NAMESPACE,
  type DryRun,
  type GlobalOptions,
} from "../flags.js";
import { formatObject, OBJECT_FORMATS, toYaml, type ObjectFormat } from "../io.js";
import { confirmOrRefuse } from "../prompt.js";
import { EXIT_INTERRUPTED } from "../../core/exit-codes.js";
import { notYetUsable } from "../pools/usable.js";
import { untilInterrupted } from "../watch.js";
import { waitWithProgress, type WaitVerdict } from "../wait-pool.js";

interface RawOptions extends PoolWriteFlags {
  type?: string;
  device?: string[];
  path?: string[];
  pvc?: string[];
  external?: string;
  glusterOptions?: string;
  tiebreaker?: string;
  data?: number;
  redundancy?: number;
  kadaluFormat?: string;
  singlePvPerPool?: boolean;
  pvReclaimPolicy?: string;
  volumeId?: string;
  storageUnitType?: string;
}

/** The flags of a command that writes a pool: preview, confirmation, dry run, output, wait. */
export interface PoolWriteFlags extends GlobalOptions {
  output?: ObjectFormat;
  dryRun?: boolean;
  dryRunStrategy?: DryRun;
  yes?: boolean;
  scriptMode?: boolean;
  wait?: boolean;
  force?: boolean;
  timeout: string;
}

export interface StorageAddOptions {
  input: StorageAddInput;
  global: GlobalOptions;
  dryRun: DryRun;
  output?: ObjectFormat;
  yes: boolean;
  wait: boolean;
  timeoutMs: number;
}

export function complete(name: string, layout: string[], raw: RawOptions, units: UnitArgument[]): StorageAddOptions {
  const input: StorageAddInput = {
    name,
    namespace: raw.namespace,
    type: raw.type,
    units,
    layout,
    force: raw.force,
    storageUnitType: raw.storageUnitType,
    external: raw.external,
    glusterOptions: raw.glusterOptions,
    tiebreaker: raw.tiebreaker,
    data: raw.data,
    redundancy: raw.redundancy,
    kadaluFormat: raw.kadaluFormat,
    singlePvPerPool: raw.singlePvPerPool,
    pvReclaimPolicy: raw.pvReclaimPolicy,
    volumeId: raw.volumeId,
  };
  return {
    input,
    global: raw,
    dryRun: dryRunOf(raw),
    output: raw.output,
    yes: Boolean(raw.yes || raw.scriptMode),
    wait: Boolean(raw.wait),
    timeoutMs: parseDuration("--timeout", raw.timeout),
  };
}

/** Cluster-side checks before anything is written: one list per kind of name the pool refers to. */
export async function checkReferences(kube: Kube, pool: KadaluStorage): Promise<void> {
  const units = pool.spec.storage;
  const nodes = [...new Set(units.map((unit) => unit.node).filter((node): node is string => Boolean(node)))];
  if (nodes.length > 0) {
    const known = await kube.listNodeNames();
    const missing = nodes.filter((node) => !known.includes(node));
    if (missing.length > 0) {
      const noun = missing.length === 1 ? `node "${missing[0]}" not found` : `nodes ${missing.map((n) => `"${n}"`).join(", ")} not found`;
      throw new ClusterError(`${noun}; nodes: ${known.join(", ") || "none"}`);
    }
  }
  const pvcs = units.map((unit) => unit.pvc).filter((pvc): pvc is string => Boolean(pvc));
  if (pvcs.length > 0) {
    const namespace = pool.metadata.namespace!;
    const known = await kube.listPvcNames(namespace);
    const missing = pvcs.filter((pvc) => !known.includes(pvc));
    if (missing.length > 0) {
      throw new ClusterError(`PVC "${missing[0]}" not found in namespace "${namespace}"; PVCs there: ${known.join(", ") || "none"}`);
    }
  }
}

/** The units every pool in the namespace holds: its KadaluStorage, and the operator's kadalu-info entry. */
export function usedUnits(pools: KadaluStorage[], info: Record<string, string> | undefined): UsedUnits[] {
  const fromInfo = decodeKadaluInfo(info).pools.flatMap((entry): UsedUnits[] =>
    isExternal(entry)
      ? []
      : [
          {
            pool: entry.volname,
            units: entry.bricks.map((brick) => ({
              node: brick.kube_hostname || undefined,
              path: brick.host_brick_path || undefined,
              device: brick.brick_device || undefined,
              pvc: brick.pvc_name || undefined,
            })),
          },
        ],
  );
  return [...pools.map((pool) => ({ pool: pool.metadata.name, units: pool.spec?.storage ?? [] })), ...fromInfo];
}

export function valueOf<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/** Nodes, PVCs and the units other pools hold, read at once; a missing node or PVC is reported first. */
async function checkPlacement(kube: Kube, pool: KadaluStorage, io: Deps["io"]): Promise<void> {
  const namespace = pool.metadata.namespace!;
  const devices = pool.spec.storage.some((unit) => unit.device);
  // allSettled: no request is left running when one fails.
  const [references, pools, info, operator, nodeplugins] = await Promise.allSettled([
    checkReferences(kube, pool),
    kube.listPools(namespace),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
    kube.getObject("apps/v1", "Deployment", OPERATOR_DEPLOYMENT, namespace),
    devices ? kube.listPods(namespace, NODEPLUGIN_SELECTOR) : Promise.resolve([]),
  ]);
  valueOf(references);
  // Before the prompt: nobody should confirm a pool the create would refuse.
  if (valueOf(pools).some((existing) => existing.metadata.name === pool.metadata.name)) throw alreadyExists(pool.metadata.name, namespace);
  // The CRD outlives a plain uninstall: a pool made then would wait for an operator that never comes.
  if (!valueOf(operator))
    throw new ClusterError(
      `Kadalu is not installed in namespace "${namespace}" (no operator Deployment), so nothing would serve the pool; run: kubectl kadalu install -n ${namespace}`,
    );
  const inUse = unitsInUseProblems(pool, usedUnits(valueOf(pools), valueOf(info)));
  if (inUse.length > 0) throw UsageError.fromProblems(inUse);
  if (devices) await checkDevices(kube, pool, nodepluginPods(valueOf(nodeplugins) as PodView[]), io);
}

/**
 * Each --device under /dev is checked by its node's own discovery (storage-devices), and refused with the
 * same reason; a device no nodeplugin can be asked about is said to be unchecked, not refused.
 */
export async function checkDevices(kube: Kube, pool: KadaluStorage, nodeplugins: Map<string, string>, io: Deps["io"]): Promise<void> {
  const units = pool.spec.storage.filter((unit): unit is { node: string; device: string } => Boolean(unit.node && unit.device));
  const nodes = [...new Set(units.filter((unit) => unit.device.startsWith("/dev/")).map((unit) => unit.node))];
  const reports = new Map(
    await Promise.all(
      nodes.map(async (node): Promise<[string, BlockDevice[] | string]> => {
        const pod = nodeplugins.get(node);
        return [node, pod ? await askNode(kube, pool.metadata.namespace!, pod) : "no ready CSI nodeplugin pod there"];
      }),
    ),
  );
  const suffix = pool.metadata.namespace === DEFAULT_NAMESPACE ? "" : ` -n ${pool.metadata.namespace}`;
  for (const { node, device } of units) {
    const unchecked = deviceVerdict(node, device, reports.get(node), suffix);
    if (unchecked) io.err.write(`note: device ${device} on node ${node} was not checked: ${unchecked}\n`);
  }
}

/** Throws the refusal discovery gives for `device`; returns why it was not checked, if it was not. */
function deviceVerdict(node: string, device: string, report: BlockDevice[] | string | undefined, namespaceFlag: string): string | undefined {
  if (!device.startsWith("/dev/")) return "a file, which the server formats as a loop device";
  if (typeof report !== "object") return report ?? "no report";
  const found = report.find((candidate) => candidate.path === device);
  if (found) {
    const reasons = deviceRefusals(found);
    if (reasons.length > 0)
      throw new UsageError(
        `device ${device} on node ${node} cannot be used: ${reasons.join("; ")}; see: kubectl kadalu storage-devices --node ${node}${namespaceFlag}`,
      );
    return undefined;
  }
  if (/^\/dev\/[^/]+$/.test(device))
    throw new UsageError(`node ${node} has no block device ${device}; its devices: ${report.map((candidate) => candidate.path).join(", ") || "none"}`);
  return "it is not a kernel device name (as /dev/sdb)";
}

function alreadyExists(name: string, namespace: string): ClusterError {
  const namespaceFlag = namespace === DEFAULT_NAMESPACE ? "" : ` -n ${namespace}`;
  return new ClusterError(
    `storage pool "${name}" already exists in namespace "${namespace}"; choose another name, grow it by a whole group of units with: kubectl kadalu storage-expand ${name} --path NODE:/DIR${namespaceFlag}; or remove it first with: kubectl kadalu storage-remove ${name}${namespaceFlag}`,
    409,
  );
}

async function create(kube: Kube, pool: KadaluStorage, serverDryRun: boolean): Promise<KadaluStorage> {
  try {
    return await kube.createPool(pool, serverDryRun);
  } catch (error) {
    const { name, namespace } = pool.metadata;
    if ((error as ClusterError).status === 409) throw alreadyExists(name, namespace!);
    throw error;
  }
}

/** A status takes the operator a moment; only a long silence suggests it is not running. */
const OPERATOR_SILENCE_MS = 15_000;

function readiness(name: string) {
  const started = Date.now();
  return (pool: KadaluStorage | undefined): WaitVerdict => {
    if (!pool) throw new ClusterError(`storage pool "${name}" was deleted while waiting for it`);
    const status = pool.status;
    if (status?.state === "ready") {
      const mounting = notYetUsable(pool);
      if (mounting) return { done: false, waitingFor: mounting };
      const bricks = status.bricks ? ` (${status.bricks.ready}/${status.bricks.total} bricks ready)` : "";
      return { done: true, line: `storage pool "${name}" is ready${bricks}` };
    }
    if (status?.state === "error") throw new ClusterError(`storage pool "${name}" failed: ${status.message ?? "see kubectl describe kds " + name}`);
    if (!status?.state) {
      const silent = Date.now() - started > OPERATOR_SILENCE_MS ? " (no status yet; is the operator running?)" : "";
      return { done: false, waitingFor: `waiting for the operator to report on pool "${name}"${silent}` };
    }
    const bricks = status.bricks ? `, ${status.bricks.ready}/${status.bricks.total} bricks ready` : "";
    return { done: false, waitingFor: `pool "${name}" is ${status.state}${bricks}${status.message ? `: ${status.message}` : ""}` };
  };
}

export async function run(options: StorageAddOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const { pool, problems } = planStorageAdd(options.input);
  if (problems.length > 0) throw UsageError.fromProblems(problems);
  if (options.dryRun === "client") {
    io.out.write(formatObject(pool, options.output ?? "yaml"));
    io.err.write("dry run: nothing was sent to the cluster\n");
    return;
  }
  const kube = await deps.connect(options.global);
  if (pool.spec.storage.length > 0) await checkPlacement(kube, pool, io);
  // The preview goes to stderr with the prompt: a script reading stdout gets only what was created.
  if (!options.output) io.err.write(`Storage pool to create in namespace "${pool.metadata.namespace}":\n${toYaml(pool)}`);
  if (options.dryRun === "none" && !(await confirmOrRefuse("Create this storage pool?", { yes: options.yes, io, confirm: deps.confirm }))) {
    io.err.write("cancelled: nothing was created\n");
    return;
  }
  const created = await create(kube, pool, options.dryRun === "server");
  if (options.output) io.out.write(formatObject(created, options.output));
  else io.out.write(`kadalustorage.kadalu-operator.storage/${pool.metadata.name} created${options.dryRun === "server" ? " (server dry run)" : ""}\n`);
  if (!options.wait || options.dryRun === "server") return;
  const interrupt = untilInterrupted();
  try {
    await waitWithProgress(kube, io, `waiting for pool "${pool.metadata.name}" to be ready`, {
      namespace: pool.metadata.namespace!,
      name: pool.metadata.name,
      timeoutMs: options.timeoutMs,
      judge: readiness(pool.metadata.name),
      stop: interrupt.asked.then(() => new AlreadyReported(EXIT_INTERRUPTED)),
    });
  } catch (error) {
    // Written once the spinner has cleared its line.
    if (interrupt.requested) io.err.write(`${waitInterrupted(pool.metadata.name, pool.metadata.namespace!)}\n`);
    throw error;
  } finally {
    interrupt.dispose();
  }
}

/** Ctrl-C ends the wait, not the pool: say what exists now, and how to follow it or take it back. */
export function waitInterrupted(name: string, namespace: string): string {
  const namespaceFlag = namespace === DEFAULT_NAMESPACE ? "" : ` -n ${namespace}`;
  return `interrupted: storage pool "${name}" was created and the operator goes on setting it up; follow it with: kubectl kadalu storage-list ${name} --watch${namespaceFlag}; remove it with: kubectl kadalu storage-remove ${name}${namespaceFlag}`;
}

/** Each --device, --path and --pvc value, also appended to one list: their interleaved order makes the groups. */
function unitArgument(kind: UnitArgument["kind"], units: UnitArgument[]): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    units.push({ kind, text: value });
    return collect(value, previous);
  };
}

export function storageAddCommand(deps: Deps): Command {
  const units: UnitArgument[] = [];
  const command = new Command("storage-add")
    .summary("Add a storage pool built from node devices, node directories, PVCs or an external Gluster volume")
    .description(
      "Add a storage pool built from node devices, node directories, PVCs or an external Gluster volume. Storage units form replica or disperse groups in the order given, across --device, --path and --pvc.",
    )
    .argument("<pool>", "pool name; its StorageClass will be kadalu.<pool>")
    .argument("[layout...]", "gluster-style layout, e.g. replica 3 n1:/dev/sdb n2:/dev/sdb n3:/dev/sdb (with --storage-unit-type)")
    .addOption(new Option("--type <type>", "pool type (default Replica1)").choices(POOL_TYPES))
    .option("--device <node:device>", "a block device (or file) on a node; repeatable", unitArgument("device", units))
    .option("--path <node:dir>", "an existing directory on a node; repeatable", unitArgument("path", units))
    .option("--pvc <name>", "an existing PVC in the Kadalu namespace; repeatable", unitArgument("pvc", units))
    .option("--external <hosts:/volume>", "an existing Gluster volume: HOST[,HOST...]:/VOLUME (type External)")
    .option("--gluster-options <options>", "mount options for the external Gluster volume")
    .option("--tiebreaker <node:path>", "tiebreaker for a Replica2 pool")
    .option("--data <n>", "data units per group (Disperse)", intArg("--data"))
    .option("--redundancy <n>", "redundancy units per group (Disperse)", intArg("--redundancy"))
    .addOption(new Option("--kadalu-format <format>", "native: many PVs per pool; non-native: one PV per pool").choices(KADALU_FORMATS))
    .option("--single-pv-per-pool", "use the whole pool as a single PV")
    .addOption(new Option("--pv-reclaim-policy <policy>", "what deleting a PV does to its data (default delete)").choices(RECLAIM_POLICIES))
    .option("--volume-id <uuid>", "reuse the volume id of bricks that already hold a Kadalu volume")
    .addOption(new Option("--storage-unit-type <kind>", "what the layout arguments are").choices(STORAGE_UNIT_KINDS))
    .option("--force", "allow two storage units of one replica or disperse group on the same node");
  addOutputFlag(command, OBJECT_FORMATS, "print only the object");
  addDryRunFlag(command);
  addYesFlag(command);
  addWaitFlags(command, "the operator reports the pool ready");
  command.addHelpText(
    "after",
    `
Examples:
  # A Replica3 pool on a disk of each of three nodes
  kubectl kadalu storage-add pool1 --type Replica3 --device kube1:/dev/sdb --device kube2:/dev/sdb --device kube3:/dev/sdb

  # The same with the gluster-style layout, two groups of three (distributed replicate)
  kubectl kadalu storage-add pool2 --storage-unit-type path replica 3 n1:/data/a n2:/data/a n3:/data/a n1:/data/b n2:/data/b n3:/data/b

  # An existing Gluster volume
  kubectl kadalu storage-add ext1 --external gluster1.example.com,gluster2.example.com:/gvol0

  # Print the object without a cluster
  kubectl kadalu storage-add pool1 --path kube1:/data/pool1 --dry-run -o yaml`,
  );
  return command.action(async (name: string, layout: string[], _opts: unknown, cmd: Command) => {
    const options = complete(name, layout, cmd.optsWithGlobals<RawOptions>(), units.splice(0));
    await run(options, deps);
  });
}
