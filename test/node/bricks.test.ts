/**
 * Kadalu's own bricks under a real kubelet: `storage-add` a Replica1 pool on a node directory and a Replica3
 * pool of three bricks on the one node (`--force`); the operator's brick StatefulSets run the kadalu-server
 * image as pods and the pools become ready; a PVC made right after `--wait` binds at once; an app pod on a
 * PV is held to its PVC's size (df, EDQUOT) and to the new size after an expansion; a Replica3 brick pod
 * deleted during writes comes back and heals; healinfo, top and logs through the brick pods.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noImages } from "../images/tier.js";
import { kadalu } from "../real/kadalu.js";
import { waitUntil } from "../real/processes.js";
import { node as parts, noNode } from "./components.js";
import { hostState } from "./host.js";
import { importKadaluImages, installKadalu, pvc } from "./kadalu.js";
import { NODE_NAME, startNode, type RealNode } from "./node.js";

const figure = (what: string, ms: number): void => console.log(`node tier: ${what}: ${(ms / 1000).toFixed(1)} s`);
const NS = "/api/v1/namespaces/default";

/** The pool's state and message, as `kubectl get kds` shows them. */
async function poolState(node: RealNode, pool: string): Promise<{ state?: string; message?: string }> {
  const found = await node.cluster.admin.find(`/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/${pool}`);
  return { state: found?.status?.state, message: found?.status?.message };
}

/** The brick pods of `pool`, by name. */
async function brickPods(node: RealNode, pool: string): Promise<any[]> {
  const pods = (await node.cluster.admin.get(`/api/v1/namespaces/kadalu/pods?labelSelector=kadalu.io/pool=${pool}`)).items;
  return pods.sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Why the brick pods of `pool` are not ready: their phases, container states and recent events. */
async function brickDiagnosis(node: RealNode, pool: string): Promise<string> {
  const admin = node.cluster.admin;
  const lines: string[] = [];
  for (const pod of await brickPods(node, pool)) {
    lines.push(`${pod.metadata.name} ${pod.status.phase} ${JSON.stringify(pod.status.containerStatuses?.map((s: any) => s.state))}`);
    const events = (await admin.get(`/api/v1/namespaces/kadalu/events?fieldSelector=involvedObject.name=${pod.metadata.name}`)).items;
    lines.push(...events.slice(-4).map((event: any) => `  ${event.reason}: ${event.message}`));
    const log = await admin.get<string>(`/api/v1/namespaces/kadalu/pods/${pod.metadata.name}/log?tailLines=15`).catch((error: Error) => error.message);
    lines.push(...String(log).split("\n").map((line) => `  | ${line}`));
  }
  return lines.join("\n");
}

describe.skipIf(noNode ?? noImages)("node tier: Kadalu's brick pods on a real kubelet", () => {
  let node: RealNode;
  let bricks: string;

  beforeAll(async () => {
    node = await startNode(parts!);
    try {
      importKadaluImages(node, parts!);
      const install = await installKadalu(node);
      expect(install.stderr).not.toMatch(/^error:/m);
      expect(install.code).toBe(0);
      bricks = join(node.dir, "bricks");
      for (const dir of ["r1", "r3a", "r3b", "r3c"]) mkdirSync(join(bricks, dir), { recursive: true });
    } catch (error) {
      await node.stop();
      throw error;
    }
  });

  afterAll(async () => {
    await node?.stop();
  });

  async function addPool(pool: string, args: string[]): Promise<number> {
    const t0 = Date.now();
    const added = await kadalu(node.cluster.adminKubeconfig, ["storage-add", pool, ...args, "--yes", "--wait", "--timeout", "3m"]);
    const took = Date.now() - t0;
    if (added.code !== 0) throw new Error(`storage-add ${pool} exited ${added.code}: ${added.stderr}\n${await brickDiagnosis(node, pool)}`);
    expect(added.stderr).not.toMatch(/^error:/m);
    expect(await poolState(node, pool)).toMatchObject({ state: "ready" });
    return took;
  }

  it("a Replica1 pool on a node directory: its brick pod runs the server image and the pool is ready", async () => {
    const took = await addPool("r1", ["--path", `${NODE_NAME}:${join(bricks, "r1")}`]);
    figure("storage-add to pool ready (Replica1)", took);
    const pods = await brickPods(node, "r1");
    expect(pods.map((pod) => [pod.status.phase, pod.spec.containers[0].image.split("/").pop().split(":")[0]])).toEqual([["Running", "kadalu-server"]]);
  });

  it("a PVC made right after storage-add --wait binds at once", async () => {
    const admin = node.cluster.admin;
    const t0 = Date.now();
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("first", "kadalu.r1", "10Mi"));
    await waitUntil("the PVC Bound", async () => (await admin.get(`${NS}/persistentvolumeclaims/first`)).status.phase === "Bound" || undefined, 30_000, 250);
    figure("PVC created to Bound (a new pool)", Date.now() - t0);
  });

  it("a Replica3 pool of three bricks on the one node (--force): three brick pods, each its own IP, the pool ready", async () => {
    const paths = ["r3a", "r3b", "r3c"].flatMap((dir) => ["--path", `${NODE_NAME}:${join(bricks, dir)}`]);
    const took = await addPool("r3", ["--type", "Replica3", ...paths, "--force"]);
    figure("storage-add to pool ready (Replica3)", took);
    const pods = await brickPods(node, "r3");
    expect(pods.map((pod) => pod.status.phase)).toEqual(["Running", "Running", "Running"]);
    expect(new Set(pods.map((pod) => pod.status.podIP)).size).toBe(3);
  });

  it("tears down to the host it found", async () => {
    const errors = await node.stop();
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});
