/**
 * `storage-list --status` for 1, 10 and 50 pools against the API test server with 20 ms latency per
 * request: our binary's wall time and request count, next to upstream's cost for the same case, measured
 * by running upstream's own command sequence with the real kubectl (1 ConfigMap get + 1 exec of sqlite3
 * per pool, each a kubectl process).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster } from "../harness/helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, writeUpstreamStatDb } from "../harness/helpers/pools.js";
import { encodeInfo, infoKey, type NativePoolInfo } from "../src/core/info/codec.js";
import { StatDb } from "../src/statdb/stat-db.js";
import type { Row } from "./stats.js";

const BIN = fileURLToPath(new URL("../bin/kubectl-kadalu", import.meta.url));
const GiB = 1024 ** 3;
const LATENCY_MS = 20;

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) =>
      code === 0 ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error(`${command} ${args.slice(0, 3).join(" ")}: ${stderr}`)),
    );
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function info(name: string): string {
  return JSON.stringify({
    namespace: "kadalu",
    kadalu_version: "1.2.0",
    volname: name,
    volume_id: "00000000-0000-4000-8000-000000000000",
    single_pv_per_pool: false,
    type: "Replica1",
    pvReclaimPolicy: "delete",
    bricks: [
      {
        brick_path: `/bricks/${name}/data/brick`,
        kube_hostname: "kube1",
        node: `server-${name}-0-0.${name}`,
        node_id: "node-0",
        host_brick_path: "/data",
        brick_device: "",
        pvc_name: "",
        brick_device_dir: "",
        decommissioned: "",
        brick_index: 0,
      },
    ],
    disperse: { data: 0, redundancy: 0 },
    options: {},
  });
}

/** A pool of `pvs` PVs in one stat.db, written as the provisioner would have (one transaction here). */
function writeLargeStatDb(root: string, pool: string, pvs: number): void {
  mkdirSync(join(root, "mnt", pool), { recursive: true });
  const db = StatDb.open(join(root, "mnt", pool, "stat.db"));
  try {
    db.transaction(() => {
      db.upsertSummary(pool, 100_000 * GiB);
      for (let i = 0; i < pvs; i += 1) db.upsertPv(`pvc-${pool}-${i}`, GiB);
    });
  } finally {
    db.close();
  }
}

async function measure(pools: number, kubectl: boolean, pvsInOne = 0): Promise<Row[]> {
  const cluster = await startCluster();
  const cache = mkdtempSync(join(tmpdir(), "kadalu-bench-"));
  try {
    const root = join(cluster.dir, "provisioner");
    const entries: Record<string, string> = {};
    for (let i = 0; i < pools; i += 1) {
      entries[`pool${i}.info`] = info(`pool${i}`);
      if (pvsInOne > 0) writeLargeStatDb(root, `pool${i}`, pvsInOne);
      else
        writeUpstreamStatDb(root, `pool${i}`, 100 * GiB, [
          [`pvc-${i}-a`, GiB],
          [`pvc-${i}-b`, 2 * GiB],
        ]);
    }
    seedKadaluInfo(cluster.server, entries);
    seedProvisioner(cluster.server, root);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: "", KUBECONFIG: cluster.kubeconfig, XDG_CACHE_HOME: cache, KUBECACHEDIR: join(cache, "kube") };
    await run(process.execPath, [BIN, "storage-list", "--status", "-o", "json"], env);
    cluster.server.setLatency(LATENCY_MS);
    const times: number[] = [];
    let requests = 0;
    for (let i = 0; i < 5; i += 1) {
      cluster.server.clearRequests();
      times.push(await run(process.execPath, [BIN, "storage-list", "--status", "-o", "json"], env));
      requests = cluster.server.requests.length;
    }
    const what = pvsInOne > 0 ? `1 pool of ${pvsInOne / 1000}k PVs` : `${pools} pool${pools > 1 ? "s" : ""}`;
    const rows: Row[] = [
      [
        `storage-list --status, ${what}, ${LATENCY_MS} ms/request`,
        `${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}), ${requests} requests`,
        pools === 50 ? "<= 300 ms and 3 requests (issue 16)" : "-",
      ],
    ];
    if (kubectl) {
      const upstream: number[] = [];
      const sql = "select size from summary;select count(pvname), sum(size), min(size), avg(size), max(size) from pv_stats";
      await run("kubectl", ["get", "configmap", "kadalu-info", "-n", "kadalu", "-o", "json"], env);
      for (let round = 0; round < 3; round += 1) {
        const start = process.hrtime.bigint();
        cluster.server.clearRequests();
        await run("kubectl", ["get", "configmap", "kadalu-info", "-n", "kadalu", "-o", "json"], env);
        for (let i = 0; i < pools; i += 1) {
          await run(
            "kubectl",
            ["exec", "-n", "kadalu", "kadalu-csi-provisioner-0", "-c", "kadalu-provisioner", "--", "sqlite3", `/mnt/pool${i}/stat.db`, sql],
            env,
          );
        }
        upstream.push(Number(process.hrtime.bigint() - start) / 1e6);
        requests = cluster.server.requests.length;
      }
      rows.push(["  upstream's sequence (1 + N kubectl processes), measured", `${median(upstream).toFixed(0)} ms, ${requests} requests`, "-"]);
    }
    return rows;
  } finally {
    await cluster.stop();
    rmSync(cache, { recursive: true, force: true });
  }
}

/** storage-list --status with each count of pools (two PVs each), then with one pool of `bigPool` PVs (0: not). */
export async function scenarios(poolCounts: number[], bigPool: number, upstream = true): Promise<Row[]> {
  const kubectl = upstream && spawnSync("kubectl", ["version", "--client"]).status === 0;
  const rows: Row[] = [];
  // upstream's sequence runs one kubectl per pool: measured up to 50 pools.
  for (const pools of poolCounts) rows.push(...(await measure(pools, kubectl && pools <= 50)));
  if (bigPool > 0) rows.push(...(await measure(1, false, bigPool)));
  if (!kubectl && upstream) rows.push(["(kubectl not on PATH: upstream's sequence not measured)", "-", "-"]);
  return rows;
}

/**
 * kadalu-info's size (a ConfigMap holds at most 1 MiB in all) with N Replica3 pools of three bricks each,
 * encoded as the operator writes them, and the pool count at which it would reach 1 MiB.
 */
export function infoSizeScenarios(): Row[] {
  const entry = (i: number): [string, string] => {
    const volname = `pool-${String(i).padStart(4, "0")}`;
    const bricks = [0, 1, 2].map((index) => ({
      brick_path: `/bricks/${volname}/data/brick`,
      kube_hostname: `worker-node-${index}`,
      node: `server-${volname}-${index}-0.${volname}`,
      node_id: `node-${index}`,
      host_brick_path: "",
      brick_device: `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi${index}`,
      pvc_name: "",
      brick_device_dir: "",
      decommissioned: "",
      brick_index: index,
    }));
    const info: NativePoolInfo = {
      namespace: "kadalu",
      kadalu_version: "1.2.0",
      volname,
      volume_id: "6f0e2e5c-3c8d-4f3e-9a51-2b7a0c1d9e42",
      single_pv_per_pool: false,
      type: "Replica3",
      pvReclaimPolicy: "delete",
      bricks,
      disperse: { data: 0, redundancy: 0 },
      options: {},
    };
    return [infoKey(volname), encodeInfo(info)];
  };
  const bytes = (pools: number): number =>
    Array.from({ length: pools }, (_, i) => entry(i)).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  const perPool = bytes(500) / 500;
  const rows: Row[] = [];
  for (const pools of [1, 50, 500])
    rows.push([
      `kadalu-info's data, ${pools} Replica3 pool${pools > 1 ? "s" : ""} (3 bricks each)`,
      `${(bytes(pools) / 1024).toFixed(1)} KiB`,
      "< 1 MiB (a ConfigMap's limit)",
    ]);
  rows.push(["  pools of that shape at which it reaches 1 MiB", String(Math.floor((1024 * 1024) / perPool)), "-"]);
  return rows;
}
