/** The harness itself: a real apiserver and controller-manager come up, answer, and leave nothing behind. */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startRealCluster } from "../../harness/real/cluster.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { waitUntil } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

describe.skipIf(noKubernetes)("real cluster harness", () => {
  it("starts etcd, kube-apiserver and kube-controller-manager; a Deployment's pod runs on the node agent; stop removes everything", async () => {
    const cluster = await startRealCluster(kubernetes!);
    const agent = await NodeAgent.start(cluster.admin, ["kube1"], ["default"]);
    try {
      const version = await cluster.admin.get("/version");
      expect(version.gitVersion).toMatch(/^v\d+\./); // built from a vendored tree: v0.0.0-master+<commit>
      await cluster.admin.post("/apis/apps/v1/namespaces/default/deployments", {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "none" }] } },
        },
      });
      const ready = await waitUntil(
        "the Deployment to become available",
        async () => {
          const deployment = await cluster.admin.get("/apis/apps/v1/namespaces/default/deployments/web");
          return (deployment.status?.availableReplicas ?? 0) >= 1 ? deployment : undefined;
        },
        60_000,
        200,
      );
      expect(ready.status.readyReplicas).toBe(1);
      const pods = await cluster.admin.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb");
      expect(pods.items[0].spec.nodeName).toBe("kube1");
    } finally {
      await agent.stop();
      await cluster.stop();
    }
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
