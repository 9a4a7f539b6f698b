/**
 * Kadalu's own programs on the real tier, each with its own ServiceAccount's token and configured from
 * what `install` rendered: the operator (env of its Deployment), the CSI provisioner in a mount namespace
 * of its own with real Gluster, and the real csi-provisioner and csi-resizer sidecars (args of the
 * provisioner StatefulSet) on its socket.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runBin, type CliResult } from "../helpers/cli.js";
import { CSI_IMAGE_PROGRAMS } from "../helpers/pools.js";
import type { RealCluster } from "./cluster.js";
import { freePort } from "./cluster.js";
import { syncConfigMapVolume } from "../sandbox/configmap-volume.js";
import type { KubernetesParts } from "./components.js";
import { startContained, type Contained } from "./namespace.js";
import type { NodeAgent } from "./node-agent.js";
import type { Started } from "./processes.js";
import { waitUntil } from "./processes.js";

export const BIN = {
  operator: fileURLToPath(new URL("../../bin/kadalu-operator", import.meta.url)),
  csi: fileURLToPath(new URL("../../bin/kadalu-csi", import.meta.url)),
};

export type { CliResult };

/** The story's three nodes, each with a brick directory of pool1. */
export const STORY_NODES = ["kube1", "kube2", "kube3"];

/** `storage-add` of the story's pool1: Replica3 on a directory of each of the three nodes, waited for. */
export const ADD_STORY_POOL = [
  "storage-add",
  "pool1",
  "--type",
  "Replica3",
  ...STORY_NODES.flatMap((node) => ["--path", `${node}:/data/pool1`]),
  "--yes",
  "--wait",
  "--timeout",
  "90s",
];

/**
 * Runs `kubectl kadalu ARGS` (the built CLI) with a kubeconfig. Asynchronous: the node agent and the
 * ConfigMap sync of this process keep working while the command waits.
 */
export function kadalu(kubeconfig: string, args: string[], input?: string): Promise<CliResult> {
  return runBin(args, { KUBECONFIG: kubeconfig, NO_COLOR: "1", KUBECTL_KADALU_NO_CODE_CACHE: "1" }, input);
}

type EnvVar = { name: string; value?: string };
type Container = { name: string; args?: string[]; env?: EnvVar[] };

function containersOf(workload: any): Container[] {
  return workload.spec.template.spec.containers;
}

function plainEnv(container: Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
}

/** Starts the operator program with these arguments and environment (by default the repository's binary). */
export type StartOperatorProgram = (cluster: RealCluster, args: string[], env: Record<string, string>) => Started;

const operatorBinary: StartOperatorProgram = (cluster, args, env) =>
  cluster.processes.start("kadalu-operator", process.execPath, [BIN.operator, ...args], { ...process.env, ...env });

/** The operator, out of cluster, as its Deployment configures it, with the operator ServiceAccount's token. */
export async function startOperator(
  cluster: RealCluster,
  namespace = "kadalu",
  start: StartOperatorProgram = operatorBinary,
): Promise<Started & { metricsPort: number }> {
  const deployment = await cluster.admin.get(`/apis/apps/v1/namespaces/${namespace}/deployments/operator`);
  const container = containersOf(deployment)[0]!;
  const kubeconfig = await cluster.serviceAccountKubeconfig(namespace, "kadalu-operator");
  const env = { ...plainEnv(container), KADALU_NAMESPACE: namespace, RESYNC_SECONDS: "30" };
  // Its own ports: the operator and the provisioner share this machine's network (in pods, each has its own).
  const metricsPort = await freePort();
  const operator = start(cluster, ["--kubeconfig", kubeconfig, "--health-port", String(await freePort()), "--metrics-port", String(metricsPort)], env);
  await waitUntil(`the operator to start\n${operator.tail()}`, () => operator.tail(50).includes("watching KadaluStorage") || undefined, 30_000);
  return Object.assign(operator, { metricsPort });
}

export interface RunningProvisioner {
  csi: Contained;
  socket: string;
  /** Where kadalu-csi serves /metrics (the StatefulSet's --metrics-port, moved to a free port). */
  metricsPort: number;
  provisioner: Started;
  resizer: Started;
  stop(): Promise<void>;
}

/**
 * The CSI provisioner pod's three containers as local processes: kadalu-csi (role provisioner) in its own
 * mount namespace, csi-provisioner and csi-resizer with the args the StatefulSet gives them. `hosts` maps
 * brick host names to addresses; `agent` serves `kubectl exec` into the kadalu-provisioner container.
 */
export async function startProvisioner(
  cluster: RealCluster,
  parts: KubernetesParts,
  agent: NodeAgent,
  hosts: Record<string, string>,
  namespace = "kadalu",
): Promise<RunningProvisioner> {
  const statefulSet = await cluster.admin.get(`/apis/apps/v1/namespaces/${namespace}/statefulsets/kadalu-csi-provisioner`);
  const kubeconfig = await cluster.serviceAccountKubeconfig(namespace, "kadalu-csi-provisioner");
  const infoDir = join(cluster.dir, "kadalu-info");
  const stopInfo = syncConfigMapVolume(async () => (await cluster.admin.find(`/api/v1/namespaces/${namespace}/configmaps/kadalu-info`))?.data, infoDir, 200);
  const socket = join(cluster.dir, "csi-provisioner.sock");
  const kadaluContainer = containersOf(statefulSet).find((c) => c.name === "kadalu-provisioner")!;
  const metricsPort = await freePort();
  const args = (kadaluContainer.args ?? []).map((arg) => (arg.startsWith("--metrics-port=") ? `--metrics-port=${metricsPort}` : arg));
  const csi = startContained(
    cluster.processes,
    "kadalu-provisioner",
    cluster.dir,
    hosts,
    process.execPath,
    [BIN.csi, "--endpoint", `unix://${socket}`, "--node-id", "kube1", "--info-dir", infoDir, "--kubeconfig", kubeconfig, ...args],
    { ...process.env, ...plainEnv(kadaluContainer), CSI_ENDPOINT: `unix://${socket}`, KADALU_NAMESPACE: namespace },
  );
  await waitUntil(`kadalu-csi to serve\n${csi.process.tail()}`, () => csi.process.tail(5000).includes("serving on") || undefined, 30_000);
  agent.onExec(namespace, "kadalu-csi-provisioner-0", "kadalu-provisioner", csi.execHandler(CSI_IMAGE_PROGRAMS));
  const sidecar = (name: "csi-provisioner" | "csi-resizer"): Started => {
    const container = containersOf(statefulSet).find((c) => c.name === name)!;
    const args = (container.args ?? []).map((arg) => arg.replace("$(ADDRESS)", socket));
    return cluster.processes.start(name, parts.bins[name], [...args, "--kubeconfig", kubeconfig]);
  };
  const provisioner = sidecar("csi-provisioner");
  const resizer = sidecar("csi-resizer");
  return {
    csi,
    socket,
    metricsPort,
    provisioner,
    resizer,
    async stop() {
      await cluster.processes.stop(resizer);
      await cluster.processes.stop(provisioner);
      await cluster.processes.stop(csi.process);
      await stopInfo();
    },
  };
}
