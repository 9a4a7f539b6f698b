/**
 * `storage-replace POOL UNIT --path|--device|--pvc NEW`: one storage unit of a replicated or dispersed pool
 * swapped for another in place, checked as storage-add checks a unit, refused while its group could not
 * spare the brick, previewed, confirmed, sent; `--wait` follows the new brick until its heal is done.
 */
import { Command } from "commander";
import { AlreadyReported, ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { EXIT_INTERRUPTED } from "../../core/exit-codes.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { dns1123SubdomainError, poolNameError, serverPodName } from "../../core/naming.js";
import { unitFromText, type UnitArgument } from "../../core/pool/build.js";
import { unitsInUseProblems, unitLabel } from "../../core/pool/placement.js";
import { groupOf, healProblem, planReplacement, quorumProblem, type Replacement } from "../../core/pool/replace.js";
import type { KadaluStorage, StorageUnit } from "../../core/pool/types.js";
import { validatePool } from "../../core/pool/validate.js";
import { isReady, type PodView } from "../../core/upgrade/switch-over.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addDryRunFlag, addOutputFlag, addWaitFlags, addYesFlag, dryRunOf, DEFAULT_NAMESPACE, type DryRun, type GlobalOptions } from "../flags.js";
import { formatObject, OBJECT_FORMATS, type ObjectFormat } from "../io.js";
import { HEAL_INFO } from "../pools/heals.js";
import { SandboxLimit, sandboxAware } from "../sandbox.js";
import { NODEPLUGIN_SELECTOR, nodepluginPods } from "../pools/node-devices.js";
import { poolNotFound } from "../pools/require-pool.js";
import { confirmOrRefuse } from "../prompt.js";
import { untilInterrupted } from "../watch.js";
import { followReplacement } from "./storage-replace-wait.js";
import { checkDevices, checkReferences, usedUnits, valueOf, type PoolWriteFlags } from "./storage-add.js";

export const SERVER_PODS_SELECTOR = "app.kubernetes.io/component=server";

export interface StorageReplaceOptions {
  name: string;
  /** The unit to replace, as the user named it: NODE:PATH or a PVC. */
  from: string;
  unit: StorageUnit;
  force: boolean;
  global: GlobalOptions;
  dryRun: DryRun;
  output?: ObjectFormat;
  yes: boolean;
  wait: boolean;
  timeoutMs: number;
}

/** The arguments on their own (names, the one new unit's form) before the cluster is asked anything. */
export function parseReplacement(name: string, namespace: string, from: string, given: UnitArgument[]): StorageUnit {
  const nameError = poolNameError(name);
  if (nameError) throw new UsageError(`pool name "${name}" ${nameError}`);
  if (given.length !== 1) {
    throw new UsageError(`give the one storage unit that replaces ${from} with --device, --path or --pvc${given.length > 1 ? ` (got ${given.length})` : ""}`);
  }
  const colon = from.indexOf(":");
  if (colon < 0 && dns1123SubdomainError(from))
    throw new UsageError(`storage unit "${from}" must be NODE:PATH (a directory or device of the pool) or the name of a PVC it uses`);
  const unit = unitFromText(given[0]!.kind, given[0]!.text);
  const alone: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name, namespace },
    spec: { type: "Replica1", storage: [unit] },
  };
  const problems = validatePool(alone).filter((found) => found.field.startsWith("spec.storage["));
  if (problems.length > 0) throw UsageError.fromProblems(problems);
  return unit;
}

/**
 * Its own group, once the swap is under way: the brick is down, the others must carry on, and none may be the
 * only good copy of a file. `pool` is the pool as it is: its units are named as they are now.
 */
async function checkGroup(kube: Kube, pool: KadaluStorage, index: number, pods: PodView[]): Promise<void> {
  const name = pool.metadata.name;
  const byName = new Map(pods.map((pod) => [pod.metadata?.name ?? "", pod]));
  const ready = (brick: number): boolean => isReady(byName.get(serverPodName(name, brick)));
  const quorum = quorumProblem(pool, index, ready);
  if (quorum) throw new ClusterError(quorum);
  const { start, end } = groupOf(pool, index);
  const asked = [...Array(end - start).keys()].map((offset) => start + offset).find((brick) => ready(brick));
  if (asked === undefined) return;
  const pod = serverPodName(name, asked);
  const result = await sandboxAware(kube, "storage-replace", "checks the group's pending heals in its server pods first", () =>
    kube.exec(pool.metadata.namespace!, pod, "server", [HEAL_INFO, name]),
  ).catch((error: Error) => {
    if (error instanceof SandboxLimit) throw error;
    throw new ClusterError(`cannot check the pending heals of pool "${name}" in ${pod}: ${error.message}`);
  });
  if (result.exitCode !== 0) {
    throw new ClusterError(
      `cannot check the pending heals of pool "${name}": ${HEAL_INFO} in ${pod} failed (exit ${result.exitCode}): ${result.stderr.toString().trim() || "no message"}`,
    );
  }
  const healing = healProblem(pool, index, result.stdout.toString("utf8"));
  if (healing) throw new ClusterError(healing);
}

/** The pool and everything the replacement is checked against, read at once; refusals before anything is written. */
async function plan(kube: Kube, options: StorageReplaceOptions, io: Deps["io"]): Promise<{ replacement: Replacement; before: StorageUnit[] }> {
  const { name, unit } = options;
  const namespace = options.global.namespace;
  const added: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name, namespace },
    spec: { type: "Replica1", storage: [unit] },
  };
  // allSettled: no request is left running when one fails.
  const [pool, pools, info, references, servers, nodeplugins] = await Promise.allSettled([
    kube.getPool(namespace, name),
    kube.listPools(namespace),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
    checkReferences(kube, added),
    kube.listPods(namespace, SERVER_PODS_SELECTOR),
    unit.device ? kube.listPods(namespace, NODEPLUGIN_SELECTOR) : Promise.resolve([]),
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
  const replacement = planReplacement(existing, options.from, unit, options.force);
  if (replacement.problems.length > 0) throw UsageError.fromProblems(replacement.problems);
  valueOf(references);
  const inUse = unitsInUseProblems(added, usedUnits(valueOf(pools), valueOf(info)));
  if (inUse.length > 0) throw UsageError.fromProblems(inUse);
  if (unit.device) await checkDevices(kube, added, nodepluginPods(valueOf(nodeplugins) as PodView[]), io);
  await checkGroup(kube, existing, replacement.index, valueOf(servers) as PodView[]);
  return { replacement, before: existing.spec.storage };
}

function preview(plan: Replacement, from: StorageUnit): string {
  const { replaced: pool, index } = plan;
  const { group, size } = groupOf(pool, index);
  const kind = pool.spec.type === "Disperse" ? "disperse" : "replica";
  return [
    `Storage pool "${pool.metadata.name}" (${pool.spec.type}) in namespace "${pool.metadata.namespace}": storage unit ${index + 1} of ${kind} group ${group + 1} moves`,
    `  from ${unitLabel(from)}`,
    `  to   ${unitLabel(pool.spec.storage[index]!)}`,
    `Its brick (${serverPodName(pool.metadata.name, index)}) restarts on the new unit, empty, and heals from the other ${size - 1} of its group;`,
    `the data on ${unitLabel(from)} is left as it is (see README.md#storage-replace).`,
    "",
  ].join("\n");
}

async function send(kube: Kube, plan: Replacement, before: StorageUnit[], serverDryRun: boolean): Promise<KadaluStorage> {
  const { replaced } = plan;
  try {
    return await kube.setPoolStorage(replaced, before, replaced.spec.storage, serverDryRun);
  } catch (error) {
    const { name } = replaced.metadata;
    // A failed JSON patch `test` is a 422, as a refused value is: the units as they are now tell which.
    const status = (error as ClusterError).status;
    const unitsNow =
      status === 422
        ? await kube.getPool(replaced.metadata.namespace ?? "", name).then(
            (pool) => pool?.spec.storage,
            () => undefined,
          )
        : undefined;
    if (status === 409 || (unitsNow && JSON.stringify(unitsNow) !== JSON.stringify(before))) {
      throw new ClusterError(`storage pool "${name}" changed while this command ran, so nothing was changed; run the same command again`, 409);
    }
    throw error;
  }
}

export async function run(options: StorageReplaceOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const { replacement, before } = await plan(kube, options, io);
  const { replaced, index } = replacement;
  const name = replaced.metadata.name;
  const from = before[index]!;
  if (options.dryRun === "client") {
    io.out.write(formatObject(replaced, options.output ?? "yaml"));
    io.err.write(
      `dry run: storage unit ${index + 1} of pool "${name}" would move from ${unitLabel(from)} to ${unitLabel(options.unit)}; nothing was changed\n`,
    );
    return;
  }
  // The preview goes to stderr with the prompt: a script reading stdout gets only what was changed.
  if (!options.output) io.err.write(preview(replacement, from));
  if (
    options.dryRun === "none" &&
    !(await confirmOrRefuse(`Replace storage unit ${index + 1} of pool "${name}"?`, { yes: options.yes, io, confirm: deps.confirm }))
  ) {
    io.err.write("cancelled: nothing was changed\n");
    return;
  }
  const sent = await send(kube, replacement, before, options.dryRun === "server");
  if (options.output) io.out.write(formatObject(sent, options.output));
  else
    io.out.write(
      `kadalustorage.kadalu-operator.storage/${name} storage unit ${index + 1} replaced: ${unitLabel(from)} -> ${unitLabel(options.unit)}${options.dryRun === "server" ? " (server dry run)" : ""}\n`,
    );
  if (!options.wait || options.dryRun === "server") return;
  const interrupt = untilInterrupted();
  try {
    await followReplacement(kube, io, {
      pool: sent,
      index,
      timeoutMs: options.timeoutMs,
      stop: interrupt.asked.then(() => new AlreadyReported(EXIT_INTERRUPTED)),
    });
  } catch (error) {
    const namespaceFlag = sent.metadata.namespace === DEFAULT_NAMESPACE ? "" : ` -n ${sent.metadata.namespace}`;
    if (interrupt.requested)
      io.err.write(
        `interrupted: pool "${name}" has its new storage unit and its brick goes on healing; follow it with: kubectl kadalu healinfo ${name}${namespaceFlag}\n`,
      );
    throw error;
  } finally {
    interrupt.dispose();
  }
}

export function storageReplaceCommand(deps: Deps): Command {
  const units: UnitArgument[] = [];
  const unit =
    (kind: UnitArgument["kind"]) =>
    (value: string): string => {
      units.push({ kind, text: value });
      return value;
    };
  const command = new Command("storage-replace")
    .summary("Move one storage unit of a replicated or dispersed pool to another node, directory, device or PVC")
    .description(
      "Move one storage unit of a replicated or dispersed pool to another node, directory, device or PVC. The unit keeps its place in the pool: its brick restarts on the new unit, empty, and Gluster heals it from the other bricks of its group. Refused while another brick of that group is down or still healing.",
    )
    .argument("<pool>", "the pool")
    .argument("<unit>", "the storage unit to replace: NODE:PATH (its directory or device, as storage-list shows it) or its PVC")
    .option("--device <node:device>", "the new unit: a block device (or file) on a node", unit("device"))
    .option("--path <node:dir>", "the new unit: an existing directory on a node", unit("path"))
    .option("--pvc <name>", "the new unit: an existing PVC in the Kadalu namespace", unit("pvc"))
    .option("--force", "allow the new unit on a node that already holds a unit of the same group");
  addOutputFlag(command, OBJECT_FORMATS, "print only the changed object");
  addDryRunFlag(
    command,
    "check against the cluster and print the changed pool, changing nothing (=client); --dry-run=server also lets the API server validate the change",
  );
  addYesFlag(command);
  addWaitFlags(command, "the new brick runs on the new unit and has healed");
  command.addHelpText(
    "after",
    `
Examples:
  # A failed disk of a Replica3 pool, replaced by a disk on another node
  kubectl kadalu storage-replace pool1 kube3:/dev/sdb --device kube4:/dev/sdb

  # A brick directory moved to a new disk's mount on the same node, waiting for the heal
  kubectl kadalu storage-replace pool2 kube2:/data/pool2 --path kube2:/mnt/new/pool2 --wait

  # The changed object, checked against the cluster, without changing it
  kubectl kadalu storage-replace pool1 kube3:/dev/sdb --device kube4:/dev/sdb --dry-run -o yaml`,
  );
  return command.action(async (name: string, from: string, _opts: unknown, cmd: Command) => {
    const raw = cmd.optsWithGlobals<PoolWriteFlags>();
    const given = parseReplacement(name, raw.namespace, from, units.splice(0));
    await run(
      {
        name,
        from,
        unit: given,
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
