/** `uninstall`: removes what install created, keeping pool definitions unless --purge; refuses while pools exist. */
import { Command } from "commander";
import { ClusterError, UsageError } from "../../core/errors.js";
import { KADALU_CRD_NAME } from "../../core/manifests/crd.js";
import { installPlan, planObjects } from "../../core/manifests/index.js";
import { poolPath, type KubeObject } from "../../core/kube-vocabulary.js";
import { MONITORING_API } from "../../core/manifests/monitoring.js";
import { resolveInstallOptions } from "../../core/manifests/options.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { KADALU_API_VERSION, KADALU_FINALIZER, KADALU_KIND, type KadaluStorage } from "../../core/pool/types.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addYesFlag, type GlobalOptions } from "../flags.js";
import { objectRef } from "../install/apply.js";
import { eventRenderer } from "../install/events.js";
import { confirmOrRefuse } from "../prompt.js";
import { describeOrphans, findOrphans, orphanCount, orphanSummary, type Orphans } from "../uninstall/orphans.js";
import { counted } from "../../core/words.js";
import { SNAPSHOT_API, SNAPSHOT_CRD_NAMES } from "../../core/manifests/snapshots.js";
import { servesSnapshotContents, snapshotSupport } from "../install/snapshot-support.js";

const ALLOW_ORPHANS = "--allow-orphans";
const NO_ORPHANS: Orphans = { bound: [], storageClasses: [], archived: [] };

interface RawOptions extends GlobalOptions {
  dryRun?: boolean;
  yes?: boolean;
  scriptMode?: boolean;
  force?: boolean;
  purge?: boolean;
  allowOrphans?: boolean;
}

export interface UninstallOptions {
  global: GlobalOptions;
  namespace: string;
  dryRun: boolean;
  yes: boolean;
  force: boolean;
  purge: boolean;
  allowOrphans: boolean;
}

export function complete(raw: RawOptions): UninstallOptions {
  return {
    global: raw,
    namespace: raw.namespace,
    dryRun: Boolean(raw.dryRun),
    yes: Boolean(raw.yes || raw.scriptMode),
    force: Boolean(raw.force),
    purge: Boolean(raw.purge),
    allowOrphans: Boolean(raw.allowOrphans),
  };
}

/** What goes, in reverse install order; the CRD, the kadalu-info ConfigMap and the namespace only with --purge. */
export function removalList(namespace: string, purge: boolean): KubeObject[] {
  const objects = planObjects(
    installPlan(resolveInstallOptions({ namespace, version: PLUGIN_VERSION, serviceMonitor: true, snapshotController: true })),
  ).reverse();
  const kept = (object: KubeObject): boolean =>
    object.kind === "Namespace" || object.kind === "CustomResourceDefinition" || object.kind === "SecurityContextConstraints";
  const removed = objects.filter((object) => !kept(object));
  if (!purge) return removed;
  const configMap: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: INFO_CONFIGMAP, namespace } };
  const crd = objects.find((object) => object.kind === "CustomResourceDefinition" && object.metadata.name === KADALU_CRD_NAME)!;
  const ns = objects.find((object) => object.kind === "Namespace")!;
  return [...removed, configMap, crd, ns];
}

/**
 * --purge: the snapshot CRDs install added (they carry our label), unless snapshots still exist: deleting a
 * CRD deletes every object of its kind, and with the snapshot-controller gone their finalizers would hold
 * the CRDs in Terminating. Kept CRDs are said on stderr.
 */
async function ownSnapshotCrds(kube: Kube, namespace: string, io: Deps["io"]): Promise<KubeObject[]> {
  if (!(await servesSnapshotContents(kube))) return [];
  const support = await snapshotSupport(kube, namespace);
  if (support.crds !== "ours") return [];
  const contents = await kube.listObjects(SNAPSHOT_API, "VolumeSnapshotContent");
  if (contents.length > 0) {
    io.err.write(
      `keeping the snapshot CRDs: ${counted(contents.length, "VolumeSnapshotContent")} still exist (${contents
        .slice(0, 5)
        .map((c) => c.metadata.name)
        .join(", ")}); delete their VolumeSnapshots, then kubectl delete crd ${SNAPSHOT_CRD_NAMES.join(" ")}\n`,
    );
    return [];
  }
  return SNAPSHOT_CRD_NAMES.map((name) => ({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name } }));
}

async function existingPools(kube: Kube): Promise<string[]> {
  const crd = await kube.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", KADALU_CRD_NAME);
  if (!crd) return [];
  const pools = await kube.listObjects(KADALU_API_VERSION, KADALU_KIND);
  return pools.map((pool) => `${pool.metadata.namespace}/${pool.metadata.name}`);
}

/**
 * Lets the pools go with the CRD: the operator, deleted before it, can no longer remove its finalizer,
 * and without this every pool, the CRD and the namespace would stay Terminating for good.
 */
async function releasePools(kube: Kube, io: Deps["io"]): Promise<void> {
  const crd = await kube.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", KADALU_CRD_NAME);
  if (!crd) return;
  for (const pool of (await kube.listObjects(KADALU_API_VERSION, KADALU_KIND)) as unknown as KadaluStorage[]) {
    const finalizers = pool.metadata.finalizers ?? [];
    if (!finalizers.includes(KADALU_FINALIZER)) continue;
    await kube.mergePatch(
      poolPath(pool),
      { metadata: { finalizers: finalizers.filter((name) => name !== KADALU_FINALIZER), resourceVersion: pool.metadata.resourceVersion } },
      `cannot remove the finalizer of kadalustorage "${pool.metadata.name}"`,
    );
    io.err.write(`kadalustorage/${pool.metadata.name} in ${pool.metadata.namespace}: finalizer removed (the operator is gone)\n`);
  }
}

/** Deletes `object`; one whose kind the cluster does not serve (no Prometheus Operator) was never there. */
async function deleteIfServed(kube: Kube, object: KubeObject): Promise<boolean> {
  if (object.apiVersion === MONITORING_API) {
    try {
      await kube.resourceOf(object.apiVersion, object.kind);
    } catch {
      return false;
    }
  }
  return kube.deleteObject(object);
}

/** The objects of `objects` that exist, found with one list per kind (a kind the cluster does not serve has none). */
async function existing(kube: Kube, objects: KubeObject[]): Promise<KubeObject[]> {
  const lists = new Map<string, Promise<Set<string>>>();
  const key = (object: KubeObject): string => `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ""}`;
  for (const object of objects) {
    if (lists.has(key(object))) continue;
    const names = kube
      .listObjects(object.apiVersion, object.kind, object.metadata.namespace)
      .then((items) => new Set(items.map((item) => item.metadata.name)))
      .catch((error: unknown) => {
        if (object.apiVersion === MONITORING_API) return new Set<string>();
        throw error;
      });
    lists.set(key(object), names);
  }
  const found = await Promise.all(objects.map(async (object) => ((await lists.get(key(object)))!.has(object.metadata.name) ? [object] : [])));
  return found.flat();
}

function refusalOf(pools: string[], options: UninstallOptions): string | undefined {
  if (pools.length === 0 || options.force) return undefined;
  return `refusing to uninstall while storage pools exist: ${pools.join(", ")}; remove them first (${pools
    .slice(0, 5)
    .map((pool) => `kubectl kadalu storage-remove ${pool.split("/")[1]} -n ${pool.split("/")[0]}`)
    .join("; ")}${pools.length > 5 ? "; ..." : ""}), or pass --force to uninstall anyway (their data stays on the bricks)`;
}

async function dryRun(kube: Kube, objects: KubeObject[], orphans: Orphans, refusal: string | undefined, io: Deps["io"]): Promise<void> {
  const present = await existing(kube, objects);
  // The plan is the dry run's answer: on stdout, as install --dry-run prints its plan.
  io.out.write(present.map((object) => `${objectRef(object)} would be deleted\n`).join(""));
  io.err.write(describeOrphans(orphans));
  if (orphanCount(orphans) > 0) io.err.write(`a real run asks a second confirmation to leave them (with --yes, pass ${ALLOW_ORPHANS})\n`);
  if (refusal) {
    io.out.write(`dry run: uninstall would be refused as things stand; with --force, ${present.length} objects would be deleted; nothing was sent\n`);
    throw new ClusterError(refusal);
  }
  io.out.write(`dry run: ${present.length} objects would be deleted; nothing was sent\n`);
}

/** The second, explicit confirmation to leave orphans behind: a prompt naming the count, or --allow-orphans with --yes. */
async function confirmOrphans(orphans: Orphans, options: UninstallOptions, deps: Deps): Promise<boolean> {
  const count = orphanCount(orphans);
  if (count === 0 || options.allowOrphans) return true;
  const what = `${counted(count, "object")} (${orphanSummary(orphans)})`;
  if (options.yes)
    throw new UsageError(
      `refusing to purge: it would leave ${what} behind; delete the PVCs and pools first, or pass ${ALLOW_ORPHANS} with --yes to leave them`,
    );
  return deps.confirm(`Leave these ${what} behind for good? Nothing will serve or remove them.`);
}

export async function run(options: UninstallOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const pools = await existingPools(kube);
  const refusal = refusalOf(pools, options);
  if (refusal && !options.dryRun) throw new ClusterError(refusal);
  const base = removalList(options.namespace, options.purge);
  // Before the namespace, which goes last.
  const objects = options.purge ? [...base.slice(0, -1), ...(await ownSnapshotCrds(kube, options.namespace, io)), ...base.slice(-1)] : base;
  const orphans = options.purge ? await findOrphans(kube, options.namespace) : NO_ORPHANS;
  if (options.dryRun) return dryRun(kube, objects, orphans, refusal, io);
  const present = await existing(kube, objects);
  io.err.write(describeOrphans(orphans));
  const question = options.purge
    ? `Uninstall Kadalu from namespace "${options.namespace}" and purge it: this deletes the KadaluStorage CRD with every pool definition${pools.length ? ` (${pools.join(", ")})` : ""}, the kadalu-info ConfigMap (pool layouts and volume ids) and namespace "${options.namespace}". Brick data stays on the nodes, but Kadalu will no longer know it. Continue?`
    : `Uninstall Kadalu from namespace "${options.namespace}" (${counted(present.length, "object")}; the CRD, pool definitions and kadalu-info stay)?`;
  if (!(await confirmOrRefuse(question, { yes: options.yes, io, confirm: deps.confirm })) || !(await confirmOrphans(orphans, options, deps))) {
    io.err.write("cancelled: nothing was deleted\n");
    return;
  }
  const renderer = eventRenderer(io);
  let deleted = 0;
  try {
    for (const object of objects) {
      if (object.kind === "CustomResourceDefinition") await releasePools(kube, io);
      const existed = await deleteIfServed(kube, object);
      if (existed) deleted += 1;
      // Objects never made (a ServiceMonitor without Prometheus' operator) are no news, as with kubectl's --ignore-not-found.
      if (existed || options.global.verbose) renderer.sink({ type: "deleted", object: objectRef(object), existed, dryRun: false });
    }
  } finally {
    renderer.close();
  }
  io.out.write(
    `Kadalu uninstalled from namespace "${options.namespace}": ${counted(deleted, "object")} deleted${options.purge ? ", CRD and pool configuration purged" : ""}\n`,
  );
}

export function uninstallCommand(deps: Deps): Command {
  const command = new Command("uninstall")
    .description("Remove the Kadalu operator and CSI driver (pool definitions stay unless --purge)")
    .option("--dry-run", "print what would be deleted, without deleting")
    .option("--force", "uninstall even while storage pools exist")
    .option("--purge", "also delete the CRD (every pool definition), the kadalu-info ConfigMap and the namespace")
    .option(
      ALLOW_ORPHANS,
      "with --purge: leave bound PVs, kadalu.* StorageClasses and archived PVs behind without the second confirmation (needed with --yes)",
    );
  addYesFlag(command);
  command.addHelpText(
    "after",
    `
Examples:
  kubectl kadalu uninstall --dry-run
  kubectl kadalu uninstall --yes
  kubectl kadalu uninstall --purge
  kubectl kadalu uninstall --purge --yes --allow-orphans`,
  );
  return command.action(async (_opts: unknown, cmd: Command) => {
    await run(complete(cmd.optsWithGlobals<RawOptions>()), deps);
  });
}
