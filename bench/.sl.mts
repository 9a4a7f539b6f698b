import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startCluster } from "/work/main/test/helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, writeUpstreamStatDb } from "/work/main/test/helpers/pools.js";
const cluster = await startCluster();
const root = join(cluster.dir, "provisioner");
const entries: Record<string, string> = {};
const n = Number(process.env.POOLS ?? 50);
for (let i = 0; i < n; i++) { entries[`pool${i}.info`] = JSON.stringify({ namespace: "kadalu", kadalu_version: "1.2.0", volname: `pool${i}`, volume_id: "00000000-0000-4000-8000-000000000000", single_pv_per_pool: false, type: "Replica1", pvReclaimPolicy: "delete", bricks: [{ brick_path: `/bricks/p/data/brick`, kube_hostname: "kube1", node: `server-pool${i}-0-0.pool${i}`, node_id: "node-0", host_brick_path: "/data", brick_device: "", pvc_name: "", brick_device_dir: "", decommissioned: "", brick_index: 0 }], disperse: { data: 0, redundancy: 0 }, options: {} }); writeUpstreamStatDb(root, `pool${i}`, 100 * 1024 ** 3, [[`pvc-${i}-a`, 1024 ** 3]]); }
seedKadaluInfo(cluster.server, entries); seedProvisioner(cluster.server, root);
cluster.server.setLatency(20);
const env = { ...process.env, NODE_EXTRA_CA_CERTS: "", KUBECONFIG: cluster.kubeconfig };
const { spawn } = await import("node:child_process");
for (let i = 0; i < 4; i++) {
  const s = Date.now();
  const args = process.env.PROF && i === 3 ? ["--cpu-prof", "--cpu-prof-dir=/tmp/cpuprof2", "/work/main/bin/kubectl-kadalu"] : ["/work/main/bin/kubectl-kadalu"];
  const code = await new Promise((r) => spawn(process.execPath, [...args, "storage-list", "--status", "-o", "json"], { env, stdio: ["ignore", "ignore", "inherit"] }).on("close", r));
  console.log(i, code, Date.now() - s, "ms", cluster.server.requests.slice(-3).map((r: any) => `${r.verb} ${r.resource ?? r.path}`).join(", "));
}
await cluster.stop();
