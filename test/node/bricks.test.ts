/**
 * Kadalu's own bricks under a real kubelet: `storage-add` a Replica1 pool on a node directory and a Replica3
 * pool of three bricks on the one node (`--force`); the operator's brick StatefulSets run the kadalu-server
 * image as pods and the pools become ready; a PVC made right after `--wait` binds at once; an app pod on a
 * PV is held to its PVC's size (df, EDQUOT) and to the new size after an expansion; a Replica3 brick pod
 * deleted during writes comes back and heals to 0; a brick kept away while a PV is made and another expanded
 * gets both limits when it is back; healinfo, top and logs through the brick pods; a brick directory
 * missing on the node is named by storage-add, storage-list and doctor (the kubelet's own FailedMount).
 */
import { getAttributeSync } from "@napi-rs/xattr";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverPodName, serverStatefulSetName } from "../../src/core/naming.js";
import { pvPath } from "../../src/core/pv-layout.js";
import { pendingHeals } from "../../src/core/upgrade/switch-over.js";
import { noImages } from "../../harness/images/tier.js";
import { kadalu } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { hostState } from "../../harness/node/host.js";
import { appPod, deletePod, startKadaluNode, ioWindow, pvc, waitLog, waitRunning, writerScript } from "../../harness/node/kadalu.js";
import { NODE_NAME, type RealNode } from "../../harness/node/node.js";

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
    lines.push(
      ...String(log)
        .split("\n")
        .map((line) => `  | ${line}`),
    );
  }
  return lines.join("\n");
}

/** The copy of file `name` under brick directory `root` (Gluster's own .glusterfs tree left out), if any. */
function brickCopy(root: string, name: string): Buffer | undefined {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.name === ".glusterfs") continue;
    const path = join(root, entry.name);
    if (entry.isFile() && entry.name === name) return readFileSync(path);
    const found = entry.isDirectory() ? brickCopy(path, name) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** healinfo of `pool` once it counts no entry to heal (every brick connected), within 90 s. */
async function healedPool(kubeconfig: string, pool: string): Promise<string> {
  let last = "";
  try {
    return await waitUntil(
      `healinfo ${pool} to count 0 entries`,
      async () => {
        const result = await kadalu(kubeconfig, ["healinfo", pool]);
        last = result.stdout + result.stderr;
        return result.code === 0 && pendingHeals(result.stdout) === 0 ? result.stdout : undefined;
      },
      90_000,
      3000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the last healinfo:\n${last}`);
  }
}

/** The quota xattrs of a PV's directory on one brick (`brick`: the node directory; the pod's brick is data/brick in it). */
function quotaXattrs(brick: string, pv: string): { namespace?: string; limit?: string } {
  const dir = join(brick, "data", "brick", pvPath("subvol", pv));
  const read = (name: string): string | undefined => {
    try {
      return getAttributeSync(dir, name)?.toString() ?? undefined;
    } catch {
      return undefined;
    }
  };
  return { namespace: read("trusted.glusterfs.namespace"), limit: read("trusted.gfs.squota.limit") };
}

describe.skipIf(noNode ?? noImages)("node tier: Kadalu's brick pods on a real kubelet", () => {
  let node: RealNode;
  let bricks: string;

  beforeAll(async () => {
    ({ node, bricks } = await startKadaluNode(parts!, ["r1", "r3a", "r3b", "r3c"]));
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

  it("a PVC made right after storage-add --wait binds at once, and the first pod on it mounts it at once", async () => {
    const admin = node.cluster.admin;
    const t0 = Date.now();
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("first", "kadalu.r1", "10Mi"));
    await waitUntil("the PVC Bound", async () => (await admin.get(`${NS}/persistentvolumeclaims/first`)).status.phase === "Bound" || undefined, 30_000, 250);
    figure("PVC created to Bound (a new pool)", Date.now() - t0);
    // The nodeplugin's mounted kadalu-info lags the new pool by the kubelet's sync period; it asks the API instead.
    await admin.post(`${NS}/pods`, appPod("first-pod", "first", `fs.writeFileSync("/data/hello", "hi"); console.log("wrote"); hold();`));
    await waitRunning(node, "first-pod");
    figure("PVC created to the first pod Running (a new pool)", Date.now() - t0);
    const failedMounts = (await admin.get(`${NS}/events?fieldSelector=involvedObject.name=first-pod`)).items.filter(
      (event: any) => event.reason === "FailedMount",
    );
    expect(failedMounts.map((event: any) => event.message)).toEqual([]);
    await deletePod(node, "first-pod");
  });

  it("a Replica3 pool of three bricks on the one node (--force): three brick pods, each its own IP, the pool ready", async () => {
    const paths = ["r3a", "r3b", "r3c"].flatMap((dir) => ["--path", `${NODE_NAME}:${join(bricks, dir)}`]);
    const took = await addPool("r3", ["--type", "Replica3", ...paths, "--force"]);
    figure("storage-add to pool ready (Replica3)", took);
    const pods = await brickPods(node, "r3");
    expect(pods.map((pod) => pod.status.phase)).toEqual(["Running", "Running", "Running"]);
    expect(new Set(pods.map((pod) => pod.status.podIP)).size).toBe(3);
  });

  it("an app pod is held to its PVC's size: df shows it, a write past it gets EDQUOT; after an expansion it writes more", async () => {
    const admin = node.cluster.admin;
    // Writes 1 MiB at a time (fsync'd: write-behind would report the brick's refusal late) until one fails,
    // logging "filled MiB-WRITTEN CODE FILE-SIZE"; then waits for df to change (the expansion) and fills a
    // second file. libuv has no name for EDQUOT (Node says "Unknown system error -122"): named by number.
    await admin.post(
      `${NS}/pods`,
      appPod(
        "filler",
        "first",
        [
          `const MiB = 1 << 20; const chunk = Buffer.alloc(MiB, 120);`,
          `const df = () => { const s = fs.statfsSync("/data"); return s.blocks * s.bsize; };`,
          `const fill = (file) => { const fd = fs.openSync(file, "w"); let n = 0; try { for (;;) { fs.writeSync(fd, chunk); fs.fsyncSync(fd); n++; if (n > 100) return [n, "none"]; } } catch (e) { return [n, e.errno === -require("node:os").constants.errno.EDQUOT ? "EDQUOT" : e.code]; } finally { try { fs.closeSync(fd); } catch {} } };`,
          `const filled = (file) => "filled " + fill(file).join(" ") + " " + fs.statSync(file).size;`,
          `const before = df(); console.log("df " + before); console.log(filled("/data/a"));`,
          `const wait = setInterval(() => { const now = df(); if (now === before) return; clearInterval(wait); console.log("df " + now); console.log(filled("/data/b")); hold(); }, 500);`,
        ].join(" "),
      ),
    );
    await waitRunning(node, "filler");
    const first = await waitLog(node, "filler", "the filler's first fill", (lines) => (lines.length >= 2 ? lines : undefined), 90_000);
    const MiB = 1024 * 1024;
    console.log(`node tier: 10Mi PVC: ${first.join("; ")}`);
    expect(Math.abs(Number(first[0]!.split(" ")[1]) - 10 * MiB)).toBeLessThanOrEqual(MiB);
    const [, written, code, sizeA] = first[1]!.split(" ");
    expect(code).toBe("EDQUOT");
    expect(Number(written)).toBeGreaterThanOrEqual(7);
    expect(Number(sizeA)).toBeLessThanOrEqual(10 * MiB);
    await admin.merge(`${NS}/persistentvolumeclaims/first`, { spec: { resources: { requests: { storage: "20Mi" } } } });
    const lines = await waitLog(node, "filler", "the filler's fill after the expansion", (lines) => (lines.length >= 4 ? lines : undefined), 120_000);
    console.log(`node tier: expanded to 20Mi: ${lines.slice(2).join("; ")}`);
    expect(Math.abs(Number(lines[2]!.split(" ")[1]) - 20 * MiB)).toBeLessThanOrEqual(MiB);
    const [, more, again, sizeB] = lines[3]!.split(" ");
    expect(again).toBe("EDQUOT");
    // The raised limit lets the second file have most of the 10 MiB added, and no more: both files stay
    // within the 20 MiB (one brick: its own count is the whole PV's). A crawler writing simple-quota a
    // total usage here once let 27-29 MiB in (each df dropped the writes since its last sweep).
    expect(Number(more)).toBeGreaterThanOrEqual(5);
    expect(Number(sizeB)).toBeGreaterThanOrEqual(Number(more) * MiB);
    expect(Number(sizeA) + Number(sizeB)).toBeLessThanOrEqual(20 * MiB);
    await deletePod(node, "filler");
  });

  it("a Replica3 brick pod deleted during writes comes back and heals, as healinfo shows; top and logs reach the brick pods", async () => {
    const admin = node.cluster.admin;
    const kubeconfig = node.cluster.adminKubeconfig;
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("healed", "kadalu.r3", "50Mi"));
    await waitUntil("the PVC Bound", async () => (await admin.get(`${NS}/persistentvolumeclaims/healed`)).status.phase === "Bound" || undefined, 30_000, 250);
    await admin.post(`${NS}/pods`, appPod("writer", "healed", writerScript("heal-me.log")));
    await waitRunning(node, "writer");
    await waitLog(node, "writer", "the writer's first writes", (lines) => lines.length >= 10 || undefined, 60_000);
    const victim = serverPodName("r3", 1);
    const old = await admin.get(`/api/v1/namespaces/kadalu/pods/${victim}`);
    const deletedAt = Date.now();
    await admin.delete(`/api/v1/namespaces/kadalu/pods/${victim}`);
    await waitUntil(
      `${victim} back and ready`,
      async () => {
        const pod = await admin.find(`/api/v1/namespaces/kadalu/pods/${victim}`);
        return (
          (pod &&
            pod.metadata.uid !== old.metadata.uid &&
            pod.status.phase === "Running" &&
            (pod.status.containerStatuses ?? []).every((status: any) => status.ready)) ||
          undefined
        );
      },
      120_000,
      500,
    );
    figure("Replica3 brick pod deleted to back ready", Date.now() - deletedAt);
    // Two of three bricks keep the quorum: the writer never fails, only its copy on the deleted brick falls behind.
    const backAt = Date.now();
    const window = await waitLog(
      node,
      "writer",
      "10 writes in a row after the brick came back",
      (lines) => (ioWindow(lines, backAt) ? ioWindow(lines, deletedAt) : undefined),
      60_000,
    );
    expect(window.failures).toEqual([]);
    await deletePod(node, "writer");

    // The file heals onto the brick that was down: every brick's copy the same, the writer's every line.
    const copies = await waitUntil(
      "every brick's copy of the file the same",
      async () => {
        const found = ["r3a", "r3b", "r3c"].map((dir) => brickCopy(join(bricks, dir), "heal-me.log"));
        return found.every((copy) => copy?.equals(found[0]!)) ? found : undefined;
      },
      120_000,
      1000,
    );
    expect(new Set(copies.map((copy) => createHash("sha256").update(copy!).digest("hex"))).size).toBe(1);
    const lines = copies[0]!.toString("utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.at(-1)).toBe(String(lines.length - 1));
    // What healinfo shows through the brick pods: nothing left to heal, the PV's directory included.
    const healed = await healedPool(kubeconfig, "r3");
    expect(healed).toContain("== r3 (Replica3) ==");
    // Every brick answers again (the file list follows only while entries are pending).
    expect(new Set([...healed.matchAll(/^Brick (\S+)\nStatus: Connected$/gm)].map((match) => match[1])).size).toBe(3);

    const top = await kadalu(kubeconfig, ["top", "r3", "-o", "json", "--interval", "500ms"]);
    expect(top.stderr).not.toMatch(/^(error|warning):/m);
    expect(top.code).toBe(0);
    const bricksSampled = JSON.parse(top.stdout).processes.filter((row: any) => String(row.role).startsWith("brick"));
    expect(bricksSampled.map((row: any) => row.pod).sort()).toEqual([0, 1, 2].map((index) => serverPodName("r3", index)));
    const logs = await kadalu(kubeconfig, ["logs", victim]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain(`==> ${victim}/server <==`);
    expect(logs.stdout).toMatch(/^glusterfsd: /m);
  });

  it("a Replica3 brick away while a PV is made and another expanded gets both limits when it is back, and the pool heals to 0", async () => {
    const admin = node.cluster.admin;
    const kubeconfig = node.cluster.adminKubeconfig;
    const bound = async (name: string): Promise<string> =>
      waitUntil(
        `PVC ${name} Bound`,
        async () => {
          const claim = await admin.get(`${NS}/persistentvolumeclaims/${name}`);
          return claim.status.phase === "Bound" ? (claim.spec.volumeName as string) : undefined;
        },
        60_000,
        250,
      );
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("kept", "kadalu.r3", "10Mi"));
    const kept = await bound("kept");
    // The brick pod is kept away by a taint on the one node: its StatefulSet's new pod cannot be scheduled.
    const nodePath = `/api/v1/nodes/${NODE_NAME}`;
    const taints = (await admin.get(nodePath)).spec.taints ?? null;
    const victim = serverPodName("r3", 1);
    const brick = (await admin.get(`/api/v1/namespaces/kadalu/pods/${victim}`)).spec.volumes
      .map((volume: any) => volume.hostPath?.path)
      .find((path?: string) => path?.startsWith(bricks));
    expect(brick).toBe(join(bricks, "r3b"));
    await admin.merge(nodePath, { spec: { taints: [...(taints ?? []), { key: "kadalu.io/test-away", value: "yes", effect: "NoSchedule" }] } });
    let made: string;
    try {
      const old = await admin.get(`/api/v1/namespaces/kadalu/pods/${victim}`);
      await admin.delete(`/api/v1/namespaces/kadalu/pods/${victim}`);
      await waitUntil(
        `${victim} gone and not scheduled again`,
        async () => {
          const pod = await admin.find(`/api/v1/namespaces/kadalu/pods/${victim}`);
          return !pod || (pod.metadata.uid !== old.metadata.uid && !pod.spec.nodeName) || undefined;
        },
        60_000,
        500,
      );
      await admin.merge(`${NS}/persistentvolumeclaims/kept`, { spec: { resources: { requests: { storage: "20Mi" } } } });
      await waitUntil(
        "the PV of kept expanded",
        async () => (await admin.get(`/api/v1/persistentvolumes/${kept}`)).spec.capacity.storage === "20Mi" || undefined,
        60_000,
        500,
      );
      await admin.post(`${NS}/persistentvolumeclaims`, pvc("made", "kadalu.r3", "5Mi"));
      made = await bound("made");
      // The bricks that answer have both limits at once.
      expect(quotaXattrs(join(bricks, "r3a"), kept)).toEqual({ namespace: "true", limit: String(20 * 1024 * 1024) });
      expect(quotaXattrs(join(bricks, "r3a"), made)).toEqual({ namespace: "true", limit: String(5 * 1024 * 1024) });
    } finally {
      await admin.merge(nodePath, { spec: { taints } });
    }
    const backAt = Date.now();
    await waitUntil(
      `${victim} back and ready`,
      async () => {
        const pod = await admin.find(`/api/v1/namespaces/kadalu/pods/${victim}`);
        return (pod?.status.phase === "Running" && (pod.status.containerStatuses ?? []).every((status: any) => status.ready)) || undefined;
      },
      120_000,
      500,
    );
    // Self-heal copies neither limit: the provisioner sets them again once its mount reaches every brick. A
    // directory's namespace can be off this brick for a moment meanwhile: the brick takes its own copy off so
    // a refused metadata heal goes through and copies it back (server/namespace-heal.ts).
    const wanted = [
      { namespace: "true", limit: String(20 * 1024 * 1024) },
      { namespace: "true", limit: String(5 * 1024 * 1024) },
    ];
    let seen: unknown;
    const limits = await waitUntil(
      "both limits and namespaces on the brick that was away",
      async () => {
        const found = [quotaXattrs(brick, kept), quotaXattrs(brick, made)];
        seen = found;
        return JSON.stringify(found) === JSON.stringify(wanted) ? found : undefined;
      },
      90_000,
      1000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last seen on ${brick}: ${JSON.stringify(seen)}`);
    });
    figure("Replica3 brick back to its PV limits set", Date.now() - backAt);
    // The expanded PV's directory needed a metadata heal onto a copy that already had its namespace: it heals.
    await healedPool(kubeconfig, "r3");
    for (const dir of ["r3a", "r3b", "r3c"]) expect([quotaXattrs(join(bricks, dir), kept), quotaXattrs(join(bricks, dir), made!)]).toEqual(limits);
    for (const name of ["kept", "made"]) await admin.delete(`${NS}/persistentvolumeclaims/${name}`);
  });

  it("a brick directory missing on the node: storage-add --wait stops naming node and path; storage-list and doctor say the same", async () => {
    const kubeconfig = node.cluster.adminKubeconfig;
    const missing = join(bricks, "never-made");
    const t0 = Date.now();
    const added = await kadalu(kubeconfig, ["storage-add", "gone", "--path", `${NODE_NAME}:${missing}`, "--yes", "--wait", "--timeout", "2m"]);
    const why = `brick directory ${missing} is missing on node ${NODE_NAME}`;
    expect(added.stderr).toContain(`error: storage pool "gone" failed: ${why}`);
    expect(added.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(await poolState(node, "gone")).toEqual({ state: "error", message: why });
    const listed = await kadalu(kubeconfig, ["storage-list", "gone", "-o", "json"]);
    expect(JSON.stringify(JSON.parse(listed.stdout))).toContain(`"message":${JSON.stringify(why)}`);
    const doctor = await kadalu(kubeconfig, ["doctor", "--pool", "gone"]);
    expect(doctor.stdout).toContain(`server pod ${serverPodName("gone", 0)} (Pending) not ready: ${why} (FailedMount): create it there`);
    const removed = await kadalu(kubeconfig, ["storage-remove", "gone", "--yes", "--wait", "--timeout", "2m"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await node.cluster.admin.find(`/apis/apps/v1/namespaces/kadalu/statefulsets/${serverStatefulSetName("gone", 0)}`)).toBeUndefined();
    // The kubelet backs off retrying the failed mount (up to about 2 minutes) before it tears the pod down; the
    // teardown would wait for that, so the pod whose StatefulSet is gone is removed at once.
    for (const pod of await brickPods(node, "gone"))
      await node.cluster.admin.delete(`/api/v1/namespaces/kadalu/pods/${pod.metadata.name}`, { gracePeriodSeconds: 0 });
  });

  it("tears down to the host it found", async () => {
    const errors = await node.stop();
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});
