/**
 * The operator on the real apiserver tier with N pools (Replica1 on a path: a brick StatefulSet, a Service
 * and a StorageClass each): the time a freshly started operator takes to reconcile them all, its RSS then,
 * the API requests per reconcile (the apiserver's audit log), the reconcile p50 on a spec change (to the
 * change in kadalu-info) and kadalu-info's size; then its RSS once the cluster also holds 20k PVs of
 * another driver (the operator watches every PV, to know which still use a pool). The real tier uses global resources: `operatorScenarios`
 * runs this file as a child process under the shared lock (CONTRIBUTING.md); run directly, it prints its
 * rows as JSON.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { INFO_CONFIGMAP, infoDataBytes } from "../src/core/info/codec.js";
import { poolsPath } from "../src/core/kube-vocabulary.js";
import { printRowsIfMain, rowsUnderLock } from "./locked.js";
import { median, spread, type Row } from "./stats.js";

const INFO_PATH = `/api/v1/namespaces/kadalu/configmaps/${INFO_CONFIGMAP}`;
const OPERATOR_USER = "system:serviceaccount:kadalu:kadalu-operator";

/** Runs this file under the shared lock (30 minutes at most) and returns its rows. */
export function operatorScenarios(counts: number[]): Promise<Row[]> {
  return rowsUnderLock(fileURLToPath(import.meta.url), [counts.join(",")], "operator on the real apiserver", 30 * 60_000);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
  }
}

async function reconciles(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    return text
      .split("\n")
      .filter((line) => line.startsWith("kadalu_reconcile_total{"))
      .reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);
  } catch {
    return 0;
  }
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

const poolBody = (name: string): object => ({
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name, namespace: "kadalu" },
  spec: { type: "Replica1", storage: [{ node: "kube1", path: `/data/${name}` }] },
});

/** PVs of another driver: what a large cluster holds beside Kadalu's, and what the operator's PV watch sees. */
const OTHER_PVS = 20_000;
const otherPv = (i: number): object => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name: `other-${i}`, labels: { team: "elsewhere" }, annotations: { "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com" } },
  spec: {
    capacity: { storage: "10Gi" },
    accessModes: ["ReadWriteOnce"],
    persistentVolumeReclaimPolicy: "Delete",
    storageClassName: "gp3",
    csi: { driver: "ebs.csi.aws.com", volumeHandle: `vol-${i.toString(16).padStart(17, "0")}`, fsType: "ext4", volumeAttributes: { partition: "" } },
    nodeAffinity: {
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.ebs.csi.aws.com/zone", operator: "In", values: ["eu-west-1a"] }] }] },
    },
  },
});

/** The operator's RSS with `pools` pools once the cluster also holds `count` PVs of another driver. */
async function withOtherVolumes(
  cluster: import("../harness/real/cluster.js").RealCluster,
  startOperator: typeof import("../harness/real/kadalu.js").startOperator,
  pools: number,
  count: number,
): Promise<Row> {
  const started = performance.now();
  for (let made = 0; made < count; made += 50)
    await Promise.all(Array.from({ length: Math.min(50, count - made) }, (_, i) => cluster.admin.post("/api/v1/persistentvolumes", otherPv(made + i))));
  const seeding = performance.now() - started;
  const mark = cluster.audit().length;
  const operator = await startOperator(cluster);
  try {
    await until(`${pools} reconciles beside ${count} PVs`, async () => ((await reconciles(operator.metricsPort)) >= pools ? true : undefined), 20 * 60_000);
    // The PV watch starts once its list is whole: from then on the cache holds every PV.
    await until(
      "the operator's PV watch",
      async () =>
        cluster
          .audit()
          .slice(mark)
          .some((event) => event.user.username === OPERATOR_USER && event.verb === "watch" && event.objectRef?.resource === "persistentvolumes") || undefined,
      5 * 60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return [
      `  ${pools} pools and ${count / 1000}k PVs of another driver`,
      `${rssMiB(operator.child.pid!).toFixed(0)} MiB RSS (the PVs made in ${(seeding / 1000).toFixed(0)} s)`,
      "RSS <= 200 MiB",
    ];
  } finally {
    await cluster.processes.stop(operator);
  }
}

async function main(counts: number[]): Promise<Row[]> {
  const { kubernetesParts } = await import("../harness/real/components.js");
  const parts = kubernetesParts();
  if (typeof parts === "string") return [["operator on the real apiserver", `skipped: ${parts}`, "-"]];
  const { startRealCluster } = await import("../harness/real/cluster.js");
  const { kadalu, startOperator } = await import("../harness/real/kadalu.js");
  const cluster = await startRealCluster(parts);
  const rows: Row[] = [
    [
      "operator, real apiserver, N Replica1 pools",
      "reconcile all from a fresh start; RSS; requests/reconcile; change p50 (min/med/max); kadalu-info",
      "p50 <= 2 s, RSS <= 200 MiB at 500 (issue 40)",
    ],
  ];
  try {
    const install = await kadalu(cluster.adminKubeconfig, ["install"]);
    if (install.code !== 0) throw new Error(`install failed: ${install.stderr}`);
    let made = 0;
    for (const count of counts) {
      let operator = await startOperator(cluster);
      for (; made < count; made += 10)
        await Promise.all(Array.from({ length: Math.min(10, count - made) }, (_, i) => cluster.admin.post(poolsPath("kadalu"), poolBody(`pool${made + i}`))));
      made = count;
      const info = async (): Promise<Record<string, string>> => (await cluster.admin.get(INFO_PATH)).data ?? {};
      await until(
        `kadalu-info with ${count} pools`,
        async () => (Object.keys(await info()).filter((key) => key.endsWith(".info")).length >= count ? true : undefined),
        20 * 60_000,
      );
      await cluster.processes.stop(operator);
      // A fresh operator reconciles every pool once: the cost of a start (or a resync) at this size.
      const before = cluster.audit().length;
      const started = performance.now();
      operator = await startOperator(cluster);
      await until(`${count} reconciles`, async () => ((await reconciles(operator.metricsPort)) >= count ? true : undefined), 20 * 60_000);
      const all = performance.now() - started;
      const requests = cluster
        .audit()
        .slice(before)
        .filter((event) => event.user.username === OPERATOR_USER && event.verb !== "watch").length;
      const rss = rssMiB(operator.child.pid!);
      const changes: number[] = [];
      const changeRequests: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const pool = `pool${(i * 7) % count}`;
        const value = `v${count}-${i}`;
        const mark = cluster.audit().length;
        const t0 = performance.now();
        await cluster.admin.merge(`${poolsPath("kadalu")}/${pool}`, { spec: { options: [{ key: "performance.quick-read", value }] } });
        await until(`the change of ${pool}`, async () => ((await info())[`${pool}.info`]?.includes(value) ? true : undefined), 120_000);
        changes.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 500));
        changeRequests.push(
          cluster
            .audit()
            .slice(mark)
            .filter((event) => event.user.username === OPERATOR_USER && event.verb !== "watch").length,
        );
      }
      const bytes = infoDataBytes(await info());
      rows.push([
        `  ${count} pool${count > 1 ? "s" : ""}`,
        `${(all / 1000).toFixed(1)} s; ${rss.toFixed(0)} MiB; ${(requests / count).toFixed(1)} at start, ${median(changeRequests)} per change; ${spread(changes, 0, " ms")}; ${(bytes / 1024).toFixed(0)} KiB`,
        "-",
      ]);
      await cluster.processes.stop(operator);
    }
    rows.push(await withOtherVolumes(cluster, startOperator, made, OTHER_PVS));
    return rows;
  } finally {
    await cluster.stop();
  }
}

printRowsIfMain(import.meta.url, (args) => main((args[0] ?? "1,50,500").split(",").map(Number)));
