/** `storage-add NAME`: flags or gluster-style layout -> a validated `KadaluStorage`, previewed, confirmed, created. */
import { Command, Option } from "commander";
import { AlreadyReported, ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { planStorageAdd, type StorageAddInput } from "../../core/pool/build.js";
import {
  KADALU_FORMATS, POOL_TYPES, RECLAIM_POLICIES, STORAGE_UNIT_KINDS, type KadaluStorage,
} from "../../core/pool/types.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import {
  addDryRunFlag, addObjectOutputFlag, addWaitFlags, addYesFlag, collect, dryRunOf, intArg, DEFAULT_NAMESPACE,
  type DryRun, type GlobalOptions,
} from "../flags.js";
import { formatObject, toYaml, type ObjectFormat } from "../io.js";
import { confirmOrRefuse, EXIT_INTERRUPTED } from "../prompt.js";
import { untilInterrupted } from "../watch.js";
import { waitWithProgress, type WaitVerdict } from "../wait-pool.js";

interface RawOptions extends GlobalOptions {
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
  output?: ObjectFormat;
  dryRun?: boolean;
  dryRunStrategy?: DryRun;
  yes?: boolean;
  scriptMode?: boolean;
  wait?: boolean;
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

export function complete(name: string, layout: string[], raw: RawOptions): StorageAddOptions {
  const input: StorageAddInput = {
    name, namespace: raw.namespace, type: raw.type, devices: raw.device ?? [], paths: raw.path ?? [], pvcs: raw.pvc ?? [],
    layout, storageUnitType: raw.storageUnitType, external: raw.external, glusterOptions: raw.glusterOptions,
    tiebreaker: raw.tiebreaker, data: raw.data, redundancy: raw.redundancy, kadaluFormat: raw.kadaluFormat,
    singlePvPerPool: raw.singlePvPerPool, pvReclaimPolicy: raw.pvReclaimPolicy, volumeId: raw.volumeId,
  };
  return {
    input, global: raw, dryRun: dryRunOf(raw), output: raw.output, yes: Boolean(raw.yes || raw.scriptMode),
    wait: Boolean(raw.wait), timeoutMs: parseDuration("--timeout", raw.timeout),
  };
}

/** Cluster-side checks before anything is written: one list per kind of name the pool refers to. */
async function checkReferences(kube: Kube, pool: KadaluStorage): Promise<void> {
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

async function create(kube: Kube, pool: KadaluStorage, serverDryRun: boolean): Promise<KadaluStorage> {
  try {
    return await kube.createPool(pool, serverDryRun);
  } catch (error) {
    const { name, namespace } = pool.metadata;
    if ((error as ClusterError).status === 409) {
      throw new ClusterError(
        `storage pool "${name}" already exists in namespace "${namespace}"; choose another name, or remove it first with: kubectl kadalu storage-remove ${name}`,
        409,
      );
    }
    throw error;
  }
}

function readiness(name: string) {
  return (pool: KadaluStorage | undefined): WaitVerdict => {
    if (!pool) throw new ClusterError(`storage pool "${name}" was deleted while waiting for it`);
    const status = pool.status;
    if (status?.state === "ready") {
      const bricks = status.bricks ? ` (${status.bricks.ready}/${status.bricks.total} bricks ready)` : "";
      return { done: true, line: `storage pool "${name}" is ready${bricks}` };
    }
    if (status?.state === "error") throw new ClusterError(`storage pool "${name}" failed: ${status.message ?? "see kubectl describe kds " + name}`);
    if (!status?.state) return { done: false, waitingFor: `waiting for the operator to report on pool "${name}" (no status yet; is the operator running?)` };
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
  await checkReferences(kube, pool);
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
      namespace: pool.metadata.namespace!, name: pool.metadata.name, timeoutMs: options.timeoutMs, judge: readiness(pool.metadata.name),
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
  const ns = namespace === DEFAULT_NAMESPACE ? "" : ` -n ${namespace}`;
  return `interrupted: storage pool "${name}" was created and the operator goes on setting it up; follow it with: kubectl kadalu storage-list --name ${name} --watch${ns}; remove it with: kubectl kadalu storage-remove ${name}${ns}`;
}

export function storageAddCommand(deps: Deps): Command {
  const command = new Command("storage-add")
    .description("Add a storage pool built from node devices, node directories, PVCs or an external Gluster volume")
    .argument("<name>", "pool name; its StorageClass will be kadalu.<name>")
    .argument("[layout...]", "gluster-style layout, e.g. replica 3 n1:/dev/sdb n2:/dev/sdb n3:/dev/sdb (with --storage-unit-type)")
    .addOption(new Option("--type <type>", "pool type (default Replica1)").choices(POOL_TYPES))
    .option("--device <node:device>", "a block device (or file) on a node; repeatable", collect)
    .option("--path <node:dir>", "an existing directory on a node; repeatable", collect)
    .option("--pvc <name>", "an existing PVC in the Kadalu namespace; repeatable", collect)
    .option("--external <hosts:/volume>", "an existing Gluster volume: HOST[,HOST...]:/VOLUME (type External)")
    .option("--gluster-options <options>", "mount options for the external Gluster volume")
    .option("--tiebreaker <node:path>", "tiebreaker for a Replica2 pool")
    .option("--data <n>", "data units per group (Disperse)", intArg("--data"))
    .option("--redundancy <n>", "redundancy units per group (Disperse)", intArg("--redundancy"))
    .addOption(new Option("--kadalu-format <format>", "native: many PVs per pool; non-native: one PV per pool").choices(KADALU_FORMATS))
    .option("--single-pv-per-pool", "use the whole pool as a single PV")
    .addOption(new Option("--pv-reclaim-policy <policy>", "what deleting a PV does to its data (default delete)").choices(RECLAIM_POLICIES))
    .option("--volume-id <uuid>", "reuse the volume id of bricks that already hold a Kadalu volume")
    .addOption(new Option("--storage-unit-type <kind>", "what the layout arguments are").choices(STORAGE_UNIT_KINDS));
  addObjectOutputFlag(command);
  addDryRunFlag(command);
  addYesFlag(command);
  addWaitFlags(command, "the operator reports the pool ready");
  command.addHelpText("after", `
Examples:
  # A Replica3 pool on a disk of each of three nodes
  kubectl kadalu storage-add pool1 --type Replica3 --device kube1:/dev/sdb --device kube2:/dev/sdb --device kube3:/dev/sdb

  # The same with the gluster-style layout, two groups of three (distributed replicate)
  kubectl kadalu storage-add pool2 --storage-unit-type path replica 3 n1:/data/a n2:/data/a n3:/data/a n1:/data/b n2:/data/b n3:/data/b

  # An existing Gluster volume
  kubectl kadalu storage-add ext1 --external gluster1.example.com,gluster2.example.com:/gvol0

  # Print the object without a cluster
  kubectl kadalu storage-add pool1 --path kube1:/data/pool1 --dry-run -o yaml`);
  return command.action(async (name: string, layout: string[], _opts: unknown, cmd: Command) => {
    const options = complete(name, layout, cmd.optsWithGlobals<RawOptions>());
    await run(options, deps);
  });
}
