/**
 * The node tier's figures: a real kubelet's cold start (nothing to node Ready, to `install --wait` done, to
 * an app pod Running with a Kadalu PV of an External pool) and the window of failed writes of a pod while
 * the nodeplugin pod is replaced. Skipped with the reason where the node tier cannot run.
 */
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { glusterParts } from "../harness/real/components.js";
import type { RealNode } from "../harness/node/node.js";

type Row = [string, string, string];

export async function nodeScenarios(): Promise<Row[]> {
  const { nodeParts } = await import("../harness/node/components.js");
  const { noImages } = await import("../harness/images/tier.js");
  const parts = nodeParts();
  const gluster = glusterParts();
  const skipped = typeof parts === "string" ? parts : (noImages ?? (typeof gluster === "string" ? gluster : undefined));
  if (skipped !== undefined || typeof parts === "string" || typeof gluster === "string") return [["node tier (a real kubelet)", `skipped: ${skipped}`, "-"]];
  const { startNode } = await import("../harness/node/node.js");
  const { kadalu } = await import("../harness/real/kadalu.js");
  const k = await import("../harness/node/kadalu.js");
  const t0 = Date.now();
  const node = await startNode(parts);
  let server: Awaited<ReturnType<typeof k.startExternalServer>> | undefined;
  try {
    const rows: Row[] = [["node tier: nothing to node Ready", `${(node.timings.nodeReadyMs / 1000).toFixed(1)} s`, "-"]];
    k.importKadaluImages(node, parts);
    server = await k.startExternalServer(node, gluster, "ext1");
    const install = await k.installKadalu(node);
    if (install.code !== 0) throw new Error(`install --wait failed: ${install.stderr}`);
    rows.push(["node tier: nothing to install --wait done", `${((Date.now() - t0) / 1000).toFixed(1)} s`, "-"]);
    const added = await kadalu(node.cluster.adminKubeconfig, ["storage-add", "ext1", "--type", "External", "--external", server.external, "--yes"]);
    if (added.code !== 0) throw new Error(`storage-add failed: ${added.stderr}`);
    const admin = node.cluster.admin;
    await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", k.pvc("bench", "kadalu.ext1", "16Mi"));
    await admin.post("/api/v1/namespaces/default/pods", k.appPod("bench", "bench", k.writerScript("bench"), { propagation: "HostToContainer" }));
    await k.waitRunning(node, "bench", 180_000);
    rows.push([
      "node tier: nothing to an app pod Running with a Kadalu PV",
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
      "a new pool's first PVC binds at once (kadalu-info read through the API)",
    ]);
    await k.waitLog(node, "bench", "the first writes", (lines) => lines.length >= 5 || undefined);
    const deletedAt = await k.restartNodeplugin(node);
    const window = await k.waitLog(node, "bench", "the writes to resume", (lines) => k.ioWindow(lines, deletedAt), 90_000);
    const codes = [...new Set(window.failures.map(([, code]) => code))].join(", ");
    rows.push([
      "node tier: nodeplugin restart, failed writes (every 100 ms)",
      `${(window.windowMs / 1000).toFixed(1)} s, ${window.failures.length} failed${codes ? ` (${codes})` : ""}`,
      "resumes; never a hang (issue 35)",
    ]);
    rows.push(...(await brickPoolFigures(node, k, kadalu)));
    return rows;
  } finally {
    await node.stop();
    await server?.stop();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const WRITE_MIB = 64;

/** MiB/s of writing WRITE_MIB MiB in 1 MiB writes then one fsync, to `file` on the host. */
function hostWriteRate(file: string): number {
  const chunk = Buffer.alloc(1 << 20, 120);
  const t0 = performance.now();
  const fd = openSync(file, "w");
  try {
    for (let i = 0; i < WRITE_MIB; i++) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const rate = WRITE_MIB / ((performance.now() - t0) / 1000);
  rmSync(file);
  return rate;
}

/**
 * Pools of Kadalu's own brick pods on the node: storage-add to ready (Replica1, Replica3 of three bricks
 * on the one node), PVC to app pod Running, the provisioner's CreateVolume p50 as it logs it, and a
 * sequential write through the PV against the same write on the bricks' own filesystem.
 */
async function brickPoolFigures(
  node: RealNode,
  k: typeof import("../harness/node/kadalu.js"),
  kadalu: typeof import("../harness/real/kadalu.js").kadalu,
): Promise<[string, string, string][]> {
  const { NODE_NAME } = await import("../harness/node/node.js");
  const admin = node.cluster.admin;
  const bricks = join(node.dir, "bricks");
  for (const dir of ["r1", "r3a", "r3b", "r3c"]) mkdirSync(join(bricks, dir), { recursive: true });
  const add = async (pool: string, args: string[]): Promise<number> => {
    const t0 = Date.now();
    const added = await kadalu(node.cluster.adminKubeconfig, ["storage-add", pool, ...args, "--yes", "--wait", "--timeout", "3m"]);
    if (added.code !== 0) throw new Error(`storage-add ${pool} failed: ${added.stderr}`);
    return Date.now() - t0;
  };
  const rows: [string, string, string][] = [];
  rows.push([
    "node tier: storage-add --wait to pool ready (Replica1 brick pod)",
    seconds(await add("r1", ["--path", `${NODE_NAME}:${join(bricks, "r1")}`])),
    "-",
  ]);
  const r3 = ["r3a", "r3b", "r3c"].flatMap((dir) => ["--path", `${NODE_NAME}:${join(bricks, dir)}`]);
  rows.push(["node tier: storage-add --wait to pool ready (Replica3, 3 brick pods)", seconds(await add("r3", ["--type", "Replica3", ...r3, "--force"])), "-"]);
  const t0 = Date.now();
  await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", k.pvc("speed", "kadalu.r1", "128Mi"));
  const script = [
    `const chunk = Buffer.alloc(1 << 20, 120); const t0 = performance.now(); const fd = fs.openSync("/data/seq", "w");`,
    `for (let i = 0; i < ${WRITE_MIB}; i++) fs.writeSync(fd, chunk); fs.fsyncSync(fd); fs.closeSync(fd);`,
    `console.log("rate " + (${WRITE_MIB} / ((performance.now() - t0) / 1000))); hold();`,
  ].join(" ");
  await admin.post("/api/v1/namespaces/default/pods", k.appPod("speed", "speed", script));
  await k.waitRunning(node, "speed", 120_000);
  rows.push(["node tier: PVC create to app pod Running (Replica1 brick pool)", seconds(Date.now() - t0), "-"]);
  for (let i = 0; i < 5; i++) await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", k.pvc(`p50-${i}`, "kadalu.r1", "8Mi"));
  const created = await k.waitLog(node, "speed", "the PV write", (lines) => lines.find((line) => line.startsWith("rate ")), 120_000);
  const throughPv = Number(created.split(" ")[1]);
  const onBrickFs = hostWriteRate(join(bricks, "bench-seq"));
  const provisioner = (await admin.get("/api/v1/namespaces/kadalu/pods?labelSelector=app.kubernetes.io/name=kadalu-csi-provisioner")).items[0];
  const claims = ["speed", ...[0, 1, 2, 3, 4].map((i) => `p50-${i}`)];
  let volumes = new Set<string | undefined>();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const names = await Promise.all(
      claims.map(async (claim) => (await admin.get(`/api/v1/namespaces/default/persistentvolumeclaims/${claim}`)).spec.volumeName as string | undefined),
    );
    volumes = new Set(names);
    if (names.every(Boolean)) break;
  }
  const log = String(await admin.get<string>(`/api/v1/namespaces/kadalu/pods/${provisioner.metadata.name}/log?container=kadalu-provisioner`));
  const times = [...log.matchAll(/CreateVolume (pvc-\S+) OK (\d+)ms/g)]
    .filter((match) => volumes.has(match[1]!))
    .map((match) => Number(match[2]))
    .sort((a, b) => a - b);
  rows.push([
    `node tier: CSI CreateVolume p50 (Replica1 brick pool, ${times.length} PVs)`,
    times.length ? `${times[Math.floor(times.length / 2)]} ms` : "not in the provisioner's log",
    "as the provisioner logs it",
  ]);
  rows.push([
    `node tier: sequential write ${WRITE_MIB} MiB through the PV (Replica1 brick pod)`,
    `${throughPv.toFixed(0)} MiB/s (${(throughPv / onBrickFs).toFixed(2)}x the brick's own filesystem, ${onBrickFs.toFixed(0)} MiB/s)`,
    "-",
  ]);
  return rows;
}
