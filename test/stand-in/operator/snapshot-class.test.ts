/** The operator's VolumeSnapshotClass per pool: written beside the StorageClass when the kind is served, removed with the pool. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveInstallOptions } from "../../../src/core/manifests/options.js";
import { OPERATOR_CLUSTER_RULES, OPERATOR_NAMESPACE_RULES, allows } from "../../../src/core/manifests/rbac.js";
import { snapshotCrds } from "../../../src/core/manifests/snapshots.js";
import type { KadaluStorageSpec } from "../../../src/core/pool/types.js";
import { configFromEnv } from "../../../operator/config.js";
import { startOperator, type RunningOperator } from "../../../operator/main.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const API = "kadalu-operator.storage/v1alpha1";
const SNAPSHOT_API = "snapshot.storage.k8s.io/v1";
let cluster: TestCluster;
let operator: RunningOperator | undefined;
const logs: string[] = [];

const config = () => ({
  ...configFromEnv({}),
  namespace: "kadalu",
  kadaluVersion: "1.2.0",
  serverImage: "docker.io/kadalu/kadalu-server:1.2.0",
  resyncMs: 600_000,
  hostCheckTimeoutMs: 500,
  metricsPort: 0,
});
const start = async (): Promise<void> => {
  operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    config: config(),
    log: (level, message) => logs.push(`${level} ${message}`),
    health: false,
  });
};
const pool = (name: string, spec: Partial<KadaluStorageSpec>) =>
  cluster.server.seed({ apiVersion: API, kind: "KadaluStorage", metadata: { name, namespace: "kadalu" }, spec });
const snapshotClass = (name: string) => cluster.server.get(SNAPSHOT_API, "VolumeSnapshotClass", undefined, name);
const storageClass = (name: string) => cluster.server.get("storage.k8s.io/v1", "StorageClass", undefined, name);
const devices = ["kube1", "kube2", "kube3"].map((node) => ({ node, device: "/dev/vdc" }));

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}; logs: ${logs.slice(-5).join(" | ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const deletePool = (name: string): void => {
  cluster.server.objects.delete(cluster.server.registry.byKind(API, "KadaluStorage")!, "kadalu", name, { dryRun: false });
};

beforeEach(async () => {
  logs.length = 0;
  cluster = await startCluster();
});
afterEach(async () => {
  await operator?.stop();
  operator = undefined;
  await cluster.stop();
});

describe("operator: VolumeSnapshotClass per pool", () => {
  it("writes kadalu.<pool> with the driver, Delete and the copy kind, and removes it with the pool; within its RBAC", async () => {
    cluster.server.seed(...(snapshotCrds(resolveInstallOptions({ version: "1.2.0" })) as never[]));
    await start();
    pool("rep3", { type: "Replica3", storage: devices });
    pool("ec", { type: "Disperse", storage: devices, disperse: { data: 2, redundancy: 1 } });
    pool("ext", { type: "External", details: { gluster_hosts: ["127.0.0.1"], gluster_volname: "vol" } });
    await until(() => ["rep3", "ec", "ext"].every((name) => snapshotClass(`kadalu.${name}`)), "three VolumeSnapshotClasses");
    expect(snapshotClass("kadalu.rep3")).toMatchObject({
      driver: "kadalu",
      deletionPolicy: "Delete",
      metadata: { annotations: { "kadalu.io/copy-kind": "full" }, labels: { "kadalu.io/pool": "rep3", "app.kubernetes.io/part-of": "kadalu" } },
    });
    expect(snapshotClass("kadalu.ec")!.metadata.annotations).toEqual({ "kadalu.io/copy-kind": "full" });
    expect(snapshotClass("kadalu.ext")!.metadata.annotations).toEqual({ "kadalu.io/copy-kind": "full" });
    // A class taken away by hand comes back at the next reconcile.
    cluster.server.objects.delete(cluster.server.registry.byKind(SNAPSHOT_API, "VolumeSnapshotClass")!, undefined, "kadalu.rep3", { dryRun: false });
    operator!.controller.queue.add("kadalu/rep3");
    await until(() => snapshotClass("kadalu.rep3") !== undefined, "kadalu.rep3 back");
    for (const name of ["rep3", "ec", "ext"]) deletePool(name);
    await until(
      () => ["rep3", "ec", "ext"].every((name) => !snapshotClass(`kadalu.${name}`) && !storageClass(`kadalu.${name}`)),
      "classes removed with their pools",
    );
    const groups: Record<string, string> = {
      kadalustorages: "kadalu-operator.storage",
      statefulsets: "apps",
      daemonsets: "apps",
      storageclasses: "storage.k8s.io",
      poddisruptionbudgets: "policy",
      volumesnapshotclasses: "snapshot.storage.k8s.io",
    };
    const denied = cluster.server.requests
      .filter((r) => r.resource)
      .filter((r) => {
        const request = { group: groups[r.resource!] ?? "", resource: r.subresource ? `${r.resource}/${r.subresource}` : r.resource!, verb: r.verb };
        return !allows(OPERATOR_CLUSTER_RULES, request) && !(r.namespace === "kadalu" && allows(OPERATOR_NAMESPACE_RULES, request));
      });
    expect(denied.map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}`)).toEqual([]);
    await operator!.controller.queue.idle();
  });

  it("writes none where the cluster has no snapshot CRDs, and the pool is ready all the same", async () => {
    await start();
    pool("ext", { type: "External", details: { gluster_hosts: ["127.0.0.1"], gluster_volname: "vol" } });
    await until(() => storageClass("kadalu.ext") !== undefined, "the StorageClass");
    await operator!.controller.queue.idle();
    expect(cluster.server.registry.byKind(SNAPSHOT_API, "VolumeSnapshotClass")).toBeUndefined();
    expect(logs.filter((line) => line.startsWith("error") && line.includes("kadalu/ext"))).toEqual([]);
  });
});
