/** `uninstall`: removes what install created, keeping pool definitions unless --purge; refuses while pools exist. */
import { Command } from "commander";
import { ClusterError } from "../../core/errors.js";
import { KADALU_CRD_NAME } from "../../core/manifests/crd.js";
import { installPlan, planObjects, type KubeObject } from "../../core/manifests/index.js";
import { MONITORING_API } from "../../core/manifests/monitoring.js";
import { resolveInstallOptions } from "../../core/manifests/options.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { KADALU_API_VERSION, KADALU_KIND } from "../../core/pool/types.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { AnyObject, Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addYesFlag, type GlobalOptions } from "../flags.js";
import { objectRef } from "../install/apply.js";
import { eventRenderer } from "../install/events.js";
import { confirmOrRefuse } from "../prompt.js";

interface RawOptions extends GlobalOptions {
  dryRun?: boolean;
  yes?: boolean;
  scriptMode?: boolean;
  force?: boolean;
  purge?: boolean;
}

export interface UninstallOptions {
  global: GlobalOptions;
  namespace: string;
  dryRun: boolean;
  yes: boolean;
  force: boolean;
  purge: boolean;
}

export function complete(raw: RawOptions): UninstallOptions {
  return { global: raw, namespace: raw.namespace, dryRun: Boolean(raw.dryRun), yes: Boolean(raw.yes || raw.scriptMode), force: Boolean(raw.force), purge: Boolean(raw.purge) };
}

/** What goes, in reverse install order; the CRD, the kadalu-info ConfigMap and the namespace only with --purge. */
export function removalList(namespace: string, purge: boolean): KubeObject[] {
  const objects = planObjects(installPlan(resolveInstallOptions({ namespace, version: PLUGIN_VERSION, serviceMonitor: true }))).reverse();
  const kept = (object: KubeObject): boolean => object.kind === "Namespace" || object.kind === "CustomResourceDefinition" || object.kind === "SecurityContextConstraints";
  const removed = objects.filter((object) => !kept(object));
  if (!purge) return removed;
  const configMap: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: INFO_CONFIGMAP, namespace } };
  const crd = objects.find((object) => object.kind === "CustomResourceDefinition")!;
  const ns = objects.find((object) => object.kind === "Namespace")!;
  return [...removed, configMap, crd, ns];
}

async function existingPools(kube: Kube): Promise<string[]> {
  const crd = await kube.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", KADALU_CRD_NAME);
  if (!crd) return [];
  const pools = await kube.listObjects(KADALU_API_VERSION, KADALU_KIND);
  return pools.map((pool) => `${pool.metadata.namespace}/${pool.metadata.name}`);
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
  return kube.deleteObject(object as AnyObject);
}

export async function run(options: UninstallOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const pools = await existingPools(kube);
  if (pools.length > 0 && !options.force) {
    throw new ClusterError(`refusing to uninstall while storage pools exist: ${pools.join(", ")}; remove them first (kubectl kadalu storage-remove NAME), or pass --force to uninstall anyway (their data stays on the bricks)`);
  }
  const objects = removalList(options.namespace, options.purge);
  if (!options.dryRun) {
    const question = options.purge
      ? `Uninstall Kadalu from namespace "${options.namespace}" and purge it: this deletes the KadaluStorage CRD with every pool definition${pools.length ? ` (${pools.join(", ")})` : ""}, the kadalu-info ConfigMap (pool layouts and volume ids) and namespace "${options.namespace}". Brick data stays on the nodes, but Kadalu will no longer know it. Continue?`
      : `Uninstall Kadalu from namespace "${options.namespace}" (${objects.length} objects; the CRD, pool definitions and kadalu-info stay)?`;
    if (!(await confirmOrRefuse(question, { yes: options.yes, io, confirm: deps.confirm }))) {
      io.err.write("cancelled: nothing was deleted\n");
      return;
    }
  }
  const renderer = eventRenderer(io);
  let deleted = 0;
  try {
    for (const object of objects) {
      if (options.dryRun) {
        renderer.sink({ type: "deleted", object: objectRef(object), existed: true, dryRun: true });
        continue;
      }
      const existed = await deleteIfServed(kube, object);
      if (existed) deleted += 1;
      renderer.sink({ type: "deleted", object: objectRef(object), existed, dryRun: false });
    }
  } finally {
    renderer.close();
  }
  if (options.dryRun) io.out.write(`dry run: ${objects.length} objects would be deleted; nothing was sent\n`);
  else io.out.write(`Kadalu uninstalled from namespace "${options.namespace}": ${deleted} objects deleted${options.purge ? ", CRD and pool configuration purged" : ""}\n`);
}

export function uninstallCommand(deps: Deps): Command {
  const command = new Command("uninstall")
    .description("Remove the Kadalu operator and CSI driver (pool definitions stay unless --purge)")
    .option("--dry-run", "print what would be deleted, without deleting")
    .option("--force", "uninstall even while storage pools exist")
    .option("--purge", "also delete the CRD (every pool definition), the kadalu-info ConfigMap and the namespace");
  addYesFlag(command);
  command.addHelpText("after", `
Examples:
  kubectl kadalu uninstall --dry-run
  kubectl kadalu uninstall --yes
  kubectl kadalu uninstall --purge`);
  return command.action(async (_opts: unknown, cmd: Command) => {
    await run(complete(cmd.optsWithGlobals<RawOptions>()), deps);
  });
}
