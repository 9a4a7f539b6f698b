/**
 * The local sandbox: the Kubernetes API test server with nodes; a kubelet stand-in that reports Kadalu's
 * pods Ready and, when the operator's and the provisioner's pods start, runs the real operator and the
 * real CSI driver (local-directory pools) in this process; the kadalu-info ConfigMap synced into the
 * driver's info directory as a ConfigMap volume is; a provisioning loop in place of the CSI sidecars; and
 * an exec handler that maps the provisioner pod's /mnt/<pool> to the pool directories. No Gluster runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromEnv } from "../../operator/config.js";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import { startCsi, type RunningCsi } from "../../csi/main.js";
import { localDirExec } from "../apiserver/exec.js";
import { ApiServer } from "../apiserver/server.js";
import type { KubeObject } from "../apiserver/store.js";
import { CSI_IMAGE_PROGRAMS } from "../helpers/pools.js";
import { syncConfigMapVolume } from "./configmap-volume.js";
import { startKubelet } from "./kubelet.js";
import { startProvisioningLoop } from "./provisioning-loop.js";

export interface Sandbox {
  server: ApiServer;
  dir: string;
  kubeconfig: string;
  /** The provisioner pod's filesystem: `<this>/mnt/<pool>` is each pool. */
  provisionerRoot: string;
  logs: string[];
  stop(): Promise<void>;
}

const NAMESPACE = "kadalu";

function envOf(pod: KubeObject): NodeJS.ProcessEnv {
  return Object.fromEntries((pod.spec?.containers?.[0]?.env ?? []).filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
}

export async function startSandbox(nodes = ["kube1", "kube2", "kube3"]): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-sandbox-"));
  const server = await ApiServer.start();
  for (const name of nodes) {
    server.seed({
      apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } },
      status: { conditions: [{ type: "Ready", status: "True" }], nodeInfo: { kubeletVersion: "v1.32.0" } },
    });
  }
  const kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "default", context: "kadalu-sandbox" });
  const provisionerRoot = join(dir, "provisioner");
  const socket = join(dir, "csi", "csi.sock");
  const logs: string[] = [];
  const log = (component: string) => (message: string): void => void logs.push(`${component}: ${message}`);
  let operator: RunningOperator | undefined;
  let csi: RunningCsi | undefined;
  let stopInfo: (() => void) | undefined;

  const stopKubelet = startKubelet(server, nodes, {
    async started(pod) {
      try {
        if (pod.metadata.labels?.["app.kubernetes.io/component"] === "operator") {
          const env = envOf(pod);
          operator = await startOperator({
            kubeconfig, log: (level, message) => log("operator")(`${level} ${message}`), health: false,
            config: { ...configFromEnv(env), namespace: NAMESPACE, resyncMs: 5_000, hostCheckTimeoutMs: 500 },
          });
        }
        if (pod.metadata.name === "kadalu-csi-provisioner-0") {
          const infoDir = join(dir, "kadalu-info");
          stopInfo = syncConfigMapVolume(server, NAMESPACE, "kadalu-info", infoDir);
          csi = await startCsi({
            endpoint: `unix://${socket}`, nodeId: pod.spec.nodeName, role: "provisioner", infoDir, mountRoot: join(provisionerRoot, "mnt"),
            poolDirs: new Map(), poolRoot: join(provisionerRoot, "mnt"), kubeconfig, usageDelayMs: 200,
          }, log("csi"));
          server.onExec(NAMESPACE, pod.metadata.name, "kadalu-provisioner", localDirExec(provisionerRoot, CSI_IMAGE_PROGRAMS));
        }
      } catch (error) {
        log("sandbox")(`cannot start ${pod.metadata.name}: ${(error as Error).message}`);
      }
    },
    async stopped(pod) {
      if (pod.metadata.labels?.["app.kubernetes.io/component"] === "operator") {
        await operator?.stop();
        operator = undefined;
      }
      if (pod.metadata.name === "kadalu-csi-provisioner-0") {
        stopInfo?.();
        await csi?.stop();
        csi = undefined;
      }
    },
  });
  const loop = startProvisioningLoop(server, `unix://${socket}`);
  return {
    server, dir, kubeconfig, provisionerRoot, logs,
    async stop() {
      loop.stop();
      await stopKubelet();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
