/**
 * A pool's life after storage-add, under a real kubelet with Kadalu's own images: a Replica3 brick replaced
 * (`storage-replace --wait`) while an app pod reads and writes, with no I/O error, every file the same on
 * every brick afterwards (checksums) and the heal shown; and a drain (the Eviction API, as kubectl drain
 * uses it) refused by the group's PodDisruptionBudget when it would take a second brick of the group.
 * One node: the Replica3 pool's three bricks are three directories on it (--force).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverPodName } from "../../src/core/naming.js";
import { noImages } from "../../harness/images/tier.js";
import { ApiError } from "../../harness/real/api.js";
import { kadalu } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { hostState } from "../../harness/node/host.js";
import { appPod, deletePod, startKadaluNode, ioWindow, nodepluginPods, pvc, waitLog, waitRunning } from "../../harness/node/kadalu.js";
import { NODE_NAME, type RealNode } from "../../harness/node/node.js";

const figure = (what: string, ms: number): void => console.log(`node tier: ${what}: ${(ms / 1000).toFixed(1)} s`);
const NS = "/api/v1/namespaces/default";
const KADALU = "/api/v1/namespaces/kadalu";

/** Every file under a brick directory (Gluster's .glusterfs left out) by its path there, with its SHA-256. */
function checksums(root: string, dir = root, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === ".glusterfs") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) checksums(root, path, into);
    else if (entry.isFile()) into.set(relative(root, path), createHash("sha256").update(readFileSync(path)).digest("hex"));
  }
  return into;
}

/** Whether the nodeplugin pod's kadalu-info volume, as the kubelet wrote it on the host, holds `pool`.info. */
async function nodepluginKnows(node: RealNode, pool: string): Promise<boolean> {
  const uids = (await nodepluginPods(node)).map((pod: any) => pod.metadata.uid as string);
  return uids.some((uid) => {
    const volumes = join(node.kubeletDir, "pods", uid, "volumes", "kubernetes.io~configmap");
    return existsSync(volumes) && readdirSync(volumes).some((volume) => existsSync(join(volumes, volume, `${pool}.info`)));
  });
}

/**
 * Writes 20 files of random bytes, then every 100 ms reads one of the 20 back, comparing its SHA-256, and
 * for the first 90 s also appends a line to /data/log: "TIME ok N write|read", "TIME MISMATCH N ..." or
 * "TIME CODE N" (as ioWindow reads them). The writes end so the heal can: a file written without a pause
 * keeps its entry in the heal index, and `storage-replace --wait` waits for none.
 */
const WRITE_MS = 90_000;
const READER_WRITER = [
  `const crypto = require("node:crypto"); const sha = (b) => crypto.createHash("sha256").update(b).digest("hex"); const sums = [];`,
  `for (let i = 0; i < 20; i++) { const b = crypto.randomBytes(65536); fs.writeFileSync("/data/f" + i, b); sums.push(sha(b)); }`,
  `console.log("seeded"); let n = 0; const writeUntil = Date.now() + ${WRITE_MS};`,
  `setInterval(() => { const i = n % 20; const write = Date.now() < writeUntil; try { if (write) fs.appendFileSync("/data/log", n + "\\n"); const same = sha(fs.readFileSync("/data/f" + i)) === sums[i]; console.log(Date.now() + (same ? " ok " : " MISMATCH ") + n++ + (write ? " write" : " read")); } catch (e) { console.log(Date.now() + " " + e.code + " " + n++); } }, 100);`,
].join(" ");

describe.skipIf(noNode ?? noImages)("node tier: a pool's lifecycle on a real kubelet", () => {
  let node: RealNode;
  let bricks: string;

  beforeAll(async () => {
    ({ node, bricks } = await startKadaluNode(parts!, ["r3a", "r3b", "r3c", "r3d"], async (started, dirs) => {
      const paths = ["r3a", "r3b", "r3c"].flatMap((dir) => ["--path", `${NODE_NAME}:${join(dirs, dir)}`]);
      const added = await kadalu(started.cluster.adminKubeconfig, [
        "storage-add",
        "r3",
        "--type",
        "Replica3",
        ...paths,
        "--force",
        "--yes",
        "--wait",
        "--timeout",
        "3m",
      ]);
      expect(added.code, added.stderr).toBe(0);
    }));
  });

  afterAll(async () => {
    await node?.stop();
  });

  // Issue 38: the heal used to stall for minutes (7 entries left: /subvol, its hash directories, the PV and its
  // log). Only short-lived heal-crawl mounts healed, and each unmount cut its background entry heal of /subvol
  // short; the self-heal daemons, which would finish it, sweep only when a brick connects and every 10 minutes.
  // --wait now starts the daemons' index heal (kadalu-server heal-now) on each poll.
  // The real apiserver tier's test/real/replace.test.ts shows the objects and the --wait path.
  it("replaces a Replica3 brick while an app pod reads and writes: no I/O error, every file the same on every brick, the heal shown", async () => {
    const admin = node.cluster.admin;
    const kubeconfig = node.cluster.adminKubeconfig;
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("moving", "kadalu.r3", "50Mi"));
    await waitUntil("the PVC Bound", async () => (await admin.get(`${NS}/persistentvolumeclaims/moving`)).status.phase === "Bound" || undefined, 30_000, 250);
    // The nodeplugin learns of the new pool from its kadalu-info volume, which the kubelet refreshes about
    // once a minute; a mount tried before then fails and is retried only after a growing back-off.
    await waitUntil("the nodeplugin's kadalu-info naming r3", async () => nodepluginKnows(node, "r3") || undefined, 150_000, 1000);
    await admin.post(`${NS}/pods`, appPod("app", "moving", READER_WRITER));
    await waitRunning(node, "app");
    await waitLog(node, "app", "the app's first reads and writes", (lines) => lines.length >= 11 || undefined, 60_000);
    // storage-replace refuses while the group has entries to heal: the app's writes so far must be on all three.
    const clean = Date.now();
    let report = "";
    await waitUntil(
      "the group with no entries to heal",
      async () => {
        const heal = await kadalu(kubeconfig, ["healinfo", "r3"]);
        report = heal.stdout + heal.stderr;
        return (heal.code === 0 && !/^Total Number of entries: [1-9]/m.test(heal.stdout)) || undefined;
      },
      90_000,
      2000,
    ).catch(async (error: Error) => {
      const pods = (await admin.get(`${KADALU}/pods`)).items.map(
        (pod: any) => `${pod.metadata.name} restarts ${(pod.status.containerStatuses ?? []).map((status: any) => status.restartCount).join(",")}`,
      );
      throw new Error(`${error.message}\n${report}\n${pods.join("\n")}`);
    });
    figure("the group clean before the replacement", Date.now() - clean);
    const oldBrick = join(bricks, "r3c");
    const oldFiles = checksums(oldBrick);
    const oldLogs = new Map([...oldFiles.keys()].filter((path) => path.endsWith("/log")).map((path) => [path, readFileSync(join(oldBrick, path), "utf8")]));

    const startedAt = Date.now();
    const replaced = await kadalu(kubeconfig, [
      "storage-replace",
      "r3",
      `${NODE_NAME}:${oldBrick}`,
      "--path",
      `${NODE_NAME}:${join(bricks, "r3d")}`,
      "--force",
      "--yes",
      "--wait",
      "--timeout",
      "5m",
    ]);
    figure("storage-replace --wait, brick moved and healed", Date.now() - startedAt);
    console.log(`node tier: storage-replace said:\n${replaced.stderr}`);
    if (replaced.code !== 0) console.log(`node tier: healinfo after it:\n${(await kadalu(kubeconfig, ["healinfo", "r3"])).stdout}`);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stderr).toMatch(/healing storage unit 3 of pool "r3": \d+ entr(y|ies) pending/);
    expect(replaced.stderr).toContain('storage unit 3 of pool "r3" is healed: no entries pending in its group');
    const pod = await admin.get(`${KADALU}/pods/${serverPodName("r3", 2)}`);
    expect(pod.spec.volumes.find((volume: any) => volume.name === "glusterfsd-mountdir").hostPath.path).toBe(join(bricks, "r3d"));

    // Two of three bricks keep the quorum while the third moves: the app never fails a read or a write.
    const doneAt = Date.now();
    const window = await waitLog(
      node,
      "app",
      "10 reads after the replacement",
      (lines) => (ioWindow(lines, doneAt) ? ioWindow(lines, startedAt) : undefined),
      60_000,
    );
    expect(window.failures).toEqual([]);
    // The app still wrote once the brick ran on the new unit: its writes spanned the move.
    const writes = window.attempts.filter((attempt) => attempt[3] === "write").map(([time]) => Number(time));
    const brickStarted = Math.max(...pod.status.containerStatuses.map((status: any) => Date.parse(status.state?.running?.startedAt ?? "")));
    console.log(
      `node tier: app I/O during the replacement: ${window.attempts.length} reads, ${writes.length} of them with a write, ${window.failures.length} failed; last write ${((Math.max(...writes) - brickStarted) / 1000).toFixed(1)} s after the new brick started`,
    );
    expect(Math.max(...writes)).toBeGreaterThan(brickStarted);
    await deletePod(node, "app");

    // The new brick holds what the other two hold, file for file; the old directory is left as it was.
    const sums = await waitUntil(
      "every brick's files the same",
      async () => {
        const found = ["r3a", "r3b", "r3d"].map((dir) => checksums(join(bricks, dir)));
        const text = found.map((map) => JSON.stringify([...map].sort()));
        return text.every((one) => one === text[0]) ? found[0] : undefined;
      },
      120_000,
      1000,
    );
    expect([...sums.keys()].filter((path) => /\/f\d+$/.test(path))).toHaveLength(20);
    expect([...sums.keys()].some((path) => path.endsWith("/log"))).toBe(true);
    // The app appends to its log until the old brick stops: there the log only grew, every other file is as it was.
    const oldNow = checksums(oldBrick);
    for (const [path, sum] of oldFiles) {
      if (oldLogs.has(path)) expect(readFileSync(join(oldBrick, path), "utf8").startsWith(oldLogs.get(path)!), path).toBe(true);
      else expect(oldNow.get(path), path).toBe(sum);
    }

    const heal = await kadalu(kubeconfig, ["healinfo", "r3"]);
    expect(heal.code, heal.stderr).toBe(0);
    expect(new Set([...heal.stdout.matchAll(/^Brick (\S+)\nStatus: Connected$/gm)].map((match) => match[1])).size).toBe(3);
    expect(heal.stdout).not.toMatch(/^Total Number of entries: [1-9]/m);
  }, 600_000);

  it("a drain that would take a second brick of a group is refused by the group's PodDisruptionBudget", async () => {
    const admin = node.cluster.admin;
    const evict = (index: number) =>
      admin.post(`${KADALU}/pods/${serverPodName("r3", index)}/eviction`, {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: serverPodName("r3", index), namespace: "kadalu" },
      });
    await waitUntil(
      "the group's budget allowing one disruption",
      async () => {
        const budget = await admin.get("/apis/policy/v1/namespaces/kadalu/poddisruptionbudgets/server-r3-group-0");
        return budget.status?.disruptionsAllowed === 1 || undefined;
      },
      60_000,
      500,
    );
    const first = await admin.get(`${KADALU}/pods/${serverPodName("r3", 0)}`);
    await evict(0);
    const refused = await evict(1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect(JSON.stringify((refused as ApiError).body)).toContain("disruption budget");
    await waitUntil(
      `${serverPodName("r3", 0)} back and ready`,
      async () => {
        const pod = await admin.find(`${KADALU}/pods/${serverPodName("r3", 0)}`);
        return (
          (pod &&
            pod.metadata.uid !== first.metadata.uid &&
            pod.status.phase === "Running" &&
            (pod.status.containerStatuses ?? []).every((status: any) => status.ready)) ||
          undefined
        );
      },
      120_000,
      500,
    );
    expect((await admin.get(`${KADALU}/pods/${serverPodName("r3", 1)}`)).metadata.deletionTimestamp).toBeUndefined();
  });

  it("tears down to the host it found", async () => {
    const errors = await node.stop();
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});
