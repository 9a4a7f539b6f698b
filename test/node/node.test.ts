/**
 * The node tier's foundation: a real kubelet on containerd and runc registers a Node that becomes Ready, a
 * plain pod from an imported image runs, gets a pod IP and its log reaches the API through the kubelet, and
 * the teardown leaves the host as it found it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { hostState } from "../../harness/node/host.js";
import { NODE_DIR_PREFIX, NODE_NAME, startNode, type RealNode } from "../../harness/node/node.js";
import { PAUSE_IMAGE } from "../../harness/node/images.js";

const figure = (what: string, ms: number): void => console.log(`node tier: ${what}: ${(ms / 1000).toFixed(1)} s`);

describe.skipIf(noNode)("node tier: a real kubelet on containerd", () => {
  let node: RealNode;

  beforeAll(async () => {
    node = await startNode(parts!);
    figure("control plane up", node.timings.controlPlaneMs);
    figure("nothing to node Ready", node.timings.nodeReadyMs);
    figure("kubelet start to node Ready", node.timings.kubeletToReadyMs);
  });

  afterAll(async () => {
    await node?.stop();
  });

  it("registers the node Ready with its veth address, containerd as its runtime, and no taint", async () => {
    const found = await node.cluster.admin.get(`/api/v1/nodes/${NODE_NAME}`);
    expect(found.status.conditions.find((condition: any) => condition.type === "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(found.status.addresses).toContainEqual({ type: "InternalIP", address: node.nodeIp });
    expect(found.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(Number(found.status.allocatable.pods)).toBeGreaterThan(0);
    expect(found.spec.taints ?? []).toEqual([]);
    expect(found.status.images.flatMap((image: any) => image.names)).toContain(PAUSE_IMAGE);
  });

  it("runs a plain pod: Running with a pod IP on the node's bridge, its log read through the kubelet, then stopped on delete", async () => {
    const admin = node.cluster.admin;
    const line = `hello from ${NODE_NAME} ${Date.now()}`;
    const t0 = Date.now();
    await admin.post("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hello" },
      spec: { containers: [{ name: "hello", image: PAUSE_IMAGE, imagePullPolicy: "Never", args: [line] }], terminationGracePeriodSeconds: 5 },
    });
    const running = await waitUntil(
      "pod hello Running",
      async () => {
        const pod = await admin.get("/api/v1/namespaces/default/pods/hello");
        return pod.status.phase === "Running" ? pod : undefined;
      },
      90_000,
      200,
    );
    figure("pod created to Running", Date.now() - t0);
    expect(running.spec.nodeName).toBe(NODE_NAME);
    expect(running.status.hostIP).toBe(node.nodeIp);
    expect(running.status.podIP).toMatch(/^10\.244\.0\.\d+$/);
    expect(running.status.containerStatuses[0]).toMatchObject({ ready: true, restartCount: 0, state: { running: expect.anything() } });
    expect(await admin.get("/api/v1/namespaces/default/pods/hello/log")).toBe(`${line}\n`);
    // The sandbox and the container are runc tasks in this node's own containerd.
    expect(
      node
        .ctr(["tasks", "ls"])
        .split("\n")
        .filter((row) => row.includes("RUNNING")),
    ).toHaveLength(2);

    const t1 = Date.now();
    await admin.delete("/api/v1/namespaces/default/pods/hello");
    await waitUntil("pod hello gone", async () => (await admin.find("/api/v1/namespaces/default/pods/hello")) === undefined || undefined, 60_000, 200);
    figure("pod deleted to gone", Date.now() - t1);
    expect(
      node
        .ctr(["tasks", "ls"])
        .split("\n")
        .filter((row) => row.includes("RUNNING")),
    ).toEqual([]);
  });

  it("tears down to the host it found: sysctls, mounts, network namespaces, cgroups, paths, processes", async () => {
    const changed = hostState(node.dir);
    // The kubelet did change the host: that is what the teardown must undo.
    expect(changed.sysctls).not.toEqual(node.before.sysctls);
    expect(changed.netns).toContain(node.netns);
    expect(changed.cgroups.filter((path) => path.endsWith("/kubepods"))).not.toEqual([]);
    expect(changed.mounts.filter((point) => point.startsWith(node.dir))).not.toEqual([]);
    const t0 = Date.now();
    const errors = await node.stop();
    figure("teardown", Date.now() - t0);
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});

describe.skipIf(noNode)("node tier: a start that fails half way", () => {
  it("says why and still leaves the host as it found it", async () => {
    const before = hostState(NODE_DIR_PREFIX);
    // containerd, the network namespace and the control plane are up when the kubelet exits at once.
    await expect(startNode({ ...parts!, kubelet: "/bin/false" })).rejects.toThrow(/the kubelet exited/);
    expect(hostState(NODE_DIR_PREFIX)).toEqual(before);
  });
});
