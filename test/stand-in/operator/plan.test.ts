/** The operator's plan, imported directly: observed objects in, objects to apply and delete, status and Events out. */
import { describe, expect, it } from "vitest";
import { configFromEnv, type OperatorConfig } from "../../../operator/config.js";
import { plan, refKey, statusOnlyChange, toRead, type BrickPod, type Observed, type Plan } from "../../../operator/plan.js";
import type { KubeObject } from "../../../src/core/kube-vocabulary.js";
import type { PodEventView } from "../../../src/core/doctor/pod-failure.js";
import type { KadaluStorage, KadaluStorageSpec } from "../../../src/core/pool/types.js";

const config: OperatorConfig = { ...configFromEnv({}), namespace: "kadalu", kadaluVersion: "1.2.0", serverImage: "docker.io/kadalu/kadalu-server:1.2.0" };
const NOW = "2026-12-06T00:00:00Z";
const LATER = "2026-12-06T00:05:00Z";
const VOLUME_ID = "4f2c8a52-b4a1-11ee-9c1c-0242ac110002";
const FINALIZER = "kadalu-operator.storage/finalizer";

const poolOf = (name: string, spec: Partial<KadaluStorageSpec>): KadaluStorage => ({
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name, namespace: "kadalu", uid: `uid-${name}`, generation: 1, resourceVersion: "1" },
  spec: spec as KadaluStorageSpec,
});
const observe = (pool: KadaluStorage, more: Partial<Observed> = {}): Observed => ({
  pool,
  pods: [],
  events: [],
  live: new Map(),
  freshVolumeId: VOLUME_ID,
  now: NOW,
  ...more,
});
const names = (objects: { kind: string; metadata: { name: string } }[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const nodes = (list: string[], unit: Record<string, string> = { device: "/dev/vdc" }) => list.map((node) => ({ node, ...unit }));

/** The cluster once `steps` are carried out: finalizer, info, objects and status as the controller writes them. */
function carriedOut(before: Observed, steps: Plan): Observed {
  const live = new Map(before.live);
  for (const object of steps.apply) live.set(refKey(object), structuredClone(object));
  const finalizers = steps.finalizer === "add" ? [FINALIZER] : before.pool.metadata.finalizers;
  const pool = { ...before.pool, metadata: { ...before.pool.metadata, finalizers }, status: steps.status ?? before.pool.status };
  return { ...before, pool, live, infoText: steps.info === undefined ? before.infoText : (steps.info ?? undefined), now: LATER };
}
const withSpec = (seen: Observed, spec: Partial<KadaluStorageSpec>): Observed => ({
  ...seen,
  pool: { ...seen.pool, metadata: { ...seen.pool.metadata, generation: seen.pool.metadata.generation! + 1 }, spec: { ...seen.pool.spec, ...spec } },
});
const brickPod = (pool: string, index: number, status: BrickPod["status"], uid = `pod-${index}`): BrickPod => ({
  metadata: { name: `server-${pool}-${index}-0`, uid },
  spec: { nodeName: `kube${index + 1}`, containers: [{ name: "server", image: config.serverImage }] },
  status,
});
const READY = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };

describe("plan: every pool type", () => {
  it.each([
    [
      "Replica1",
      { type: "Replica1", storage: nodes(["kube1", "kube2"], { path: "/data/p" }) },
      ["StatefulSet/server-p-0", "StatefulSet/server-p-1", "Service/p", "StorageClass/kadalu.p"],
      [],
    ],
    [
      "Replica2",
      { type: "Replica2", storage: [{ pvc: "b1" }, { pvc: "b2" }] },
      ["StatefulSet/server-p-0", "StatefulSet/server-p-1", "Service/p", "PodDisruptionBudget/server-p-group-0", "StorageClass/kadalu.p"],
      [1],
    ],
    [
      "Replica3",
      { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"]) },
      [
        "StatefulSet/server-p-0",
        "StatefulSet/server-p-1",
        "StatefulSet/server-p-2",
        "Service/p",
        "PodDisruptionBudget/server-p-group-0",
        "StorageClass/kadalu.p",
      ],
      [1],
    ],
    [
      "Arbiter",
      { type: "Arbiter", storage: nodes(["kube1", "kube2", "kube3"]) },
      [
        "StatefulSet/server-p-0",
        "StatefulSet/server-p-1",
        "StatefulSet/server-p-2",
        "Service/p",
        "PodDisruptionBudget/server-p-group-0",
        "StorageClass/kadalu.p",
      ],
      [1],
    ],
    [
      "Disperse 4+2",
      { type: "Disperse", storage: nodes(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"], { path: "/data/ec" }), disperse: { data: 4, redundancy: 2 } },
      [
        "StatefulSet/server-p-0",
        "StatefulSet/server-p-1",
        "StatefulSet/server-p-2",
        "StatefulSet/server-p-3",
        "StatefulSet/server-p-4",
        "StatefulSet/server-p-5",
        "Service/p",
        "PodDisruptionBudget/server-p-group-0",
        "StorageClass/kadalu.p",
      ],
      [2],
    ],
  ])("%s: info, the brick StatefulSets, Service, budgets and StorageClass; initializing", (_name, spec, objects, budgets) => {
    const steps = plan(observe(poolOf("p", spec as Partial<KadaluStorageSpec>)), config);
    expect(steps.finalizer).toBe("add");
    expect(JSON.parse(steps.info!)).toMatchObject({ volname: "p", type: spec.type, volume_id: VOLUME_ID });
    expect(names(steps.apply)).toEqual(objects);
    expect(steps.apply.filter((o) => o.kind === "PodDisruptionBudget").map((o) => (o.spec as { maxUnavailable: number }).maxUnavailable)).toEqual(budgets);
    expect(steps.delete).toEqual([]);
    const bricks = objects.filter((name) => name.startsWith("StatefulSet/")).length;
    expect(steps.status).toMatchObject({
      state: "initializing",
      message: `0/${bricks} brick pods ready`,
      bricks: { ready: 0, total: bricks },
      volumeId: VOLUME_ID,
      storageClass: "kadalu.p",
      observedGeneration: 1,
    });
    expect(steps.events).toEqual([]);
    expect(steps.requeueAfterMs).toBeUndefined();
  });

  it("Replica3 once every brick pod is Ready: ready, with a Ready Event; planned again, nothing to do", () => {
    const first = observe(poolOf("p", { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"]) }));
    const created = carriedOut(first, plan(first, config));
    const running = { ...created, pods: [0, 1, 2].map((i) => brickPod("p", i, READY)) };
    const steps = plan(running, config);
    expect(steps.apply).toEqual([]);
    expect(steps.info).toBeUndefined();
    expect(steps.status).toMatchObject({ state: "ready", message: "ready", bricks: { ready: 3, total: 3 } });
    expect(steps.status!.conditions!.map((c) => [c.type, c.status])).toEqual([
      ["Valid", "True"],
      ["ConfigWritten", "True"],
      ["BricksReady", "True"],
      ["StorageClassReady", "True"],
    ]);
    expect(steps.events).toEqual([{ type: "Normal", reason: "Ready", message: "ready" }]);
    const again = plan(carriedOut(running, steps), config);
    expect(again).toEqual({ delete: [], replace: [], apply: [], events: [] });
  });

  it.each([
    ["reachable", { reachable: true, detail: "every Gluster host answered" }, "ready", "ready", [{ type: "Normal", reason: "Ready", message: "ready" }]],
    [
      "unreachable",
      { reachable: false, detail: "no Gluster host is reachable: gfs1:24007 refused the connection" },
      "error",
      "no Gluster host is reachable: gfs1:24007 refused the connection",
      [{ type: "Warning", reason: "Unreachable", message: "no Gluster host is reachable: gfs1:24007 refused the connection" }],
    ],
  ])("External, hosts %s: the StorageClass only, hosts checked again in a minute", (_name, hosts, state, message, events) => {
    const pool = poolOf("ext", { type: "External", storage: [], details: { gluster_host: "gfs1", gluster_hosts: ["gfs2"], gluster_volname: "gv0" } });
    expect(toRead(observe(pool), config)).toEqual({
      objects: [{ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "kadalu.ext" } }],
      hosts: "gfs1,gfs2",
    });
    const steps = plan(observe(pool, { hosts }), config);
    expect(names(steps.apply)).toEqual(["StorageClass/kadalu.ext"]);
    expect(steps.apply[0]!.parameters).toEqual({ hostvol_type: "External", gluster_hosts: "gfs1,gfs2", gluster_volname: "gv0", single_pv_per_pool: "False" });
    expect(JSON.parse(steps.info!)).toMatchObject({ type: "External", gluster_hosts: "gfs1,gfs2" });
    expect(steps.status).toMatchObject({ state, message, bricks: { ready: 0, total: 0 } });
    expect(steps.events).toEqual(events);
    expect(steps.requeueAfterMs).toBe(60_000);
  });
});

describe("plan: changes", () => {
  const replica3 = (): Observed => {
    const first = observe(poolOf("r3", { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"]) }));
    return carriedOut(first, plan(first, config));
  };

  it("a directory pool's StatefulSets as a real API server stores them (empty env values dropped): nothing to apply", () => {
    const first = observe(poolOf("p", { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"], { path: "/data/p" }) }));
    const created = carriedOut(first, plan(first, config));
    const dropEmpty = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, item) => (item === "" ? undefined : item)));
    const stored = new Map([...created.live].map(([key, object]) => [key, dropEmpty(object) as KubeObject]));
    expect(JSON.stringify([...stored.values()])).not.toEqual(JSON.stringify([...created.live.values()]));
    const steps = plan({ ...created, live: stored }, config);
    expect(names(steps.apply)).toEqual([]);
  });

  it("growth: the appended group's StatefulSets and budget only; the first group untouched", () => {
    const grown = withSpec(replica3(), { storage: nodes(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"]) });
    const steps = plan(grown, config);
    expect(names(steps.apply)).toEqual([
      "StatefulSet/server-r3-3",
      "StatefulSet/server-r3-4",
      "StatefulSet/server-r3-5",
      "PodDisruptionBudget/server-r3-group-1",
    ]);
    expect((steps.apply[3]!.spec as any).selector.matchExpressions[0].values).toEqual(["server-r3-3-0", "server-r3-4-0", "server-r3-5-0"]);
    const info = JSON.parse(steps.info!);
    expect(info.bricks.map((b: any) => b.kube_hostname)).toEqual(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"]);
    expect(info.volume_id).toBe(VOLUME_ID);
    expect(steps.status).toMatchObject({ state: "initializing", message: "0/6 brick pods ready", observedGeneration: 2 });
  });

  it("an option change rewrites the info entry and nothing else", () => {
    const before = replica3();
    const steps = plan(withSpec(before, { options: [{ key: "performance.quick-read", value: "off" }] }), config);
    expect(JSON.parse(steps.info!).options).toEqual({ "performance.quick-read": "off" });
    expect(steps.apply).toEqual([]);
    expect(steps.delete).toEqual([]);
    expect(steps.status!.observedGeneration).toBe(2);
  });

  it("removing a unit is refused: nothing applied, state error with an Event", () => {
    const steps = plan(withSpec(replica3(), { storage: nodes(["kube1", "kube2"]) }), config);
    expect(steps.apply).toEqual([]);
    expect(steps.info).toBeUndefined();
    expect(steps.status).toMatchObject({ state: "error", volumeId: VOLUME_ID });
    expect(steps.status!.message).toContain("spec.storage");
    expect(steps.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "InvalidSpec"]]);
  });

  it("a StatefulSet or budget changed by hand is applied again; a StorageClass with other parameters is recreated", () => {
    const before = replica3();
    const live = new Map(before.live);
    const budget = structuredClone(live.get("PodDisruptionBudget/kadalu/server-r3-group-0")!);
    (budget.spec as any).maxUnavailable = 3;
    live.set("PodDisruptionBudget/kadalu/server-r3-group-0", budget);
    const sc = structuredClone(live.get("StorageClass//kadalu.r3")!);
    sc.parameters = { storage_name: "r3", single_pv_per_pool: "True" };
    live.set("StorageClass//kadalu.r3", sc);
    const steps = plan({ ...before, live }, config);
    expect(names(steps.apply)).toEqual(["PodDisruptionBudget/server-r3-group-0", "StorageClass/kadalu.r3"]);
    expect(names(steps.delete)).toEqual(["StorageClass/kadalu.r3"]);
    expect(steps.replace).toEqual([]);
  });

  it("a brick StatefulSet another manager wrote (upstream's operator) is replaced at its resourceVersion, then applied", () => {
    const before = replica3();
    const live = new Map(before.live);
    const foreign = { ...structuredClone(live.get("StatefulSet/kadalu/server-r3-0")!), spec: { updateStrategy: { type: "RollingUpdate" } } } as KubeObject;
    foreign.metadata = {
      ...foreign.metadata,
      resourceVersion: "42",
      managedFields: [{ manager: "kubectl-client-side-apply", operation: "Update", fieldsV1: { "f:spec": {} } }],
    } as KubeObject["metadata"];
    live.set("StatefulSet/kadalu/server-r3-0", foreign);
    const steps = plan({ ...before, live }, config);
    expect(names(steps.replace)).toEqual(["StatefulSet/server-r3-0"]);
    expect((steps.replace[0]!.metadata as { resourceVersion?: string }).resourceVersion).toBe("42");
    expect(names(steps.apply)).toEqual(["StatefulSet/server-r3-0"]);
  });
});

describe("plan: brick pods that do not start", () => {
  const replica1 = (): Observed => {
    const first = observe(poolOf("pool1", { type: "Replica1", storage: [{ node: "kube1", path: "/data/pool1" }] }));
    return carriedOut(first, plan(first, config));
  };
  const failedMount = (uid: string): PodEventView => ({
    involvedObject: { kind: "Pod", name: "server-pool1-0-0", namespace: "kadalu", uid },
    type: "Warning",
    reason: "FailedMount",
    message: 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool1 is not a directory',
    lastTimestamp: NOW,
  });
  const creating = {
    phase: "Pending",
    containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }],
  };

  it.each([
    [
      "a missing brick directory (FailedMount of this pod)",
      creating,
      [failedMount("pod-0")],
      "error",
      "brick directory /data/pool1 is missing on node kube1",
      { status: "False", reason: "BrickDirectoryMissing", message: "brick directory /data/pool1 is missing on node kube1" },
      [{ type: "Warning", reason: "BrickDirectoryMissing", message: "brick directory /data/pool1 is missing on node kube1" }],
    ],
    [
      "a FailedMount of an earlier pod of that name",
      creating,
      [failedMount("an-earlier-pod")],
      "initializing",
      "0/1 brick pods ready",
      { status: "False", reason: "NotReady" },
      [],
    ],
    [
      "an image that cannot be pulled",
      { phase: "Pending", containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ImagePullBackOff" } } }] },
      [],
      "initializing",
      "0/1 brick pods ready; server-pool1-0-0: ImagePullBackOff: image docker.io/kadalu/kadalu-server:1.2.0 cannot be pulled",
      { status: "False", reason: "NotReady" },
      [],
    ],
  ])("%s", (_name, podStatus, events, state, message, condition, poolEvents) => {
    const seen = { ...replica1(), pods: [brickPod("pool1", 0, podStatus)], events };
    const steps = plan(seen, config);
    expect(steps.apply).toEqual([]);
    // Unchanged from what the pool says already: no status write.
    const status = steps.status ?? seen.pool.status;
    expect(status).toMatchObject({ state, message });
    expect(status!.conditions!.find((c) => c.type === "BricksReady")).toMatchObject(condition);
    expect(steps.events).toEqual(poolEvents);
  });
});

describe("plan: deletion", () => {
  const deleting = (spec: Partial<KadaluStorageSpec>, more: Partial<Observed> = {}): { created: Plan; seen: Observed } => {
    const first = observe(poolOf("p", spec));
    const created = plan(first, config);
    const seen = carriedOut(first, created);
    return { created, seen: { ...seen, pool: { ...seen.pool, metadata: { ...seen.pool.metadata, deletionTimestamp: LATER } }, live: new Map(), ...more } };
  };
  const disperse = { type: "Disperse", storage: nodes(["kube1", "kube2", "kube3"], { path: "/data/ec" }), disperse: { data: 2, redundancy: 1 } } as const;

  it("blocked while PVs use the pool: nothing deleted, a DeletionBlocked Event, checked again later", () => {
    const { seen } = deleting(disperse, { persistentVolumes: ["pvc-1", "pvc-2"] });
    const steps = plan(seen, config);
    expect(steps.delete).toEqual([]);
    expect(steps.finalizer).toBeUndefined();
    expect(steps.info).toBeUndefined();
    const message = "deletion blocked: 2 PersistentVolumes still use the pool (pvc-1, pvc-2); delete their PVCs first";
    expect(steps.status).toMatchObject({ state: "blocked", message });
    expect(steps.events).toEqual([{ type: "Warning", reason: "DeletionBlocked", message }]);
    expect(steps.requeueAfterMs).toBe(60_000);
  });

  it.each([
    ["Disperse 2+1", disperse],
    ["Replica3 in two groups", { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"]) }],
    ["Replica1", { type: "Replica1", storage: [{ node: "kube1", path: "/data/p" }] }],
    ["External", { type: "External", storage: [], details: { gluster_host: "gfs1", gluster_volname: "gv0" } }],
  ])("%s without PVs: the objects its plan applied are deleted (budgets first), then its info entry and the finalizer", (_name, spec) => {
    const { created, seen } = deleting(spec as Partial<KadaluStorageSpec>, { persistentVolumes: [] });
    const steps = plan(seen, config);
    expect(names(steps.delete).sort()).toEqual(names(created.apply).sort());
    const kinds = steps.delete.map((ref) => ref.kind);
    expect(kinds.lastIndexOf("PodDisruptionBudget")).toBeLessThan(kinds.indexOf("StatefulSet") === -1 ? Infinity : kinds.indexOf("StatefulSet"));
    expect(kinds.at(-1)).toBe("StorageClass");
    expect(steps.apply).toEqual([]);
    expect(steps.info).toBeNull();
    expect(steps.finalizer).toBe("remove");
    expect(steps.status).toMatchObject({ state: "stopping" });
  });

  it("a pool whose info entry is gone and whose spec is invalid: its StatefulSets by index, Service and StorageClass", () => {
    const pool = {
      ...poolOf("bad", { type: "Replica3", storage: nodes(["kube1", "kube2"]) }),
      metadata: { ...poolOf("bad", {}).metadata, finalizers: [FINALIZER], deletionTimestamp: LATER },
    };
    const steps = plan(observe(pool, { persistentVolumes: [] }), config);
    expect(names(steps.delete)).toEqual(["StatefulSet/server-bad-0", "StatefulSet/server-bad-1", "Service/bad", "StorageClass/kadalu.bad"]);
  });

  it("without our finalizer: nothing to do", () => {
    const pool = { ...poolOf("p", disperse), metadata: { ...poolOf("p", {}).metadata, deletionTimestamp: LATER } };
    expect(plan(observe(pool, { persistentVolumes: [] }), config)).toEqual({ delete: [], replace: [], apply: [], events: [] });
  });
});

describe("statusOnlyChange: what queues no reconcile", () => {
  const before = { ...poolOf("p", { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] }), status: { state: "ready" as const } };
  const usage = { capacityBytes: 1, provisionedBytes: 0, pvCount: 0, updatedAt: NOW };
  it.each([
    ["the CSI's usage in status", { ...before, metadata: { ...before.metadata, resourceVersion: "2" }, status: { ...before.status, usage } }, true],
    [
      "a spec change (new generation)",
      { ...before, metadata: { ...before.metadata, generation: 2 }, spec: { ...before.spec, options: [{ key: "a", value: "b" }] } },
      false,
    ],
    ["a finalizer added", { ...before, metadata: { ...before.metadata, finalizers: [FINALIZER] } }, false],
    ["a deletion started", { ...before, metadata: { ...before.metadata, deletionTimestamp: NOW } }, false],
    ["a label changed", { ...before, metadata: { ...before.metadata, labels: { a: "b" } } }, false],
    ["a new pool", undefined, false],
  ])("%s", (_name, after, statusOnly) => {
    expect(statusOnlyChange(after ? before : undefined, after ?? before)).toBe(statusOnly);
  });
  it("a pool gone", () => expect(statusOnlyChange(before, undefined)).toBe(false));
});

describe("plan: a storage unit replaced in place", () => {
  // Pods as the StatefulSet controller makes them from the template the plan applied.
  const podFrom = (statefulSet: KubeObject, node: string, status: BrickPod["status"]): BrickPod => {
    const template = (statefulSet.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    return {
      metadata: { name: `${statefulSet.metadata.name}-0`, uid: `uid-${statefulSet.metadata.name}-${node}` },
      spec: { ...template, nodeName: node } as BrickPod["spec"],
      status,
    };
  };
  const running = (): Observed => {
    const first = observe(poolOf("p", { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"], { path: "/data/p" }) }));
    const steps = plan(first, config);
    const created = carriedOut(first, steps);
    const statefulSets = steps.apply.filter((object) => object.kind === "StatefulSet");
    const settled = { ...created, pods: statefulSets.map((set, i) => podFrom(set, `kube${i + 1}`, READY)) };
    return carriedOut(settled, plan(settled, config));
  };
  const replaced = (seen: Observed, index: number, unit: Record<string, string>): Observed =>
    withSpec(seen, { storage: seen.pool.spec.storage.map((known, at) => (at === index ? unit : known)) });
  const podRefs = (steps: Plan): string[] => steps.delete.filter((ref) => ref.kind === "Pod").map((ref) => ref.metadata.name);

  it("keeps the brick's index, StatefulSet and host name; its pod is deleted only once the StatefulSet names the new unit", () => {
    const seen = replaced(running(), 2, { node: "kube4", path: "/data/p" });
    const first = plan(seen, config);
    const info = JSON.parse(first.info!);
    expect(info.bricks[2]).toMatchObject({ brick_index: 2, kube_hostname: "kube4", host_brick_path: "/data/p", node: "server-p-2-0.p", node_id: "node-2" });
    expect(names(first.apply)).toEqual(["StatefulSet/server-p-2"]);
    // The live StatefulSet still has the old template: a pod deleted now would come back on kube3.
    expect(podRefs(first)).toEqual([]);
    expect(first.status).toMatchObject({
      state: "initializing",
      message: "2/3 brick pods ready; storage unit 3 (kube4:/data/p): updating server-p-2-0's StatefulSet",
    });
    expect(first.requeueAfterMs).toBe(5_000);
    const applied = carriedOut(seen, first);
    const second = plan(applied, config);
    expect(podRefs(second)).toEqual(["server-p-2-0"]);
    expect(second.status).toMatchObject({ message: "2/3 brick pods ready; storage unit 3 (kube4:/data/p): restarting server-p-2-0 on the new unit" });
    // The StatefulSet starts the pod again on kube4: ready there, the pool is ready and nothing is deleted.
    const statefulSet = applied.live.get("StatefulSet/kadalu/server-p-2")!;
    const moved = { ...carriedOut(applied, second), pods: [...applied.pods.slice(0, 2), podFrom(statefulSet, "kube4", READY)] };
    const third = plan(moved, config);
    expect(podRefs(third)).toEqual([]);
    expect(third.status).toMatchObject({ state: "ready", bricks: { ready: 3, total: 3 } });
    expect(third.requeueAfterMs).toBeUndefined();
  });

  it("waits while the rest of the group could not carry on without the brick, unless the brick is down anyway", () => {
    const base = running();
    const seen = carriedOut(replaced(base, 2, { node: "kube4", path: "/data/p" }), plan(replaced(base, 2, { node: "kube4", path: "/data/p" }), config));
    const otherDown = {
      ...seen,
      pods: seen.pods.map((pod, i) => (i === 0 ? { ...pod, status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] } } : pod)),
    };
    const held = plan(otherDown, config);
    expect(podRefs(held)).toEqual([]);
    expect(held.status!.message).toContain("storage unit 3 (kube4:/data/p): server-p-2-0 waits for its group (1 other brick ready, 2 needed) before it moves");
    const failedToo = { ...otherDown, pods: otherDown.pods.map((pod, i) => (i === 2 ? { ...pod, status: { phase: "Failed" } } : pod)) };
    expect(podRefs(plan(failedToo, config))).toEqual(["server-p-2-0"]);
  });

  it.each([
    [
      "a Replica1 pool",
      { type: "Replica1", storage: nodes(["kube1"], { path: "/data/p" }) },
      [{ node: "kube2", path: "/data/p" }],
      "storage unit 1 changed; a Replica1 pool has no other copy to heal a replaced unit from, so existing storage units cannot be replaced or reordered (data would be lost)",
    ],
    [
      "two of one Replica3 group at once",
      { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3"]) },
      [
        { node: "kube4", device: "/dev/vdc" },
        { node: "kube5", device: "/dev/vdc" },
        { node: "kube3", device: "/dev/vdc" },
      ],
      "storage units 1, 2 of group 1 changed at once; the group can spare 1 brick while it heals: replace them one at a time (data would be lost)",
    ],
    [
      "a reorder",
      { type: "Replica3", storage: nodes(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"]) },
      nodes(["kube4", "kube2", "kube3", "kube1", "kube5", "kube6"]),
      "storage unit 1 (kube4:/dev/vdc) is, holds or lies inside storage unit 4 (kube4:/dev/vdc); existing storage units cannot be reordered (data would be lost)",
    ],
  ])("refuses %s, applying nothing", (_name, spec, storage, message) => {
    const first = observe(poolOf("p", spec as Partial<KadaluStorageSpec>));
    const created = carriedOut(first, plan(first, config));
    const steps = plan(withSpec(created, { storage }), config);
    expect(steps.apply).toEqual([]);
    expect(steps.delete).toEqual([]);
    expect(steps.info).toBeUndefined();
    expect(steps.status).toMatchObject({ state: "error", message });
  });

  it("takes two units of a Disperse 4+2 group at once", () => {
    const first = observe(
      poolOf("p", {
        type: "Disperse",
        disperse: { data: 4, redundancy: 2 },
        storage: nodes(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"], { path: "/data/ec" }),
      }),
    );
    const created = carriedOut(first, plan(first, config));
    const steps = plan(withSpec(created, { storage: nodes(["kube7", "kube8", "kube3", "kube4", "kube5", "kube6"], { path: "/data/ec" }) }), config);
    expect(names(steps.apply)).toEqual(["StatefulSet/server-p-0", "StatefulSet/server-p-1"]);
    expect(steps.status!.state).not.toBe("error");
  });
});
