/** Snapshots in the pure core: copy kinds, handles, snapshot-list's rows, doctor's finding, the manifests' parts. */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../../src/core/doctor/checks.js";
import { snapshotCheck } from "../../../src/core/doctor/snapshots.js";
import { installPlan, planObjects } from "../../../src/core/manifests/index.js";
import { resolveInstallOptions } from "../../../src/core/manifests/options.js";
import { SNAPSHOT_CONTROLLER_RULES, SNAPSHOTTER_RULES } from "../../../src/core/manifests/snapshots.js";
import { copyKindOf, pendingRows, poolOfHandle, snapshotRows } from "../../../src/core/cluster-snapshots.js";

const plan = (input: Record<string, unknown> = {}) => planObjects(installPlan(resolveInstallOptions({ version: "1.0.0", ...input })));
const provisioner = (objects: ReturnType<typeof plan>) =>
  objects.find((o) => o.kind === "StatefulSet") as never as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };

describe("copy kinds and handles", () => {
  it("full for every pool type: a Gluster pool has no reflink path yet", () => {
    expect(["Replica1", "Replica2", "Replica3", "Arbiter", "Disperse", "External"].map((type) => copyKindOf(type as never))).toEqual([
      "full",
      "full",
      "full",
      "full",
      "full",
      "full",
    ]);
  });

  it("the pool is the handle's text before its first slash; anything else names none", () => {
    expect(poolOfHandle("pool1/snap-a/b")).toBe("pool1");
    expect([poolOfHandle("/x"), poolOfHandle("noslash"), poolOfHandle(undefined), poolOfHandle("")]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("rows: only the Kadalu driver's contents with a pool handle; sizes and errors carried; pending snapshots by their class", () => {
    const contents = [
      {
        metadata: { name: "c1" },
        spec: { driver: "kadalu", volumeSnapshotRef: { name: "s1", namespace: "a" } },
        status: { snapshotHandle: "p1/s1", readyToUse: false, restoreSize: 10, error: { message: "copy failed" } },
      },
      { metadata: { name: "c2" }, spec: { driver: "other", volumeSnapshotRef: { name: "s2", namespace: "a" } }, status: { snapshotHandle: "p1/s2" } },
      { metadata: { name: "c3" }, spec: { driver: "kadalu", volumeSnapshotRef: { name: "s3", namespace: "a" } }, status: {} },
    ];
    const snapshots = [
      { metadata: { name: "s1", namespace: "a" }, spec: { source: { persistentVolumeClaimName: "data" } } },
      { metadata: { name: "s4", namespace: "a" }, spec: { source: { persistentVolumeClaimName: "data" }, volumeSnapshotClassName: "kadalu.p2" } },
      { metadata: { name: "s5", namespace: "a" }, spec: { volumeSnapshotClassName: "csi-hostpath" } },
    ];
    const rows = snapshotRows(snapshots, contents);
    expect(rows).toEqual([{ pool: "p1", namespace: "a", pvc: "data", name: "s1", content: "c1", sizeBytes: 10, ready: false, error: "copy failed" }]);
    expect(
      pendingRows(snapshots, rows, (name) => (name.startsWith("kadalu.") ? name.slice(7) : undefined)).map((row) => `${row.pool} ${row.name} ${row.ready}`),
    ).toEqual(["p2 s4 false"]);
  });
});

describe("install manifests", () => {
  it("the sidecar and its ClusterRole only with snapshotter; CRDs and controller only with snapshotController", () => {
    const plain = plan();
    expect(provisioner(plain).spec.template.spec.containers.map((c) => c.name)).not.toContain("csi-snapshotter");
    expect(plain.filter((o) => o.metadata.name.includes("snapshot"))).toEqual([]);
    const withSidecar = plan({ snapshotter: true });
    expect(provisioner(withSidecar).spec.template.spec.containers.map((c) => c.name)).toEqual([
      "csi-provisioner",
      "csi-resizer",
      "csi-snapshotter",
      "kadalu-provisioner",
    ]);
    expect(withSidecar.filter((o) => o.metadata.name.includes("snapshot")).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ClusterRole/kadalu-csi-snapshotter",
      "ClusterRoleBinding/kadalu-csi-snapshotter",
    ]);
    const full = installPlan(resolveInstallOptions({ version: "1.0.0", snapshotController: true }));
    expect(full.map((step) => step.name)).toEqual(["namespace", "crd", "snapshot-crds", "rbac", "csi-driver", "operator", "csi", "snapshot-controller"]);
  });

  it("least privilege: no wildcard, no secrets, no leases (one replica, no leader election)", () => {
    for (const rules of [SNAPSHOTTER_RULES, SNAPSHOT_CONTROLLER_RULES]) {
      const text = JSON.stringify(rules);
      expect(text).not.toContain("*");
      expect(text).not.toContain("secrets");
      expect(text).not.toContain("leases");
    }
  });
});

describe("doctor: snapshots", () => {
  const facts = (crds: "none" | "partial" | "ours" | "theirs", controllers: string[] = [], missingCrds: string[] = []) => ({ crds, controllers, missingCrds });
  const withSidecar = { spec: { template: { spec: { containers: [{ name: "csi-snapshotter" }] } } } };
  const without = { spec: { template: { spec: { containers: [{ name: "csi-provisioner" }] } } } };

  it("no CRDs and nothing waiting: ok, saying how to add them; a restore waiting: a warning with the command", () => {
    expect(snapshotCheck("kadalu", facts("none"), without, [])).toEqual([
      {
        severity: "ok",
        check: "snapshots",
        where: "snapshot.storage.k8s.io",
        message: "not available: the cluster has no snapshot CRDs (kubectl kadalu install --snapshot-controller adds them and a snapshot-controller)",
      },
    ]);
    expect(snapshotCheck("storage", facts("none"), without, ["apps/restored"])[0]).toMatchObject({
      severity: "warning",
      next: "kubectl kadalu install --snapshot-controller -n storage",
    });
  });

  it("partial CRDs, no controller, no sidecar: warnings, each with the next command", () => {
    expect(snapshotCheck("kadalu", facts("partial", [], ["volumesnapshots.snapshot.storage.k8s.io"]), withSidecar, [])[0]).toMatchObject({
      severity: "warning",
      next: "kubectl get crd volumesnapshots.snapshot.storage.k8s.io",
    });
    expect(snapshotCheck("kadalu", facts("theirs"), withSidecar, [])[0]).toMatchObject({
      severity: "warning",
      message: expect.stringContaining("no snapshot-controller runs"),
      next: "kubectl kadalu install --snapshot-controller",
    });
    expect(snapshotCheck("kadalu", facts("theirs", ["kube-system/snapshot-controller"]), without, [])[0]).toMatchObject({
      severity: "warning",
      where: "statefulset/kadalu-csi-provisioner",
      next: "kubectl kadalu install",
    });
    expect(snapshotCheck("kadalu", facts("ours", ["kadalu/kadalu-snapshot-controller"]), withSidecar, [])[0]).toMatchObject({
      severity: "ok",
      message: "available (CRDs installed by kubectl-kadalu; snapshot-controller kadalu/kadalu-snapshot-controller)",
    });
    expect(snapshotCheck("kadalu", "forbidden", withSidecar, [])[0]!.severity).toBe("warning");
  });

  it("diagnose passes it the Pending Kadalu PVCs restored from a VolumeSnapshot", () => {
    const findings = diagnose({
      namespace: "kadalu",
      pluginVersion: "1",
      pods: [],
      pools: [],
      infos: [],
      probes: new Map(),
      heals: new Map(),
      kadaluStorageClasses: ["kadalu.p1"],
      events: [],
      claims: [
        {
          metadata: { name: "restored", namespace: "apps" },
          spec: { storageClassName: "kadalu.p1", dataSource: { kind: "VolumeSnapshot", name: "s1" } },
          status: { phase: "Pending" },
        },
        {
          metadata: { name: "clone", namespace: "apps" },
          spec: { storageClassName: "kadalu.p1", dataSource: { kind: "PersistentVolumeClaim", name: "data" } },
          status: { phase: "Pending" },
        },
      ],
      snapshots: facts("none"),
    });
    expect(findings.find((f) => f.check === "snapshots")).toMatchObject({
      severity: "warning",
      message: expect.stringContaining("pending restores: apps/restored"),
    });
  });
});
