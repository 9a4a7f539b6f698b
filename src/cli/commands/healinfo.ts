/** `healinfo`: the Gluster heal report of each replicated pool, run in a Running server pod of that pool. */
import { Command } from "commander";
import { AlreadyReported } from "../../core/errors.js";
import { EXIT_RUNTIME } from "../../core/exit-codes.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal, type PoolInfo } from "../../core/info/codec.js";
import { serverPodName } from "../../core/naming.js";
import type { Kube, Pod } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addPoolSelector, selectedPool, type GlobalOptions } from "../flags.js";
import { formatObject, type ObjectFormat } from "../io.js";
import { PROVISIONER_CONTAINER, PROVISIONER_SELECTOR } from "../pools/report.js";
import { ClusterError } from "../../core/errors.js";
import { HEAL_INFO } from "../pools/heals.js";
import { healRisk, riskLines, type HealRisk } from "../pools/heal-pvs.js";
import { SandboxLimit, sandboxAware } from "../sandbox.js";
import { poolNotFound } from "../pools/require-pool.js";
import { counted } from "../../core/words.js";

interface RawOptions extends GlobalOptions {
  pool?: string;
  name?: string;
  triggerFullHeal?: boolean;
  output?: ObjectFormat;
}

/** One pool's answer: its heal report (or full-heal summary), why it was skipped, or why it failed. */
interface PoolHeal {
  pool: string;
  type: string;
  state: "reported" | "skipped" | "failed";
  message?: string;
  report?: string;
  /** The PVCs its pending entries belong to, when some are pending. */
  atRisk?: HealRisk;
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
  const result = await sandboxAware(kube, "healinfo", "runs Gluster's heal-info in the server pods", () =>
    kube.exec(namespace, running.metadata!.name!, "server", [HEAL_INFO, info.volname]),
  );
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
  const result = await sandboxAware(kube, "healinfo --trigger-full-heal", "looks every file up in the provisioner's Gluster mount", () =>
    kube.exec(namespace, provisioner, PROVISIONER_CONTAINER, ["find", `/mnt/${info.volname}`, "-type", "f", "-printf", "."]),
  );
  if (result.exitCode !== 0) throw new ClusterError(`full heal of "${info.volname}" failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return `looked up ${counted(result.stdout.length, "file")} in pool "${info.volname}"; the self-heal daemons repair what differs\n`;
}

async function healOf(kube: Kube, namespace: string, info: PoolInfo, source: { provisioner?: string; pods: Pod[] }): Promise<PoolHeal> {
  const base = { pool: info.volname, type: info.type };
  const skip = replicated(info);
  if (skip) return { ...base, state: "skipped", message: skip };
  try {
    if (source.provisioner) return { ...base, state: "reported", report: await fullHeal(kube, namespace, source.provisioner, info) };
    const report = await healReport(kube, namespace, info, source.pods);
    const atRisk = isExternal(info) ? undefined : await healRisk(kube, namespace, info, report);
    return { ...base, state: "reported", report, ...(atRisk ? { atRisk } : {}) };
  } catch (error) {
    if (error instanceof SandboxLimit) throw error;
    return { ...base, state: "failed", message: (error as Error).message };
  }
}

export async function run(raw: RawOptions, deps: Deps, pool = selectedPool(undefined, raw)): Promise<void> {
  const { io } = deps;
  const namespace = raw.namespace;
  const kube = await deps.connect(raw);
  const { pools } = decodeKadaluInfo(await kube.readConfigMapData(namespace, INFO_CONFIGMAP));
  const selected = pools.filter((info) => !pool || info.volname === pool);
  if (pool && selected.length === 0)
    throw poolNotFound(
      pool,
      namespace,
      pools.map((p) => p.volname),
    );
  const healable = selected.some((info) => !replicated(info));
  // One pod list for the whole command: the provisioner for a full heal, else the server pods.
  const provisioner = raw.triggerFullHeal && healable ? await runningProvisioner(kube, namespace) : undefined;
  const pods = raw.triggerFullHeal || !healable ? [] : await kube.listPods(namespace, "app.kubernetes.io/component=server");
  const heals: PoolHeal[] = [];
  for (const info of selected) {
    const heal = await healOf(kube, namespace, info, { provisioner, pods });
    heals.push(heal);
    if (heal.state === "failed") io.err.write(`${io.color.red("error:")} ${heal.message}\n`);
    if (raw.output) continue;
    io.out.write(`== ${heal.pool} (${heal.type}) ==\n`);
    if (heal.state === "skipped") io.out.write(`${heal.message}\n\n`);
    if (heal.state === "reported") io.out.write(`${heal.report}${heal.atRisk ? `${riskLines(heal.atRisk).join("\n")}\n` : ""}\n`);
  }
  if (raw.output) io.out.write(formatObject({ pools: heals }, raw.output));
  if (selected.length === 0) io.err.write(`No storage pools in namespace "${namespace}".\n`);
  if (heals.some((heal) => heal.state === "failed")) throw new AlreadyReported(EXIT_RUNTIME);
}

export function healinfoCommand(deps: Deps): Command {
  const command = new Command("healinfo").description("Show Gluster's heal status of replicated pools (run in one of each pool's server pods)");
  addPoolSelector(command, true);
  command.option("--trigger-full-heal", "look up every file through the client mount, so Gluster heals what differs");
  addOutputFlag(command, ["json", "yaml"]);
  return command
    .addHelpText(
      "after",
      "\nExamples:\n  kubectl kadalu healinfo\n  kubectl kadalu healinfo pool1 --trigger-full-heal\n  kubectl kadalu healinfo pool1 -o json",
    )
    .action(async (argument: string | undefined, _opts: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<RawOptions>();
      await run(raw, deps, selectedPool(argument, raw));
    });
}
