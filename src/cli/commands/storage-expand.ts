/** `storage-expand POOL`: storage units appended to an existing pool, whole groups at a time, previewed, confirmed, sent. */
import { Command } from "commander";
import { AlreadyReported, ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { EXIT_INTERRUPTED } from "../../core/exit-codes.js";
import { formatBytes } from "../../core/units.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { unitFromText, type UnitArgument } from "../../core/pool/build.js";
import { newGroups, planGrowth, type Growth } from "../../core/pool/grow.js";
import { unitsInUseProblems } from "../../core/pool/placement.js";
import type { KadaluStorage, StorageUnit } from "../../core/pool/types.js";
import { validatePool } from "../../core/pool/validate.js";
import type { PodView } from "../../core/upgrade/switch-over.js";
import { counted } from "../../core/words.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addDryRunFlag, addOutputFlag, addWaitFlags, addYesFlag, collect, dryRunOf, DEFAULT_NAMESPACE, type DryRun, type GlobalOptions } from "../flags.js";
import { formatObject, OBJECT_FORMATS, type ObjectFormat } from "../io.js";
import { NODEPLUGIN_SELECTOR, nodepluginPods } from "../pools/node-devices.js";
import { poolNotFound } from "../pools/require-pool.js";
import { confirmOrRefuse } from "../prompt.js";
import { untilInterrupted } from "../watch.js";
import { waitWithProgress, type WaitVerdict } from "../wait-pool.js";
import { checkDevices, checkReferences, usedUnits, valueOf, type PoolWriteFlags } from "./storage-add.js";

type RawOptions = PoolWriteFlags;

export interface StorageExpandOptions {
  name: string;
  units: StorageUnit[];
  force: boolean;
  global: GlobalOptions;
  dryRun: DryRun;
  output?: ObjectFormat;
  yes: boolean;
  wait: boolean;
  timeoutMs: number;
}

/** The units as typed, checked on their own (form, node names, repeats) before the cluster is asked anything. */
export function parseUnits(name: string, namespace: string, given: UnitArgument[]): StorageUnit[] {
  if (given.length === 0)
    throw new UsageError(`give the storage units to add to pool "${name}" with --device, --path or --pvc, a whole replica or disperse group of them`);
  const units = given.map(({ kind, text }) => unitFromText(kind, text));
  const alone: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name, namespace },
    spec: { type: "Replica1", storage: units },
  };
  const problems = validatePool(alone).filter((found) => found.field.startsWith("spec.storage["));
  if (problems.length > 0) throw UsageError.fromProblems(problems);
  return units;
}

/** The pool and everything its growth is checked against, read at once; refusals before anything is written. */
async function plan(kube: Kube, options: StorageExpandOptions, io: Deps["io"]): Promise<Growth> {
  const { name, units } = options;
  const namespace = options.global.namespace;
  const added: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name, namespace },
    spec: { type: "Replica1", storage: units },
  };
  const devices = units.some((unit) => unit.device);
  // allSettled: no request is left running when one fails.
  const [pool, pools, info, references, nodeplugins] = await Promise.allSettled([
    kube.getPool(namespace, name),
    kube.listPools(namespace),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
    checkReferences(kube, added),
    devices ? kube.listPods(namespace, NODEPLUGIN_SELECTOR) : Promise.resolve([]),
  ]);
  const existing = valueOf(pool);
  if (!existing)
    throw poolNotFound(
      name,
      namespace,
      valueOf(pools)
        .map((item) => item.metadata.name)
        .sort(),
    );
  const growth = planGrowth(existing, units, options.force);
  if (growth.problems.length > 0) throw UsageError.fromProblems(growth.problems);
  valueOf(references);
  const inUse = unitsInUseProblems(added, usedUnits(valueOf(pools), valueOf(info)));
  if (inUse.length > 0) throw UsageError.fromProblems(inUse);
  if (devices) await checkDevices(kube, added, nodepluginPods(valueOf(nodeplugins) as PodView[]), io);
  return growth;
}

function preview(growth: Growth): string {
  const { grown, before } = growth;
  const after = grown.spec.storage.length;
  const groups = newGroups(growth);
  return [
    `Storage pool "${grown.metadata.name}" (${grown.spec.type}) in namespace "${grown.metadata.namespace}" grows from ${counted(before, "storage unit")} to ${after}, by ${counted(groups.length, "group")}:`,
    ...groups.map((line) => `  ${line}`),
    "Its PVs stay where they are; new PVs are spread over all groups (see README.md#storage-expand).",
    "",
  ].join("\n");
}

async function send(kube: Kube, growth: Growth, serverDryRun: boolean): Promise<KadaluStorage> {
  try {
    return await kube.setPoolStorage(growth.grown, growth.grown.spec.storage.slice(0, growth.before), growth.grown.spec.storage, serverDryRun);
  } catch (error) {
    const { name } = growth.grown.metadata;
    // A failed JSON patch `test` is a 422, as a refused value is: the units as they are now tell which.
    const status = (error as ClusterError).status;
    const unitsNow =
      status === 422
        ? await kube.getPool(growth.grown.metadata.namespace ?? "", name).then(
            (pool) => pool?.spec.storage,
            () => undefined,
          )
        : undefined;
    if (status === 409 || (unitsNow && JSON.stringify(unitsNow) !== JSON.stringify(growth.grown.spec.storage.slice(0, growth.before)))) {
      throw new ClusterError(`storage pool "${name}" changed while this command ran, so nothing was changed; run the same command again`, 409);
    }
    throw error;
  }
}

/** What a grown pool still waits for in its status: the operator to see it, then every brick. */
function brickWait(name: string, bricks: number, generation: number, status: KadaluStorage["status"]): string | undefined {
  if ((status?.observedGeneration ?? 0) < generation) return `waiting for the operator to take up the new storage units of pool "${name}"`;
  if (status?.state === "error") throw new ClusterError(`storage pool "${name}" failed to grow: ${status.message ?? `see kubectl describe kds ${name}`}`);
  const { state = "not reconciled yet", message, bricks: reported = { ready: 0, total: 0 } } = status ?? {};
  if (state === "ready" && reported.total >= bricks && reported.ready >= bricks) return undefined;
  return `pool "${name}" is ${state}, ${reported.ready}/${bricks} bricks ready${message && state !== "ready" ? `: ${message}` : ""}`;
}

/** Ready with every brick of the grown pool, the operator having seen the change, and (where it was measured) more capacity. */
export function grownReadiness(grown: KadaluStorage, capacityBefore: number | undefined) {
  const name = grown.metadata.name;
  const bricks = grown.spec.storage.length;
  return (pool: KadaluStorage | undefined): WaitVerdict => {
    if (!pool) throw new ClusterError(`storage pool "${name}" was deleted while waiting for it`);
    const waiting = brickWait(name, bricks, grown.metadata.generation ?? 0, pool.status);
    if (waiting) return { done: false, waitingFor: waiting };
    const capacity = pool.status?.usage?.capacityBytes;
    if (capacityBefore === undefined) return { done: true, line: `storage pool "${name}" is ready (${bricks}/${bricks} bricks ready)` };
    if (capacity === undefined || capacity <= capacityBefore) {
      return {
        done: false,
        waitingFor: `pool "${name}" is ready with ${bricks} bricks; waiting for its capacity (${formatBytes(capacity ?? capacityBefore)}) to grow as the CSI provisioner's mount takes up the new groups`,
      };
    }
    return {
      done: true,
      line: `storage pool "${name}" is ready (${bricks}/${bricks} bricks ready, capacity ${formatBytes(capacityBefore)} -> ${formatBytes(capacity)})`,
    };
  };
}

export async function run(options: StorageExpandOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const growth = await plan(kube, options, io);
  const { grown } = growth;
  const name = grown.metadata.name;
  if (options.dryRun === "client") {
    io.out.write(formatObject(grown, options.output ?? "yaml"));
    io.err.write(`dry run: pool "${name}" would have ${counted(grown.spec.storage.length, "storage unit")}; nothing was changed\n`);
    return;
  }
  // The preview goes to stderr with the prompt: a script reading stdout gets only what was changed.
  if (!options.output) io.err.write(preview(growth));
  if (
    options.dryRun === "none" &&
    !(await confirmOrRefuse(`Add ${counted(grown.spec.storage.length - growth.before, "storage unit")} to pool "${name}"?`, {
      yes: options.yes,
      io,
      confirm: deps.confirm,
    }))
  ) {
    io.err.write("cancelled: nothing was changed\n");
    return;
  }
  const capacityBefore = grown.status?.usage?.capacityBytes;
  const sent = await send(kube, growth, options.dryRun === "server");
  if (options.output) io.out.write(formatObject(sent, options.output));
  else
    io.out.write(
      `kadalustorage.kadalu-operator.storage/${name} expanded to ${counted(sent.spec.storage.length, "storage unit")}${options.dryRun === "server" ? " (server dry run)" : ""}\n`,
    );
  if (!options.wait || options.dryRun === "server") return;
  const interrupt = untilInterrupted();
  try {
    await waitWithProgress(kube, io, `waiting for pool "${name}" to be ready with its new bricks`, {
      namespace: grown.metadata.namespace!,
      name,
      timeoutMs: options.timeoutMs,
      judge: grownReadiness(sent, capacityBefore),
      stop: interrupt.asked.then(() => new AlreadyReported(EXIT_INTERRUPTED)),
    });
  } catch (error) {
    const namespaceFlag = grown.metadata.namespace === DEFAULT_NAMESPACE ? "" : ` -n ${grown.metadata.namespace}`;
    if (interrupt.requested)
      io.err.write(
        `interrupted: pool "${name}" has its new storage units and the operator goes on adding their bricks; follow it with: kubectl kadalu storage-list ${name} --watch${namespaceFlag}\n`,
      );
    throw error;
  } finally {
    interrupt.dispose();
  }
}

export function storageExpandCommand(deps: Deps): Command {
  const units: UnitArgument[] = [];
  const unit =
    (kind: UnitArgument["kind"]) =>
    (value: string, previous?: string[]): string[] => {
      units.push({ kind, text: value });
      return collect(value, previous);
    };
  const command = new Command("storage-expand")
    .summary("Grow an existing pool by whole replica or disperse groups of storage units")
    .description(
      "Grow an existing pool: the storage units given are appended to it, whole replica or disperse groups of the pool's type, in the order given across --device, --path and --pvc. The operator adds a brick for each and a distribute group for each group; the pool's existing bricks and data stay as they are.",
    )
    .argument("<pool>", "the pool to grow")
    .option("--device <node:device>", "a block device (or file) on a node; repeatable", unit("device"))
    .option("--path <node:dir>", "an existing directory on a node; repeatable", unit("path"))
    .option("--pvc <name>", "an existing PVC in the Kadalu namespace; repeatable", unit("pvc"))
    .option("--force", "allow two storage units of one new group on the same node");
  addOutputFlag(command, OBJECT_FORMATS, "print only the grown object");
  addDryRunFlag(
    command,
    "check against the cluster and print the grown pool, changing nothing (=client); --dry-run=server also lets the API server validate the change",
  );
  addYesFlag(command);
  addWaitFlags(command, "the pool is ready with its new bricks and its capacity grew");
  command.addHelpText(
    "after",
    `
Examples:
  # A Replica3 pool grows by a second group of three devices
  kubectl kadalu storage-expand pool1 --device kube4:/dev/sdb --device kube5:/dev/sdb --device kube6:/dev/sdb

  # A Replica1 pool grows by one directory, and the command waits for the new brick
  kubectl kadalu storage-expand pool2 --path kube2:/data/pool2 --wait

  # The grown object, checked against the cluster, without changing it
  kubectl kadalu storage-expand pool1 --path kube4:/data/b --path kube5:/data/b --path kube6:/data/b --dry-run -o yaml`,
  );
  return command.action(async (name: string, _opts: unknown, cmd: Command) => {
    const raw = cmd.optsWithGlobals<RawOptions>();
    const given = parseUnits(name, raw.namespace, units.splice(0));
    await run(
      {
        name,
        units: given,
        force: Boolean(raw.force),
        global: raw,
        dryRun: dryRunOf(raw),
        output: raw.output,
        yes: Boolean(raw.yes || raw.scriptMode),
        wait: Boolean(raw.wait),
        timeoutMs: parseDuration("--timeout", raw.timeout),
      },
      deps,
    );
  });
}
