/** A test cluster: the API test server with nodes, the Kadalu namespace and CRD, and a kubeconfig file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kadaluStorageCrd } from "../../src/core/manifests/crd.js";
import { ApiServer } from "../apiserver/server.js";

export interface TestCluster {
  server: ApiServer;
  kubeconfig: string;
  dir: string;
  stop(): Promise<void>;
}

/** `operator`: Kadalu installed, as far as storage-add looks (the operator's Deployment in each namespace). */
export async function startCluster(options: { nodes?: string[]; crd?: boolean; namespaces?: string[]; operator?: boolean } = {}): Promise<TestCluster> {
  const server = await ApiServer.start({ namespaces: options.namespaces ?? ["kadalu"] });
  for (const name of options.nodes ?? ["kube1", "kube2", "kube3"]) {
    server.seed({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
  }
  if (options.crd ?? true) server.seed(kadaluStorageCrd() as never);
  if (options.operator) {
    for (const namespace of options.namespaces ?? ["kadalu"])
      server.seed({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "operator", namespace },
        spec: {},
        status: { availableReplicas: 1 },
      } as never);
  }
  const dir = mkdtempSync(join(tmpdir(), "kadalu-test-"));
  const kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "default" });
  server.clearRequests();
  return {
    server,
    kubeconfig,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
