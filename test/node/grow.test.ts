/**
 * A pool grown while an app pod writes, under a real kubelet with Kadalu's own images: a Replica1 pool on a
 * node directory, a PV with an app writing new files, appending to an old one and reading old ones back;
 * `storage-expand --wait` adds a second directory. The FUSE clients mounted before the growth (the
 * provisioner's and the nodeplugin's) switch to the two-brick graph without a remount, the app sees no
 * error, and a PV made after the growth spreads its files over both bricks. On the same node,
 * `storage-devices` reads loop devices the test makes through the nodeplugin pod.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pvPath } from "../../src/core/pv-layout.js";
import { volfileBricks } from "../../csi/jobs/volfile-reload.js";
import { noImages } from "../../harness/images/tier.js";
import { kadalu } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { hostState } from "../../harness/node/host.js";
import { makeDiscoveryLoops } from "../../harness/helpers/loop-devices.js";
import { appPod, deletePod, startKadaluNode, ioWindow, pvc, waitLog, waitRunning } from "../../harness/node/kadalu.js";
import { NODE_NAME, type RealNode } from "../../harness/node/node.js";

const figure = (what: string, ms: number): void => console.log(`node tier: ${what}: ${(ms / 1000).toFixed(1)} s`);
const NS = "/api/v1/namespaces/default";
const POOL = "grow";

/**
 * Writes 20 files, then every 100 ms (at most 3600 times, then it stops and says "done") writes a new file,
 * appends a line to the old /data/log and reads one of the 20 back by its SHA-256: "TIME ok N",
 * "TIME MISMATCH N" or "TIME CODE N", as ioWindow reads them.
 */
const WRITER = [
  `const crypto = require("node:crypto"); const sha = (b) => crypto.createHash("sha256").update(b).digest("hex"); const sums = [];`,
  `for (let i = 0; i < 20; i++) { const b = crypto.randomBytes(16384); fs.writeFileSync("/data/f" + i, b); sums.push(sha(b)); }`,
  `fs.writeFileSync("/data/log", ""); console.log("seeded"); let n = 0;`,
  `const timer = setInterval(() => { if (n >= 3600) { clearInterval(timer); console.log("done"); hold(); return; }`,
  `try { fs.writeFileSync("/data/n" + n, String(n)); fs.appendFileSync("/data/log", n + "\\n"); const same = sha(fs.readFileSync("/data/f" + (n % 20))) === sums[n % 20];`,
  `console.log(Date.now() + (same ? " ok " : " MISMATCH ") + n++); } catch (e) { console.log(Date.now() + " " + e.code + " " + n++); } }, 100);`,
].join(" ");

/** The pool's FUSE clients on the node (the provisioner's has --client-pid), with the bricks each one's running graph has. */
function poolClients(): { role: "provisioner" | "nodeplugin"; pid: number; bricks: string[] }[] {
  const found: { role: "provisioner" | "nodeplugin"; pid: number; bricks: string[] }[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      continue;
    }
    if (basename(args[0] ?? "") !== "glusterfs" || args[args.indexOf("--volfile-id") + 1] !== POOL || !args.includes("fuse")) continue;
    let volfile = "";
    try {
      // The mount is in the CSI container's mount namespace: reached through the client's own root.
      volfile = readFileSync(`/proc/${pid}/root${args.at(-1)}/.meta/graphs/active/volfile`, "utf8");
    } catch {
      // Gone or not answering: no bricks.
    }
    found.push({ role: args.includes("--client-pid") ? "provisioner" : "nodeplugin", pid: Number(pid), bricks: volfileBricks(volfile) });
  }
  return found.sort((a, b) => a.role.localeCompare(b.role));
}

/** The regular files with data under a PV's directory on a brick (DHT's empty link files left out). */
function filesOnBrick(brick: string, pv: string): string[] {
  const dir = join(brick, "data", "brick", pvPath("subvol", pv));
  try {
    return readdirSync(dir).filter((name) => {
      const stat = statSync(join(dir, name));
      return stat.isFile() && stat.size > 0;
    });
  } catch {
    return [];
  }
}

describe.skipIf(noNode ?? noImages)("node tier: a pool grown while an app writes", () => {
  let node: RealNode;
  let bricks: string;

  beforeAll(async () => {
    ({ node, bricks } = await startKadaluNode(parts!, ["g1", "g2"], async (started, dirs) => {
      const added = await kadalu(started.cluster.adminKubeconfig, [
        "storage-add",
        POOL,
        "--path",
        `${NODE_NAME}:${join(dirs, "g1")}`,
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

  async function bound(name: string): Promise<string> {
    const admin = node.cluster.admin;
    return waitUntil(
      `PVC ${name} Bound`,
      async () => {
        const claim = await admin.get(`${NS}/persistentvolumeclaims/${name}`);
        return claim.status.phase === "Bound" ? (claim.spec.volumeName as string) : undefined;
      },
      60_000,
      250,
    );
  }

  it("grows a Replica1 pool by a second directory while an app writes: no error, old files intact, every mounted client on both bricks", async () => {
    const admin = node.cluster.admin;
    const kubeconfig = node.cluster.adminKubeconfig;
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("before", `kadalu.${POOL}`, "100Mi"));
    const before = await bound("before");
    await admin.post(`${NS}/pods`, appPod("writer", "before", WRITER));
    await waitRunning(node, "writer");
    await waitLog(node, "writer", "the writer's first writes", (lines) => lines.length >= 11 || undefined, 60_000);
    const clients = poolClients();
    expect(clients.map((client) => [client.role, client.bricks.length])).toEqual([
      ["nodeplugin", 1],
      ["provisioner", 1],
    ]);

    const startedAt = Date.now();
    const expanded = await kadalu(kubeconfig, ["storage-expand", POOL, "--path", `${NODE_NAME}:${join(bricks, "g2")}`, "--yes", "--wait", "--timeout", "5m"]);
    figure("storage-expand --wait (bricks ready, provisioner's capacity grown)", Date.now() - startedAt);
    expect(expanded.code, expanded.stderr).toBe(0);
    expect(expanded.stderr).toMatch(/capacity .* -> /);
    // The same client processes as before the growth, each now running a graph with both bricks.
    const grown = await waitUntil(
      "both clients on two bricks",
      async () => {
        const now = poolClients();
        return now.length === 2 && now.every((client) => client.bricks.length === 2) ? now : undefined;
      },
      200_000,
      1000,
    );
    figure("storage-expand to every mounted client on both bricks", Date.now() - startedAt);
    expect(grown.map((client) => client.pid)).toEqual(clients.map((client) => client.pid));
    expect(new Set(grown.flatMap((client) => client.bricks)).size).toBe(2);

    // Every write and read before, during and after the switch succeeded; the reads found the old files as written.
    const switchedAt = Date.now();
    const window = await waitLog(
      node,
      "writer",
      "10 writes after the clients switched",
      (lines) => (ioWindow(lines, switchedAt) ? ioWindow(lines, 0) : undefined),
      60_000,
    );
    console.log(`node tier: app I/O across the growth: ${window.attempts.length} writes and reads, ${window.failures.length} failed`);
    expect(window.failures).toEqual([]);
    await deletePod(node, "writer");
    // The old PV's files stay on the brick they were written to (no rebalance), every one of them.
    const old = filesOnBrick(join(bricks, "g1"), before);
    expect(old).toEqual(expect.arrayContaining(["log", ...Array.from({ length: 20 }, (_, i) => `f${i}`)]));
    // The old file took every append, in order, none lost in the switch.
    const appended = readFileSync(join(bricks, "g1", "data", "brick", pvPath("subvol", before), "log"), "utf8")
      .split("\n")
      .filter(Boolean);
    expect(appended.length).toBeGreaterThanOrEqual(window.attempts.length);
    expect(appended).toEqual(appended.map((_, i) => String(i)));
    // Its waits add up past the tier's 5 minutes: storage-expand's 5m, the clients' 200 s, the writes' minute.
  }, 720_000);

  it("a PV made after the growth spreads its files over both bricks", async () => {
    const admin = node.cluster.admin;
    await admin.post(`${NS}/persistentvolumeclaims`, pvc("after", `kadalu.${POOL}`, "50Mi"));
    const after = await bound("after");
    await admin.post(
      `${NS}/pods`,
      appPod(
        "fresh",
        "after",
        `for (let i = 0; i < 40; i++) fs.writeFileSync("/data/a" + i, "file " + i); console.log("wrote " + fs.readdirSync("/data").length); hold();`,
      ),
    );
    await waitRunning(node, "fresh");
    expect(await waitLog(node, "fresh", "the new PV's files", (lines) => lines[0], 60_000)).toBe("wrote 40");
    await deletePod(node, "fresh");
    const [first, second] = ["g1", "g2"].map((dir) => filesOnBrick(join(bricks, dir), after));
    console.log(`node tier: a PV made after the growth: ${first!.length} files on the first brick, ${second!.length} on the new one`);
    expect(first!.length + second!.length).toBe(40);
    expect(second!.length).toBeGreaterThan(0);
    expect(first!.length).toBeGreaterThan(0);
  });

  it("storage-devices lists loop devices made on the node, with the reasons; storage-add --device refuses one alike", async () => {
    const kubeconfig = node.cluster.adminKubeconfig;
    const loops = makeDiscoveryLoops();
    try {
      const { raw, xfs, mounted, small } = loops;

      // Through the nodeplugin pod, as a user runs it: the pod's /dev and /sys are the node's.
      const listed = await kadalu(kubeconfig, ["storage-devices", "--node", NODE_NAME, "-o", "json"]);
      expect(listed.code, listed.stderr).toBe(0);
      const devices: { path: string; sizeBytes: number; usable: boolean; refusals: string[] }[] = JSON.parse(listed.stdout).nodes[0].devices;
      const byPath = (path: string) => devices.find((device) => device.path === path);
      expect(byPath(raw)).toMatchObject({ sizeBytes: 400 * 1024 * 1024, usable: true, refusals: [] });
      expect(byPath(xfs)).toMatchObject({ usable: false, refusals: ["has a filesystem (xfs)"] });
      // The pod's own mount table does not hold the host's mount; the kernel's refusal of an exclusive open does.
      expect(byPath(mounted)?.refusals[0]).toBe("has a filesystem (xfs)");
      expect(byPath(mounted)?.refusals.slice(1).join("; ")).toMatch(/^(mounted at |in use \(the kernel refused an exclusive open)/);
      expect(byPath(small)).toMatchObject({ usable: false, refusals: ["too small (64.0 MiB; XFS needs 300.0 MiB)"] });
      const table = await kadalu(kubeconfig, ["storage-devices", "--node", NODE_NAME]);
      expect(
        table.stdout
          .split("\n")
          .find((line) => line.includes(` ${raw} `))
          ?.replace(/\s+/g, " "),
      ).toBe(`${NODE_NAME} ${raw} 400.0 MiB - yes -`);

      const refused = await kadalu(kubeconfig, ["storage-add", "loops", "--device", `${NODE_NAME}:${small}`, "--yes"]);
      expect(refused.stderr).toBe(
        `error: device ${small} on node ${NODE_NAME} cannot be used: too small (64.0 MiB; XFS needs 300.0 MiB); see: kubectl kadalu storage-devices --node ${NODE_NAME}\n`,
      );
      expect(refused.code).toBe(2);
      expect(await node.cluster.admin.find("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/loops")).toBeUndefined();
    } finally {
      loops.remove();
    }
  });

  it("tears down to the host it found", async () => {
    const errors = await node.stop();
    expect(errors).toEqual([]);
    expect(hostState(node.dir)).toEqual(node.before);
  });
});
