/**
 * `kubectl kadalu install --wait` on a real node: the project's own images (`npm run images`) and the CSI
 * sidecars run as pods under the kubelet; node-driver-registrar registers the driver, so the CSINode
 * object lists it; doctor finds nothing wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noImages } from "../../harness/images/tier.js";
import { kadalu } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { hostState } from "../../harness/node/host.js";
import { NODE_NAME, startNode, type RealNode } from "../../harness/node/node.js";
import { importKadaluImages } from "../../harness/node/kadalu.js";

/** The name of the workload that made a pod: a Deployment's through its ReplicaSet, a DaemonSet's, or the StatefulSet pod's own. */
function workloadOf(pod: any): string {
  const owner = pod.metadata.ownerReferences?.[0];
  if (owner?.kind === "ReplicaSet") return owner.name.slice(0, owner.name.lastIndexOf("-"));
  return owner?.kind === "DaemonSet" ? owner.name : pod.metadata.name;
}

const figure = (what: string, ms: number): void => console.log(`node tier: ${what}: ${(ms / 1000).toFixed(1)} s`);

describe.skipIf(noNode ?? noImages)("node tier: kubectl kadalu install --wait on a real kubelet", () => {
  let node: RealNode;

  beforeAll(async () => {
    node = await startNode(parts!);
    const t0 = Date.now();
    importKadaluImages(node, parts!);
    figure("images imported", Date.now() - t0);
  });

  afterAll(async () => {
    await node?.stop();
  });

  it("runs the operator, the provisioner and the nodeplugin as Running pods, the CSINode lists the driver, doctor is clean", async () => {
    const t0 = Date.now();
    const result = await kadalu(node.cluster.adminKubeconfig, ["install", "--wait", "--timeout", "4m", "--kubelet-dir", node.kubeletDir]);
    figure("install --wait", Date.now() - t0);
    expect(result.stderr).not.toMatch(/^error:/m);
    expect(result.code).toBe(0);
    const admin = node.cluster.admin;
    const pods = (await admin.get("/api/v1/namespaces/kadalu/pods")).items;
    const summary = pods
      .map((pod: any) => ({
        name: workloadOf(pod),
        phase: pod.status.phase,
        node: pod.spec.nodeName,
        ready: (pod.status.containerStatuses ?? []).every((status: any) => status.ready),
      }))
      .sort((a: any, b: any) => a.name.localeCompare(b.name));
    expect(summary).toEqual([
      { name: "kadalu-csi-nodeplugin", phase: "Running", node: NODE_NAME, ready: true },
      { name: "kadalu-csi-provisioner-0", phase: "Running", node: NODE_NAME, ready: true },
      { name: "operator", phase: "Running", node: NODE_NAME, ready: true },
    ]);
    const csiNode = await waitUntil(
      "the CSINode to list the kadalu driver",
      async () => {
        const found = await admin.find(`/apis/storage.k8s.io/v1/csinodes/${NODE_NAME}`);
        return (found?.spec?.drivers ?? []).some((driver: any) => driver.name === "kadalu") ? found : undefined;
      },
      60_000,
      500,
    );
    expect(csiNode.spec.drivers.find((driver: any) => driver.name === "kadalu")).toMatchObject({ nodeID: NODE_NAME });
    const doctor = await kadalu(node.cluster.adminKubeconfig, ["doctor"]);
    expect(doctor.code).toBe(0);
    expect(doctor.stderr).toMatch(/^\d+ checks: 0 critical, 0 warnings$/m);
  });

  it("kubectl kadalu logs reads every pod's real container logs through the kubelet", async () => {
    const result = await kadalu(node.cluster.adminKubeconfig, ["logs", "--tail", "200"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("watching KadaluStorage");
    // node-driver-registrar's own line once the kubelet called it back.
    expect(result.stdout).toMatch(/Received NotifyRegistrationStatus call/);
  });

  it("tears down to the host it found, with the CSI pods' mounts and the driver's registration", async () => {
    const t0 = Date.now();
    const errors = await node.stop();
    figure("teardown with Kadalu installed", Date.now() - t0);
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});
