/** `healinfo`: the Gluster heal report of each replicated pool, run in a Running server pod of that pool. */
import { Command } from "commander";
import { AlreadyReported, EXIT_RUNTIME } from "../../core/errors.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal, type PoolInfo } from "../../core/info/codec.js";
import { serverPodName } from "../../core/naming.js";
import type { Kube, Pod } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import type { GlobalOptions } from "../flags.js";
import { PROVISIONER_CONTAINER, PROVISIONER_SELECTOR } from "../pools/report.js";
import { ClusterError } from "../../core/errors.js";
import { HEAL_INFO } from "../pools/heals.js";

interface RawOptions extends GlobalOptions {
  name?: string;
  triggerFullHeal?: boolean;
}

function replicated(info: PoolInfo): string | undefined {
  if (isExternal(info)) return `pool "${info.volname}" is External: its Gluster cluster heals itself`;
  if (info.type === "Replica1") return `pool "${info.volname}" is Replica1: without replicas there is nothing to heal`;
  return undefined;
}

function brickPods(info: PoolInfo, pods: Pod[]): Pod[] {
  if (isExternal(info)) return [];
  const names = info.bricks.map((brick) => serverPodName(info.volname, brick.brick_index));
  return pods.filter((pod) => names.includes(pod.metadata?.name ?? ""));
}

async function healReport(kube: Kube, namespace: string, info: PoolInfo, pods: Pod[]): Promise<string> {
  const candidates = brickPods(info, pods);
  const running = candidates.find((pod) => pod.status?.phase === "Running");
  if (!running) {
    const states = candidates.map((pod) => `${pod.metadata?.name} (${pod.status?.phase ?? "Unknown"})`).join(", ") || "none found";
    throw new ClusterError(`pool "${info.volname}" has no running server pod to ask; its pods: ${states}`);
  }
  const result = await kube.exec(namespace, running.metadata!.name!, "server", [HEAL_INFO, info.volname]);
  if (result.exitCode !== 0) throw new ClusterError(`heal-info failed in ${running.metadata!.name} (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout.toString("utf8");
}

async function runningProvisioner(kube: Kube, namespace: string): Promise<string> {
  const provisioner = (await kube.listPods(namespace, PROVISIONER_SELECTOR)).find((pod) => pod.status?.phase === "Running");
  if (!provisioner) throw new ClusterError(`no running CSI provisioner pod (${PROVISIONER_SELECTOR}) to look every file up from`);
  return provisioner.metadata!.name!;
}

async function fullHeal(kube: Kube, namespace: string, provisioner: string, info: PoolInfo): Promise<string> {
  // A lookup of every file through the client mount is Gluster's client-side full heal (upstream's client_heal.sh).
  const result = await kube.exec(namespace, provisioner, PROVISIONER_CONTAINER, ["find", `/mnt/${info.volname}`, "-type", "f", "-printf", "."]);
  if (result.exitCode !== 0) throw new ClusterError(`full heal of "${info.volname}" failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return `looked up ${result.stdout.length} files in pool "${info.volname}"; the self-heal daemons repair what differs\n`;
}

export async function run(raw: RawOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const namespace = raw.namespace;
  const kube = await deps.connect(raw);
  const { pools } = decodeKadaluInfo(await kube.readConfigMapData(namespace, INFO_CONFIGMAP));
  const selected = pools.filter((pool) => !raw.name || pool.volname === raw.name);
  if (raw.name && selected.length === 0) throw new ClusterError(`storage pool "${raw.name}" not found in namespace "${namespace}"; pools: ${pools.map((p) => p.volname).join(", ") || "none"}`);
  const healable = selected.some((info) => !replicated(info));
  // One pod list for the whole command: the provisioner for a full heal, else the server pods.
  const provisioner = raw.triggerFullHeal && healable ? await runningProvisioner(kube, namespace) : undefined;
  const pods = raw.triggerFullHeal || !healable ? [] : await kube.listPods(namespace, "app.kubernetes.io/component=server");
  let failed = false;
  for (const info of selected) {
    const skip = replicated(info);
    io.out.write(`== ${info.volname} (${info.type}) ==\n`);
    if (skip) {
      io.out.write(`${skip}\n\n`);
      continue;
    }
    try {
      io.out.write(`${provisioner ? await fullHeal(kube, namespace, provisioner, info) : await healReport(kube, namespace, info, pods)}\n`);
    } catch (error) {
      failed = true;
      io.err.write(`${io.color.red("error:")} ${(error as Error).message}\n`);
    }
  }
  if (selected.length === 0) io.err.write(`No storage pools in namespace "${namespace}".\n`);
  if (failed) throw new AlreadyReported(EXIT_RUNTIME);
}

export function healinfoCommand(deps: Deps): Command {
  return new Command("healinfo")
    .description("Show Gluster's heal status of replicated pools (run in one of each pool's server pods)")
    .option("--name <pool>", "only this pool")
    .option("--trigger-full-heal", "look up every file through the client mount, so Gluster heals what differs")
    .addHelpText("after", "\nExamples:\n  kubectl kadalu healinfo\n  kubectl kadalu healinfo --name pool1 --trigger-full-heal")
    .action(async (_opts: unknown, cmd: Command) => run(cmd.optsWithGlobals<RawOptions>(), deps));
}
