import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { decodeKadaluInfo } from "../../../src/core/info/codec.js";
import {
  outdated,
  pendingHeals,
  preflight,
  renderPreflight,
  replicaGroups,
  volumesInUse,
  type PodView,
  type PoolHealth,
  type PvView,
  type WorkloadView,
} from "../../../src/core/upgrade/switch-over.js";

/** What an upstream 1.2.0 cluster holds (test/fixtures/upstream-1.2.0/render.py made it from upstream's templates). */
const upstream = parseAllDocuments(readFileSync(new URL("../../fixtures/upstream-1.2.0/cluster.yaml", import.meta.url), "utf8"))
  .map((doc) => doc.toJS())
  .filter(Boolean);
const pools = decodeKadaluInfo(upstream.find((object) => object.kind === "ConfigMap").data).pools;
const pool1 = pools.find((pool) => pool.volname === "pool1")!;
const workloads = upstream.filter((object) => ["StatefulSet", "DaemonSet", "Deployment"].includes(object.kind)) as WorkloadView[];

const HEALTHY = `Brick 127.0.0.2:/bricks/pool1/0
Status: Connected
Number of entries: 0

Brick 127.0.0.2:/bricks/pool1/1
Status: Connected
Number of entries: 0

Brick 127.0.0.2:/bricks/pool1/2
Status: Connected
Number of entries: 0
`;

const readyPod = (name: string, node = "kube1"): PodView => ({
  metadata: { name, namespace: "kadalu", labels: { "controller-revision-hash": `${name}-old` } },
  spec: { nodeName: node },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});
const brickPods = (): PodView[] => [0, 1, 2].map((index) => readyPod(`server-pool1-${index}-0`, `kube${index + 1}`));
const health = (heals: number | undefined, healError?: string): PoolHealth[] => [
  { info: pool1, heals, healError },
  ...pools.filter((pool) => pool !== pool1).map((info) => ({ info })),
];

describe("switch-over preflight", () => {
  it("counts pending heals over every brick, and knows no count when a brick is not connected", () => {
    expect(pendingHeals(HEALTHY)).toBe(0);
    expect(
      pendingHeals(HEALTHY.replace("Number of entries: 0\n\nBrick 127.0.0.2:/bricks/pool1/1", "Number of entries: 4\n\nBrick 127.0.0.2:/bricks/pool1/1")),
    ).toBe(4);
    expect(
      pendingHeals(
        HEALTHY.replace(
          "Status: Connected\nNumber of entries: 0\n\nBrick 127.0.0.2:/bricks/pool1/2",
          "Status: Transport endpoint is not connected\nNumber of entries: -\n\nBrick 127.0.0.2:/bricks/pool1/2",
        ),
      ),
    ).toBeUndefined();
    expect(pendingHeals("Volume pool1 does not exist\n")).toBeUndefined();
  });

  it("restarts an upstream Replica3 pool's bricks as one replica group, in brick order; External pools have none", () => {
    expect(replicaGroups(pool1)).toEqual([["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"]]);
    expect(replicaGroups(pools.find((pool) => pool.volname === "ext1")!)).toEqual([]);
    expect(replicaGroups({ ...pool1, type: "Replica1" } as typeof pool1)).toEqual([["server-pool1-0-0"], ["server-pool1-1-0"], ["server-pool1-2-0"]]);
  });

  it("names what changes on an upstream 1.2.0 cluster: its attacher and logging containers, its sidecar RBAC", () => {
    const report = preflight({
      installed: "1.2.0",
      wanted: "0.1.0",
      workloads,
      leftovers: ["clusterrole/kadalu-csi-external-attacher"],
      pools: health(0),
      pods: brickPods(),
      pvs: [],
      appPods: [],
    });
    expect(report.changes[0]).toBe("Kadalu 1.2.0 -> 0.1.0: operator, CSI provisioner and nodeplugin replaced by this plugin's");
    expect(report.changes.slice(1).sort()).toEqual([
      "clusterrole/kadalu-csi-external-attacher: deleted (upstream's RBAC for sidecars this plugin does not run)",
      "daemonset/kadalu-csi-nodeplugin: containers kadalu-logging removed",
      "statefulset/kadalu-csi-provisioner: containers csi-attacher, kadalu-logging removed",
    ]);
    expect(report.restarts.at(-1)).toBe(
      "pool pool1: brick pods server-pool1-0-0, server-pool1-1-0, server-pool1-2-0: one at a time, each after the one before is ready and its heals are done",
    );
    expect(report.unsafe).toEqual([]);
    expect(renderPreflight(report)).toContain("  unsafe now:\n    - nothing\n");
  });

  it("is unsafe with heals pending, heals unknown, or a brick pod not ready, each with the override that names it", () => {
    const pending = preflight({ installed: "1.2.0", wanted: "0.1.0", workloads, leftovers: [], pools: health(12), pods: brickPods(), pvs: [], appPods: [] });
    expect(pending.unsafe).toEqual([
      { kind: "pending-heals", message: "pool pool1: 12 heal entries pending (a restart now can leave files without a good copy)" },
    ]);
    expect(renderPreflight(pending)).toContain(
      "    - pool pool1: 12 heal entries pending (a restart now can leave files without a good copy) [--allow-unsafe pending-heals]\n",
    );
    const unknown = preflight({
      installed: "1.2.0",
      wanted: "0.1.0",
      workloads,
      leftovers: [],
      pools: health(undefined, "no brick pod of the pool is ready to ask"),
      pods: [],
      pvs: [],
      appPods: [],
    });
    expect(unknown.unsafe.map((finding) => finding.message)).toEqual([
      "pool pool1: brick pods server-pool1-0-0, server-pool1-1-0, server-pool1-2-0 not ready (restarting another could take its replica set offline)",
      "pool pool1: heals could not be checked: no brick pod of the pool is ready to ask",
    ]);
    const pods = brickPods();
    pods[1]!.status!.conditions = [{ type: "Ready", status: "False" }];
    expect(preflight({ installed: "1.2.0", wanted: "0.1.0", workloads, leftovers: [], pools: health(0), pods, pvs: [], appPods: [] }).unsafe).toEqual([
      { kind: "unready-bricks", message: "pool pool1: brick pod server-pool1-1-0 not ready (restarting another could take its replica set offline)" },
    ]);
  });

  it("lists the Kadalu PVs pods use, by node (what a nodeplugin restart touches); other drivers' PVs and finished pods do not count", () => {
    const pvs: PvView[] = [
      { metadata: { name: "pvc-1" }, spec: { csi: { driver: "kadalu" }, claimRef: { namespace: "apps", name: "data" } } },
      { metadata: { name: "pvc-2" }, spec: { csi: { driver: "other.csi.io" }, claimRef: { namespace: "apps", name: "cache" } } },
    ];
    const uses = (name: string, node: string, claim: string, phase = "Running"): PodView => ({
      metadata: { name, namespace: "apps" },
      spec: { nodeName: node, volumes: [{ persistentVolumeClaim: { claimName: claim } }] },
      status: { phase },
    });
    const inUse = volumesInUse(pvs, [uses("web-0", "kube2", "data"), uses("web-1", "kube3", "cache"), uses("job-1", "kube1", "data", "Succeeded")]);
    expect([...inUse]).toEqual([["kube2", ["apps/web-0 (pvc-1, claim data)"]]]);
    const report = preflight({
      installed: "1.2.0",
      wanted: "0.1.0",
      workloads,
      leftovers: [],
      pools: health(0),
      pods: brickPods(),
      pvs,
      appPods: [uses("web-0", "kube2", "data")],
    });
    expect(renderPreflight(report)).toContain("  Kadalu PVs in use:\n    - node kube2: apps/web-0 (pvc-1, claim data)\n");
  });

  it("a brick pod is outdated when its revision is not the StatefulSet's update revision", () => {
    const set: WorkloadView = {
      kind: "StatefulSet",
      metadata: { name: "server-pool1-0" },
      status: { updateRevision: "server-pool1-0-new", currentRevision: "server-pool1-0-old" },
    };
    expect(outdated(set, readyPod("server-pool1-0-0"))).toBe(true);
    expect(outdated(set, { metadata: { labels: { "controller-revision-hash": "server-pool1-0-new" } } })).toBe(false);
    expect(outdated({ ...set, status: {} }, readyPod("server-pool1-0-0"))).toBe(false);
  });
});
