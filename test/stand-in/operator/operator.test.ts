/** The real operator against the API test server: produced objects, info, status, failures, deletion. */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OPERATOR_CLUSTER_RULES, OPERATOR_NAMESPACE_RULES, allows } from "../../../src/core/manifests/rbac.js";
import type { KadaluStorageSpec } from "../../../src/core/pool/types.js";
import { configFromEnv } from "../../../operator/config.js";
import { startOperator, type RunningOperator } from "../../../operator/main.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const API = "kadalu-operator.storage/v1alpha1";
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/info/${name}`, import.meta.url), "utf8");
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
async function start(): Promise<RunningOperator> {
  operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    config: config(),
    log: (level, message) => logs.push(`${level} ${message}`),
    health: false,
  });
  return operator;
}
const pool = (name: string, spec: Partial<KadaluStorageSpec>, namespace = "kadalu") =>
  cluster.server.seed({ apiVersion: API, kind: "KadaluStorage", metadata: { name, namespace }, spec })[0]!;
const get = (kind: string, name: string, namespace?: string) => {
  const apiVersion = { StatefulSet: "apps/v1", StorageClass: "storage.k8s.io/v1", KadaluStorage: API, PodDisruptionBudget: "policy/v1" }[kind] ?? "v1";
  return cluster.server.get(apiVersion, kind, kind === "StorageClass" ? undefined : (namespace ?? "kadalu"), name);
};
const info = (): Record<string, string> => get("ConfigMap", "kadalu-info")?.data ?? {};
const status = (name: string, namespace = "kadalu") => get("KadaluStorage", name, namespace)?.status;

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}; logs: ${logs.slice(-5).join(" | ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function markBricksReady(name: string, count: number): void {
  for (let index = 0; index < count; index += 1) {
    cluster.server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `server-${name}-${index}-0`,
        namespace: "kadalu",
        labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", "app.kubernetes.io/name": "server", "kadalu.io/pool": name },
      },
      spec: { containers: [{ name: "server" }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    });
  }
}

const devices = (nodes = ["kube1", "kube2", "kube3"]) => nodes.map((node) => ({ node, device: "/dev/vdc" }));
const envOf = (sts: any): Record<string, string> => Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

beforeEach(async () => {
  logs.length = 0;
  cluster = await startCluster();
});
afterEach(async () => {
  await operator?.stop();
  operator = undefined;
  await cluster.stop();
});

describe("operator: native pools", () => {
  it("writes <pool>.info byte for byte as upstream, and the brick StatefulSets, Service and StorageClass", async () => {
    await start();
    pool("pool1", {
      type: "Replica3",
      storage: devices(),
      volume_id: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002",
      options: [{ key: "performance.quick-read", value: "off" }],
    });
    await until(() => status("pool1")?.state === "initializing", "pool1 initializing");
    expect(info()["pool1.info"]).toBe(fixture("pool1.info"));
    expect(info().uid).toMatch(/^[0-9a-f-]{36}$/);
    const sts = get("StatefulSet", "server-pool1-1")!;
    expect(sts.spec.serviceName).toBe("pool1");
    expect(sts.spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/part-of": "kadalu",
      "app.kubernetes.io/component": "server",
      "app.kubernetes.io/name": "server",
    });
    expect(envOf(sts)).toEqual({
      HOSTNAME: "kube2",
      SHD_REQUIRED: "1",
      VOLUME: "pool1",
      VOLUME_TYPE: "Replica3",
      BRICK_PATH: "/bricks/pool1/data/brick",
      NODEID: "node-1",
      VOLUME_ID: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002",
      BRICK_INDEX: "1",
      BRICK_DEVICE: "/dev/vdc",
      KADALU_VERSION: "1.2.0",
      K8S_DIST: "kubernetes",
      VERBOSE: "no",
      SUBVOL_ROOT: "subvol",
    });
    const podSpec = sts.spec.template.spec;
    expect(podSpec.containers[0].image).toBe("docker.io/kadalu/kadalu-server:1.2.0");
    expect(podSpec.containers[0].securityContext).toEqual({ privileged: true });
    expect(podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions).toEqual([
      { key: "kubernetes.io/hostname", operator: "In", values: ["kube2"] },
    ]);
    expect(podSpec.volumes.find((v: any) => v.name === "glusterfsd-mountdir")).toEqual({ name: "glusterfsd-mountdir", emptyDir: {} });
    expect(podSpec.containers[0].volumeMounts.map((m: any) => m.mountPath)).toEqual([
      "/dev",
      "/sys/fs/cgroup",
      "/var/lib/gluster",
      "/bricks/pool1",
      "/lib/modules",
    ]);
    expect(podSpec.containers[0].readinessProbe).toEqual({ tcpSocket: { port: 24007 }, initialDelaySeconds: 7, periodSeconds: 10 });
    // The brick runtime's /metrics, found by Prometheus' pod discovery.
    expect(podSpec.containers[0].ports).toEqual([
      { name: "brickport", containerPort: 24007 },
      { name: "metrics", containerPort: 8050 },
    ]);
    expect(sts.spec.template.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": "8050", "prometheus.io/path": "/metrics" });
    // No owner: the garbage collector must never remove serving bricks (foreground deletes); the label ties them.
    expect(sts.metadata.ownerReferences).toBeUndefined();
    expect(sts.metadata.labels["kadalu.io/pool"]).toBe("pool1");
    expect(get("Service", "pool1")!.spec).toMatchObject({ clusterIP: "None", ports: [{ name: "brickport", port: 24007, targetPort: 24007, protocol: "TCP" }] });
    const sc = get("StorageClass", "kadalu.pool1")!;
    expect(sc).toMatchObject({ provisioner: "kadalu", allowVolumeExpansion: true, parameters: { storage_name: "pool1", single_pv_per_pool: "False" } });
    expect(status("pool1")).toMatchObject({
      bricks: { ready: 0, total: 3 },
      volumeId: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002",
      storageClass: "kadalu.pool1",
      observedGeneration: 1,
    });
    expect(get("KadaluStorage", "pool1")!.metadata.finalizers).toEqual(["kadalu-operator.storage/finalizer"]);
  });

  it("reports ready once every brick pod is Ready, with conditions and an Event", async () => {
    await start();
    pool("pool1", { type: "Replica3", storage: devices() });
    await until(() => status("pool1")?.state === "initializing", "initializing");
    markBricksReady("pool1", 3);
    await until(() => status("pool1")?.state === "ready", "ready");
    expect(status("pool1").conditions.map((c: any) => [c.type, c.status])).toEqual([
      ["Valid", "True"],
      ["ConfigWritten", "True"],
      ["BricksReady", "True"],
      ["StorageClassReady", "True"],
    ]);
    expect(status("pool1").bricks).toEqual({ ready: 3, total: 3 });
    await until(() => cluster.server.list("v1", "Event", "kadalu").length > 0, "the Ready event");
    const events = cluster.server.list("v1", "Event", "kadalu");
    expect(events.map((e) => [e.type, e.reason, e.involvedObject.name])).toEqual([["Normal", "Ready", "pool1"]]);
  });

  it("names a brick directory missing on its node (the brick pod's FailedMount): state error, then ready once the pod runs", async () => {
    await start();
    pool("pool1", { type: "Replica1", storage: [{ node: "kube2", path: "/data/pool1" }] });
    await until(() => status("pool1")?.state === "initializing", "initializing");
    const [brick] = cluster.server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "server-pool1-0-0", namespace: "kadalu", labels: { "app.kubernetes.io/component": "server", "kadalu.io/pool": "pool1" } },
      spec: { nodeName: "kube2", containers: [{ name: "server", image: "docker.io/kadalu/kadalu-server:1.2.0" }] },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "True" }],
        containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }],
      },
    });
    // An event of an earlier pod of that name says nothing of this one; the kubelet's event for this pod does.
    const failedMount = (uid: string, name: string) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: "kadalu" },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: "server-pool1-0-0", namespace: "kadalu", uid },
      type: "Warning",
      reason: "FailedMount",
      message: 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool1 is not a directory',
      source: { component: "kubelet", host: "kube2" },
      firstTimestamp: "2026-12-06T00:00:00Z",
      lastTimestamp: "2026-12-06T00:00:00Z",
      count: 1,
    });
    cluster.server.seed(failedMount("an-earlier-pod", "server-pool1-0-0.old"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(status("pool1").message).toBe("0/1 brick pods ready");
    cluster.server.seed(failedMount(brick!.metadata.uid!, "server-pool1-0-0.1"));
    await until(() => status("pool1")?.state === "error", "state error");
    expect(status("pool1").message).toBe("brick directory /data/pool1 is missing on node kube2");
    expect(status("pool1").conditions.find((c: any) => c.type === "BricksReady")).toMatchObject({
      status: "False",
      reason: "BrickDirectoryMissing",
      message: "brick directory /data/pool1 is missing on node kube2",
    });
    await until(() => cluster.server.list("v1", "Event", "kadalu").some((e) => e.reason === "BrickDirectoryMissing"), "the pool's Warning event");
    // The directory made, the kubelet mounts it; then the image cannot be pulled: the message says so, the state is initializing again.
    cluster.server.setStatus("v1", "Pod", "kadalu", "server-pool1-0-0", {
      phase: "Pending",
      containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ImagePullBackOff" } } }],
    });
    await until(() => status("pool1")?.state === "initializing", "initializing again");
    expect(status("pool1").message).toBe(
      "0/1 brick pods ready; server-pool1-0-0: ImagePullBackOff: image docker.io/kadalu/kadalu-server:1.2.0 cannot be pulled",
    );
    cluster.server.setStatus("v1", "Pod", "kadalu", "server-pool1-0-0", {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "server", ready: true, restartCount: 0, state: { running: {} } }],
    });
    await until(() => status("pool1")?.state === "ready", "ready once the brick runs");
  });

  it("creates a Replica3 pool with one write per object and one status write", async () => {
    const running = await start();
    await running.controller.queue.idle();
    cluster.server.clearRequests();
    pool("pool1", { type: "Replica3", storage: devices() });
    await until(() => status("pool1")?.state === "initializing", "initializing");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await running.controller.queue.idle();
    const writes = cluster.server.writes().map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}${r.name ? ` ${r.name}` : ""}`);
    expect(writes.sort()).toEqual([
      "patch configmaps kadalu-info",
      "patch kadalustorages pool1",
      "patch kadalustorages/status pool1",
      "patch poddisruptionbudgets server-pool1-group-0",
      "patch services pool1",
      "patch statefulsets server-pool1-0",
      "patch statefulsets server-pool1-1",
      "patch statefulsets server-pool1-2",
      "patch storageclasses kadalu.pool1",
    ]);
  });

  it("writes 30 pools made at once into kadalu-info without a conflict, reading it from its watch, not per reconcile", async () => {
    const running = await start();
    await running.controller.queue.idle();
    cluster.server.clearRequests();
    for (let i = 0; i < 30; i += 1) pool(`many${i}`, { type: "Replica1", storage: [{ node: "kube1", path: `/data/many${i}` }] });
    await until(() => Object.keys(info()).filter((key) => key.startsWith("many")).length === 30, "30 info keys");
    await running.controller.queue.idle();
    const infoRequests = cluster.server.requests.filter((r) => r.resource === "configmaps" && r.name === "kadalu-info");
    expect(infoRequests.filter((r) => r.code === 409)).toEqual([]);
    expect(infoRequests.filter((r) => r.verb === "get")).toEqual([]);
    expect(infoRequests.filter((r) => r.verb === "patch")).toHaveLength(30);
  });

  it("makes zero writes when a reconcile finds nothing to change", async () => {
    const running = await start();
    pool("pool1", { type: "Replica3", storage: devices() });
    markBricksReady("pool1", 3);
    await until(() => status("pool1")?.state === "ready", "ready");
    await running.controller.queue.idle();
    cluster.server.clearRequests();
    running.controller.queue.add("kadalu/pool1");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await running.controller.queue.idle();
    expect(cluster.server.requests.length).toBeGreaterThan(0);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("does not reconcile for a status-only update (the CSI's usage), but does for a spec change", async () => {
    const running = await start();
    pool("pool1", { type: "Replica3", storage: devices() });
    markBricksReady("pool1", 3);
    await until(() => status("pool1")?.state === "ready", "ready");
    await running.controller.queue.idle();
    let reconciles = 0;
    running.controller.onReconciled = () => {
      reconciles += 1;
    };
    cluster.server.clearRequests();
    const usage = { capacityBytes: 10 << 30, provisionedBytes: 1 << 30, pvCount: 1, updatedAt: "2026-12-06T00:00:00Z" };
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { ...status("pool1"), usage });
    await until(() => running.controller.pools.cache.get("kadalu/pool1")?.status?.usage?.pvCount === 1, "the usage seen by the operator");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await running.controller.queue.idle();
    expect(reconciles).toBe(0);
    expect(cluster.server.writes()).toEqual([]);
    expect(cluster.server.requests.filter((r) => r.verb !== "watch").map((r) => `${r.verb} ${r.resource}`)).toEqual([]);
    // A spec change (a new generation) is reconciled, and the usage is kept.
    const type = cluster.server.registry.byKind(API, "KadaluStorage")!;
    const live = cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")!;
    cluster.server.objects.commit(type, live, { ...live, spec: { ...live.spec, options: [{ key: "performance.quick-read", value: "off" }] } }, undefined, {
      dryRun: false,
    });
    await until(() => JSON.parse(info()["pool1.info"]!).options?.["performance.quick-read"] === "off", "the option in pool1.info");
    // kadalu-info is written inside the reconcile; the count moves when the reconcile ends.
    await until(() => reconciles > 0, "the spec change reconciled");
    expect(status("pool1").usage).toEqual(usage);
  });

  it.each([
    [
      "Replica1 on paths",
      {
        type: "Replica1",
        storage: [
          { node: "kube1", path: "/data/p" },
          { node: "kube2", path: "/data/p" },
        ],
      },
      2,
      (sts: any) => {
        expect(envOf(sts).SHD_REQUIRED).toBeUndefined();
        expect(sts.spec.template.spec.volumes.find((v: any) => v.name === "glusterfsd-mountdir").hostPath).toEqual({ path: "/data/p", type: "Directory" });
      },
    ],
    [
      "Replica2 on PVCs with a tiebreaker",
      { type: "Replica2", storage: [{ pvc: "b1" }, { pvc: "b2" }], tiebreaker: { node: "tb.example.com", path: "/mnt" } },
      2,
      (sts: any) => {
        expect(envOf(sts).HOSTNAME).toBeUndefined();
        expect(sts.spec.template.spec.affinity).toBeUndefined();
        expect(sts.spec.template.spec.volumes.find((v: any) => v.name === "glusterfsd-mountdir").persistentVolumeClaim).toEqual({ claimName: "b1" });
        expect(sts.spec.template.spec.volumes.some((v: any) => v.name === "kernel-modules")).toBe(false);
      },
    ],
    [
      "Disperse 2+1 on file devices",
      { type: "Disperse", storage: [1, 2, 3].map((i) => ({ node: `kube${i}`, device: "/var/lib/kadalu/disk.img" })), disperse: { data: 2, redundancy: 1 } },
      3,
      (sts: any) => {
        expect(envOf(sts)).toMatchObject({ SHD_REQUIRED: "1", VOLUME_TYPE: "Disperse", BRICK_DEVICE: "/var/lib/kadalu/disk.img" });
        expect(sts.spec.template.spec.volumes.find((v: any) => v.name === "brickdev")).toEqual({
          name: "brickdev",
          hostPath: { path: "/var/lib/kadalu", type: "Directory" },
        });
      },
    ],
    [
      "Arbiter (with the self-heal daemon upstream forgot)",
      { type: "Arbiter", storage: devices() },
      3,
      (sts: any) => {
        expect(envOf(sts)).toMatchObject({ SHD_REQUIRED: "1", VOLUME_TYPE: "Arbiter" });
      },
    ],
  ])("%s", async (_name, spec, bricks, check) => {
    await start();
    pool("p1", spec as Partial<KadaluStorageSpec>);
    await until(() => status("p1")?.state === "initializing", "initializing");
    for (let i = 0; i < bricks; i += 1) expect(get("StatefulSet", `server-p1-${i}`)).toBeDefined();
    expect(get("StatefulSet", `server-p1-${bricks}`)).toBeUndefined();
    check(get("StatefulSet", "server-p1-0"));
    const written = JSON.parse(info()["p1.info"]!);
    expect(written.bricks).toHaveLength(bricks);
    if (spec.type === "Replica2") expect(written.tiebreaker).toEqual({ node: "tb.example.com", path: "/mnt", port: 24007 });
    if (spec.type === "Disperse") expect(written.disperse).toEqual({ data: 2, redundancy: 1 });
  });
});

describe("operator: process", () => {
  it("serves /healthz at once and /readyz once its caches are synced", async () => {
    operator = await startOperator({ kubeconfig: cluster.kubeconfig, config: { ...config(), healthPort: 0 }, log: () => undefined });
    const { port } = operator.health!.address() as { port: number };
    for (const path of ["/healthz", "/readyz"]) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect([path, response.status, await response.text()]).toEqual([path, 200, "ok\n"]);
    }
  });
});

describe("operator: External pools", () => {
  let gluster: Server;
  let port: number;
  beforeEach(async () => {
    gluster = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => gluster.listen(0, "127.0.0.1", resolve));
    port = (gluster.address() as { port: number }).port;
  });
  afterEach(async () => {
    await new Promise((resolve) => gluster.close(resolve));
  });

  it("writes the External info and StorageClass, checks the hosts, and runs no server pods", async () => {
    await start();
    pool("ext1", {
      type: "External",
      storage: [],
      details: { gluster_host: "127.0.0.1", gluster_hosts: ["localhost"], gluster_volname: "gv0", gluster_options: "log-level=DEBUG", gluster_port: port },
    });
    await until(() => status("ext1")?.state === "ready", "ready");
    expect(JSON.parse(info()["ext1.info"]!)).toMatchObject({
      type: "External",
      gluster_hosts: "127.0.0.1,localhost",
      gluster_volname: "gv0",
      gluster_options: "log-level=DEBUG",
    });
    expect(get("StorageClass", "kadalu.ext1")!.parameters).toEqual({
      hostvol_type: "External",
      gluster_hosts: "127.0.0.1,localhost",
      gluster_volname: "gv0",
      gluster_options: "log-level=DEBUG",
      single_pv_per_pool: "False",
    });
    expect(status("ext1").conditions.find((c: any) => c.type === "HostsReachable").status).toBe("True");
    expect(cluster.server.list("apps/v1", "StatefulSet", "kadalu")).toEqual([]);
  });

  it("reports unreachable hosts in status without crashing", async () => {
    await start();
    await new Promise((resolve) => gluster.close(resolve));
    pool("ext2", { type: "External", storage: [], details: { gluster_hosts: ["127.0.0.1"], gluster_volname: "gv0", gluster_port: port } });
    await until(() => status("ext2")?.state === "error", "error");
    expect(status("ext2").message).toBe(`no Gluster host is reachable: 127.0.0.1:${port} refused the connection`);
    gluster = createServer();
    await new Promise<void>((resolve) => gluster.listen(0, "127.0.0.1", resolve));
  });
});

describe("operator: correctness under change and failure", () => {
  it("puts validation errors in status and an Event, never only in a log", async () => {
    await start();
    pool("bad", { type: "Replica3", storage: devices(["kube1", "kube2"]) });
    await until(() => status("bad")?.state === "error", "error");
    expect(status("bad").message).toBe("spec.storage: Replica3 takes storage units in groups of 3, got 2; give a multiple of 3");
    expect(status("bad").conditions[0]).toMatchObject({ type: "Valid", status: "False", reason: "InvalidSpec" });
    await until(() => cluster.server.list("v1", "Event", "kadalu").length > 0, "the InvalidSpec event");
    expect(cluster.server.list("v1", "Event", "kadalu").map((e) => [e.type, e.reason])).toEqual([["Warning", "InvalidSpec"]]);
    expect(info()["bad.info"]).toBeUndefined();
  });

  it("adds whole groups, refuses removing units, and keeps the volume id across restarts", async () => {
    let running = await start();
    pool("p1", { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] });
    await until(() => Boolean(status("p1")?.volumeId), "volume id");
    const volumeId = status("p1").volumeId;
    const type = cluster.server.registry.byKind(API, "KadaluStorage")!;
    const live = () => cluster.server.get(API, "KadaluStorage", "kadalu", "p1")!;
    cluster.server.objects.commit(
      type,
      live(),
      {
        ...live(),
        spec: {
          ...live().spec,
          storage: [
            { node: "kube1", path: "/a" },
            { node: "kube2", path: "/b" },
          ],
        },
      },
      undefined,
      { dryRun: false },
    );
    await until(() => get("StatefulSet", "server-p1-1") !== undefined, "second brick");
    cluster.server.objects.commit(type, live(), { ...live(), spec: { ...live().spec, storage: [{ node: "kube2", path: "/b" }] } }, undefined, {
      dryRun: false,
    });
    await until(() => status("p1")?.state === "error", "refused change");
    expect(status("p1").message).toContain("removing storage units is not supported (data would be lost)");
    expect(get("StatefulSet", "server-p1-1")).toBeDefined();
    await running.stop();
    running = await start();
    await running.controller.queue.idle();
    expect(JSON.parse(info()["p1.info"]!).volume_id).toBe(volumeId);
    // A changed spec.volume_id never replaces the stored one (the bricks carry it); the conditions say so.
    cluster.server.objects.commit(
      type,
      live(),
      {
        ...live(),
        spec: {
          ...live().spec,
          storage: [
            { node: "kube1", path: "/a" },
            { node: "kube2", path: "/b" },
          ],
          volume_id: "00000000-0000-4000-8000-00000000beef",
        },
      },
      undefined,
      { dryRun: false },
    );
    await until(() => status("p1")?.conditions?.some((c: any) => c.reason === "VolumeIdChangeRefused"), "volume id refusal");
    expect(JSON.parse(info()["p1.info"]!).volume_id).toBe(volumeId);
    expect(status("p1").volumeId).toBe(volumeId);
    expect(status("p1").conditions.find((c: any) => c.type === "Valid").message).toContain(`the pool keeps ${volumeId}`);
  });

  it("has the grown pool's brick pods and the CSI pods refresh kadalu-info at once, never other pools' bricks", async () => {
    const running = await start();
    pool("p1", { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] });
    pool("p2", { type: "Replica1", storage: [{ node: "kube1", path: "/c" }] });
    markBricksReady("p1", 1);
    markBricksReady("p2", 1);
    const csiLabels = { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "csi-driver" };
    cluster.server.seed(
      ...["kadalu-csi-nodeplugin-x1", "kadalu-csi-provisioner-0"].map((name) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "kadalu", labels: { ...csiLabels, "app.kubernetes.io/name": name.replace(/-(x1|0)$/, "") } },
        spec: { containers: [{ name: "csi" }] },
        status: { phase: "Running" },
      })),
    );
    await until(() => status("p1")?.state === "ready" && status("p2")?.state === "ready", "both pools ready");
    await running.controller.queue.idle();
    await running.controller.infoRefresh.settled();
    const annotation = (name: string): string | undefined => get("Pod", name)?.metadata.annotations?.["kadalu.io/info-version"];
    const before = annotation("server-p2-0-0");
    cluster.server.clearRequests();
    const type = cluster.server.registry.byKind(API, "KadaluStorage")!;
    const live = cluster.server.get(API, "KadaluStorage", "kadalu", "p1")!;
    const grown = { ...live.spec, storage: [...live.spec.storage, { node: "kube2", path: "/b" }] };
    cluster.server.objects.commit(type, live, { ...live, spec: grown }, undefined, { dryRun: false });
    await until(() => JSON.parse(info()["p1.info"] ?? "{}").bricks?.length === 2, "p1.info with two bricks");
    const version = get("ConfigMap", "kadalu-info")!.metadata.resourceVersion;
    await until(
      () => ["server-p1-0-0", "kadalu-csi-nodeplugin-x1", "kadalu-csi-provisioner-0"].every((name) => annotation(name) === version),
      "the annotations",
    );
    expect(annotation("server-p2-0-0")).toBe(before);
    const patched = cluster.server.requests.filter((r) => r.resource === "pods" && r.verb === "patch").map((r) => r.name);
    expect(patched.sort()).toEqual(["kadalu-csi-nodeplugin-x1", "kadalu-csi-provisioner-0", "server-p1-0-0"]);
  });

  it("converges every pool when requests of each verb it uses hang (each fails at its deadline and is retried)", async () => {
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      config: { ...config(), requestTimeoutMs: 500 },
      log: (level, message) => logs.push(`${level} ${message}`),
      health: false,
    });
    for (const [verb, resource] of [
      ["get", "configmaps"],
      ["patch", "configmaps"],
      ["patch", "statefulsets"],
      ["get", "statefulsets"],
      ["patch", "kadalustorages"],
      ["patch", "services"],
      ["get", "storageclasses"],
      ["patch", "storageclasses"],
    ] as const) {
      cluster.server.hangNext({ verb, resource, count: 1 });
    }
    for (let i = 0; i < 5; i += 1) pool(`hung${i}`, { type: "Replica1", storage: [{ node: "kube1", path: `/data/h${i}` }] });
    await until(
      () => [0, 1, 2, 3, 4].every((i) => status(`hung${i}`)?.storageClass === `kadalu.hung${i}` && info()[`hung${i}.info`] !== undefined),
      "all five pools to converge",
      30_000,
    );
    expect(
      logs.some((line) => line.includes("no answer from the API server within 0.5s")),
      "a hung request was seen and outlived",
    ).toBe(true);
  });

  it("loses no info key when 20 pools reconcile at once, with injected conflicts and errors", async () => {
    await start();
    cluster.server.failNext({ verb: "patch", resource: "configmaps", count: 5, code: 409 });
    cluster.server.failNext({ verb: "patch", resource: "statefulsets", count: 3, code: 500 });
    for (let i = 0; i < 20; i += 1) pool(`pool${i}`, { type: "Replica1", storage: [{ node: "kube1", path: `/data/${i}` }] });
    await until(() => Array.from({ length: 20 }, (_, i) => status(`pool${i}`)?.state).every((s) => s === "initializing"), "20 pools", 20_000);
    expect(
      Object.keys(info())
        .filter((key) => key.endsWith(".info"))
        .sort(),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `pool${i}.info`).sort());
  });

  it("resumes after a dropped watch and relists after 410 Gone", async () => {
    await start();
    pool("p1", { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] });
    await until(() => info()["p1.info"] !== undefined, "p1");
    cluster.server.closeWatches();
    pool("p2", { type: "Replica1", storage: [{ node: "kube1", path: "/b" }] });
    await until(() => info()["p2.info"] !== undefined, "p2 after a dropped watch");
    cluster.server.store.compact();
    cluster.server.closeWatches();
    await new Promise((resolve) => setTimeout(resolve, 100));
    pool("p3", { type: "Replica1", storage: [{ node: "kube1", path: "/c" }] });
    await until(() => info()["p3.info"] !== undefined, "p3 after 410");
  });

  it("replaces watches whose connections died silently (no event, no close), and reconciles what they missed", async () => {
    // Resync is 10 minutes: only a replaced watch can deliver p2 within the bound.
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      config: { ...config(), watchTimeoutSeconds: 2 },
      log: (level, message) => logs.push(`${level} ${message}`),
      health: false,
    });
    pool("p1", { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] });
    await until(() => info()["p1.info"] !== undefined, "p1");
    expect(cluster.server.silenceWatches()).toBeGreaterThanOrEqual(3);
    pool("p2", { type: "Replica1", storage: [{ node: "kube1", path: "/b" }] });
    await until(() => info()["p2.info"] !== undefined && status("p2")?.state === "initializing", "p2 after its watch went dead", 10_000);
    expect(
      logs.some((line) => /watch was silent for 3s/.test(line)),
      "the dead watch was detected, not closed by the server",
    ).toBe(true);
  });

  it("blocks deletion while a PV uses the pool, then removes everything but the data", async () => {
    await start();
    pool("pool1", { type: "Replica3", storage: devices() });
    await until(() => get("StorageClass", "kadalu.pool1") !== undefined, "storage class");
    cluster.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-1" },
      spec: { storageClassName: "kadalu.pool1", capacity: { storage: "1Gi" } },
    });
    cluster.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-2" },
      spec: { storageClassName: "custom", csi: { driver: "kadalu", volumeHandle: "pvc-2", volumeAttributes: { hostvol: "pool1" } } },
    });
    cluster.server.objects.delete(cluster.server.registry.byKind(API, "KadaluStorage")!, "kadalu", "pool1", { dryRun: false });
    await until(() => status("pool1")?.state === "blocked", "blocked");
    expect(status("pool1").message).toBe("deletion blocked: 2 PersistentVolumes still use the pool (pvc-1, pvc-2); delete their PVCs first");
    expect(get("StatefulSet", "server-pool1-0")).toBeDefined();
    await until(() => cluster.server.list("v1", "Event", "kadalu").some((e) => e.reason === "DeletionBlocked"), "the DeletionBlocked event");
    cluster.server.clearRequests();
    // The PVs' deletion itself re-checks the pool (no timer), and the teardown meets no conflict of its own.
    for (const name of ["pvc-1", "pvc-2"])
      cluster.server.objects.delete(cluster.server.registry.byKind("v1", "PersistentVolume")!, undefined, name, { dryRun: false });
    await until(() => get("KadaluStorage", "pool1") === undefined, "pool gone");
    expect(cluster.server.requests.filter((r) => r.code === 409).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(get("StatefulSet", "server-pool1-0")).toBeUndefined();
    expect(get("Service", "pool1")).toBeUndefined();
    expect(get("StorageClass", "kadalu.pool1")).toBeUndefined();
    expect(info()["pool1.info"]).toBeUndefined();
  });

  it("reads the cluster's PVs in pages and finds the pool's among a thousand others when it is deleted", async () => {
    const pv = (name: string, spec: object) => ({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name }, spec });
    for (let i = 0; i < 1200; i += 1)
      cluster.server.seed(pv(`other-${i}`, { storageClassName: "standard", csi: { driver: "ebs.csi.aws.com", volumeHandle: `vol-${i}` } }));
    cluster.server.seed(
      pv("pvc-mine", { storageClassName: "custom", csi: { driver: "kadalu", volumeHandle: "pvc-mine", volumeAttributes: { hostvol: "pool1" } } }),
    );
    cluster.server.clearRequests();
    await start();
    pool("pool1", { type: "Replica3", storage: devices() });
    await until(() => get("StorageClass", "kadalu.pool1") !== undefined, "storage class");
    cluster.server.objects.delete(cluster.server.registry.byKind(API, "KadaluStorage")!, "kadalu", "pool1", { dryRun: false });
    await until(() => status("pool1")?.state === "blocked", "blocked");
    expect(status("pool1").message).toBe("deletion blocked: 1 PersistentVolume still uses the pool (pvc-mine); delete its PVC first");
    // The start's list, in three pages of at most 500: never the whole collection in one answer.
    const lists = cluster.server.requests.filter((r) => r.method === "GET" && r.path === "/api/v1/persistentvolumes" && !/watch=(1|true)/.test(r.query ?? ""));
    expect(lists.length).toBeGreaterThanOrEqual(3);
    for (const list of lists) expect(new URLSearchParams(list.query).get("limit")).toBe("500");
  });

  it("guards each replica and disperse group with a PodDisruptionBudget, kept current as the pool grows, removed with it", async () => {
    const running = await start();
    const budgets = () => cluster.server.list("policy/v1", "PodDisruptionBudget", "kadalu");
    const shape = (pdb: any) => [pdb.metadata.name, pdb.spec.maxUnavailable, pdb.spec.selector.matchExpressions[0].values.join(",")];
    pool("r3", { type: "Replica3", storage: devices() });
    pool("ec", { type: "Disperse", storage: [1, 2, 3, 4, 5, 6].map((i) => ({ node: `kube${i}`, path: "/data/ec" })), disperse: { data: 4, redundancy: 2 } });
    pool("r2", {
      type: "Replica2",
      storage: [
        { node: "kube1", path: "/data/r2" },
        { node: "kube2", path: "/data/r2" },
      ],
    });
    pool("r1", { type: "Replica1", storage: [{ node: "kube1", path: "/data/r1" }] });
    await until(() => ["r3", "ec", "r2", "r1"].every((name) => status(name)?.state === "initializing"), "four pools");
    expect(budgets().map(shape).sort()).toEqual([
      ["server-ec-group-0", 2, "server-ec-0-0,server-ec-1-0,server-ec-2-0,server-ec-3-0,server-ec-4-0,server-ec-5-0"],
      ["server-r2-group-0", 1, "server-r2-0-0,server-r2-1-0"],
      ["server-r3-group-0", 1, "server-r3-0-0,server-r3-1-0,server-r3-2-0"],
    ]);
    expect(get("PodDisruptionBudget", "server-r3-group-0")!.spec.selector.matchExpressions[0].key).toBe("statefulset.kubernetes.io/pod-name");
    expect(get("PodDisruptionBudget", "server-r3-group-0")!.metadata.labels).toMatchObject({ "kadalu.io/pool": "r3", "kadalu.io/group": "0" });
    // Growing by a group adds its budget; the first one stays as it was.
    const type = cluster.server.registry.byKind(API, "KadaluStorage")!;
    const live = () => cluster.server.get(API, "KadaluStorage", "kadalu", "r3")!;
    cluster.server.objects.commit(
      type,
      live(),
      { ...live(), spec: { ...live().spec, storage: [...devices(), ...devices(["kube4", "kube5", "kube6"])] } },
      undefined,
      { dryRun: false },
    );
    await until(() => get("PodDisruptionBudget", "server-r3-group-1") !== undefined, "the second group's budget");
    expect(shape(get("PodDisruptionBudget", "server-r3-group-1"))).toEqual(["server-r3-group-1", 1, "server-r3-3-0,server-r3-4-0,server-r3-5-0"]);
    // A budget loosened by hand is put back by the next reconcile.
    const pdbType = cluster.server.registry.byKind("policy/v1", "PodDisruptionBudget")!;
    const loose = get("PodDisruptionBudget", "server-r3-group-0")!;
    cluster.server.objects.commit(pdbType, loose, { ...loose, spec: { ...loose.spec, maxUnavailable: 3 } }, undefined, { dryRun: false });
    running.controller.queue.add("kadalu/r3");
    await until(() => get("PodDisruptionBudget", "server-r3-group-0")!.spec.maxUnavailable === 1, "the budget restored");
    for (const name of ["r3", "r2"]) cluster.server.objects.delete(type, "kadalu", name, { dryRun: false });
    await until(() => get("KadaluStorage", "r3") === undefined && get("KadaluStorage", "r2") === undefined, "pools gone");
    expect(budgets().map((pdb) => pdb.metadata.name)).toEqual(["server-ec-group-0"]);
  });

  it("keeps an existing kadalu-info uid, and adds one where it is missing", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kadalu-info", namespace: "kadalu" }, data: { volumes: "" } });
    let running = await start();
    const uid = info().uid;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    await running.stop();
    running = await start();
    expect(info().uid).toBe(uid);
  });

  it("stays within its RBAC rules", async () => {
    await start();
    pool("pool1", { type: "Replica3", storage: devices(), tolerations: [{ key: "storage", operator: "Exists", effect: "NoSchedule" }] });
    markBricksReady("pool1", 3);
    await until(() => status("pool1")?.state === "ready", "ready");
    cluster.server.objects.delete(cluster.server.registry.byKind(API, "KadaluStorage")!, "kadalu", "pool1", { dryRun: false });
    await until(() => get("KadaluStorage", "pool1") === undefined, "deleted");
    const groups: Record<string, string> = {
      kadalustorages: "kadalu-operator.storage",
      statefulsets: "apps",
      daemonsets: "apps",
      storageclasses: "storage.k8s.io",
      poddisruptionbudgets: "policy",
    };
    const denied = cluster.server.requests
      .filter((r) => r.resource)
      .filter((r) => {
        const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource!;
        const request = { group: groups[r.resource!] ?? "", resource, verb: r.verb };
        return !allows(OPERATOR_CLUSTER_RULES, request) && !(r.namespace === "kadalu" && allows(OPERATOR_NAMESPACE_RULES, request));
      });
    expect(denied.map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}`)).toEqual([]);
  });
});
