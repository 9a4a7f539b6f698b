/**
 * The local sandbox: the Kubernetes API test server with seeded nodes and the Kadalu namespace, and a
 * kubeconfig pointing at it, in a private temp directory that `stop()` removes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiServer } from "../apiserver/server.js";

export interface Sandbox {
  server: ApiServer;
  dir: string;
  kubeconfig: string;
  stop(): Promise<void>;
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
  const kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "kadalu", context: "kadalu-sandbox" });
  return {
    server, dir, kubeconfig,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
