/**
 * Snapshots on the cluster side against the API test server: install's sidecar, CRDs and controller,
 * uninstall, `snapshot-list`, and `storage-remove`'s refusal while a pool holds snapshots.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { resolveInstallOptions } from "../../../src/core/manifests/options.js";
import { snapshotCrds } from "../../../src/core/manifests/snapshots.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const API = "kadalu-operator.storage/v1alpha1";
const SNAP = "snapshot.storage.k8s.io/v1";
const CRD_API = "apiextensions.k8s.io/v1";
const CRD_NAMES = [
  "volumesnapshotclasses.snapshot.storage.k8s.io",
  "volumesnapshotcontents.snapshot.storage.k8s.io",
  "volumesnapshots.snapshot.storage.k8s.io",
];
let cluster: TestCluster;
const cli = (...args: string[]) => runCli([...args, "--kubeconfig", cluster.kubeconfig]);
const get = (apiVersion: string, kind: string, name: string, namespace?: string) => cluster.server.get(apiVersion, kind, namespace, name);
const containers = (): { name: string; image: string; args: string[] }[] =>
  get("apps/v1", "StatefulSet", "kadalu-csi-provisioner", "kadalu")!.spec.template.spec.containers;

/** The CRDs as another installer made them (no label of ours). */
const seedTheirCrds = (): void => {
  cluster.server.seed(...(snapshotCrds(resolveInstallOptions({ version: "1" })).map((crd) => ({ ...crd, metadata: { name: crd.metadata.name } })) as never[]));
};

/** A VolumeSnapshot of `pvc` bound to its content, whose handle names `pool`; statuses as the controller and the sidecar write them. */
function seedSnapshot(pool: string, namespace: string, name: string, pvc: string, ready: boolean, size?: number): void {
  const content = `snapcontent-${name}`;
  cluster.server.seed(
    {
      apiVersion: SNAP,
      kind: "VolumeSnapshot",
      metadata: { name, namespace },
      spec: { source: { persistentVolumeClaimName: pvc }, volumeSnapshotClassName: `kadalu.${pool}` },
    } as never,
    {
      apiVersion: SNAP,
      kind: "VolumeSnapshotContent",
      metadata: { name: content },
      spec: { driver: "kadalu", deletionPolicy: "Delete", volumeSnapshotRef: { name, namespace }, source: { volumeHandle: `pvc-${pvc}` } },
    } as never,
  );
  cluster.server.setStatus(SNAP, "VolumeSnapshot", namespace, name, {
    boundVolumeSnapshotContentName: content,
    readyToUse: ready,
    ...(size ? { restoreSize: String(size) } : {}),
  });
  cluster.server.setStatus(SNAP, "VolumeSnapshotContent", undefined, content, {
    snapshotHandle: `${pool}/snapshot-${name}`,
    readyToUse: ready,
    ...(size ? { restoreSize: size } : {}),
  });
}

beforeEach(async () => {
  cluster = await startCluster({ namespaces: ["kadalu", "apps", "shop"] });
});
afterEach(async () => {
  await cluster.stop();
});

describe("install and snapshots", () => {
  it("without snapshot CRDs: no csi-snapshotter sidecar and no rules for it", async () => {
    const result = await cli("install", "--no-wait");
    expect(result.code).toBe(0);
    expect(containers().map((c) => c.name)).toEqual(["csi-provisioner", "csi-resizer", "kadalu-provisioner"]);
    expect(get("rbac.authorization.k8s.io/v1", "ClusterRole", "kadalu-csi-snapshotter")).toBeUndefined();
    expect(get(CRD_API, "CustomResourceDefinition", CRD_NAMES[0]!)).toBeUndefined();
  });

  it("--snapshot-controller adds the CRDs, the controller and the sidecar with its RBAC; a second run changes nothing", async () => {
    const result = await cli("install", "--no-wait", "--snapshot-controller");
    expect(result.code).toBe(0);
    for (const name of CRD_NAMES)
      expect(get(CRD_API, "CustomResourceDefinition", name)!.metadata.labels["app.kubernetes.io/managed-by"]).toBe("kubectl-kadalu");
    const controller = get("apps/v1", "Deployment", "kadalu-snapshot-controller", "kadalu")!;
    expect(controller.spec.template.spec.containers[0].image).toBe("registry.k8s.io/sig-storage/snapshot-controller:v8.3.0");
    expect(controller.spec.template.spec.serviceAccountName).toBe("kadalu-snapshot-controller");
    const sidecar = containers().find((c) => c.name === "csi-snapshotter")!;
    expect(sidecar.image).toBe("registry.k8s.io/sig-storage/csi-snapshotter:v8.3.0");
    expect(sidecar.args).toContain("--leader-election=false");
    const binding = get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "kadalu-csi-snapshotter")!;
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "kadalu-csi-provisioner", namespace: "kadalu" }]);
    const rules = get("rbac.authorization.k8s.io/v1", "ClusterRole", "kadalu-csi-snapshotter")!.rules;
    expect(rules).toContainEqual({ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshotcontents/status"], verbs: ["update", "patch"] });
    expect(JSON.stringify(rules)).not.toContain("*");
    cluster.server.clearRequests();
    const again = await cli("install", "--no-wait", "--snapshot-controller");
    expect(again.stdout).toContain("nothing to change");
    expect(cluster.server.writes()).toEqual([]);
  });

  it("finds the CRDs of another installer: the sidecar runs; --snapshot-controller leaves their CRDs and controller alone", async () => {
    seedTheirCrds();
    cluster.server.seed({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "snapshot-controller", namespace: "kube-system" },
      spec: { template: { spec: { containers: [{ name: "c", image: "registry.k8s.io/sig-storage/snapshot-controller:v8.2.0" }] } } },
    } as never);
    cluster.server.clearRequests();
    const result = await cli("install", "--no-wait", "--snapshot-controller");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("snapshot CRDs: the cluster has them from another installer; leaving them as they are\n");
    expect(result.stderr).toContain("snapshot-controller: kube-system/snapshot-controller already runs one; not installing a second\n");
    expect(cluster.server.writes().filter((w) => w.resource === "customresourcedefinitions" && w.name !== "kadalustorages.kadalu-operator.storage")).toEqual(
      [],
    );
    expect(get("apps/v1", "Deployment", "kadalu-snapshot-controller", "kadalu")).toBeUndefined();
    expect(containers().map((c) => c.name)).toContain("csi-snapshotter");
  });

  it("-o yaml --snapshot-controller renders everything offline, the images from a mirror when asked", async () => {
    const result = await runCli(["install", "-o", "yaml", "--snapshot-controller", "--image-registry", "mirror.example.com"]);
    expect(result.code).toBe(0);
    const objects = result.stdout.split(/^---$/m).map((doc) => parseYaml(doc));
    expect(
      objects
        .filter((o) => o.kind === "CustomResourceDefinition")
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["kadalustorages.kadalu-operator.storage", ...CRD_NAMES]);
    const images = JSON.stringify(
      objects
        .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
        .map((o) => o.spec.template.spec.containers.map((c: { image: string }) => c.image)),
    );
    expect(images).toContain("mirror.example.com/sig-storage/snapshot-controller:v8.3.0");
    expect(images).toContain("mirror.example.com/sig-storage/csi-snapshotter:v8.3.0");
  });

  it("uninstall removes the controller and RBAC; --purge the CRDs it installed, kept while snapshots exist", async () => {
    expect((await cli("install", "--no-wait", "--snapshot-controller")).code).toBe(0);
    seedSnapshot("pool1", "apps", "nightly", "data", true, 1024);
    const kept = await cli("uninstall", "--purge", "--yes", "--allow-orphans");
    expect(kept.code).toBe(0);
    expect(kept.stderr).toContain(
      "keeping the snapshot CRDs: 1 VolumeSnapshotContent still exist (snapcontent-nightly); delete their VolumeSnapshots, then kubectl delete crd",
    );
    expect(get("apps/v1", "Deployment", "kadalu-snapshot-controller", "kadalu")).toBeUndefined();
    expect(get("rbac.authorization.k8s.io/v1", "ClusterRole", "kadalu-csi-snapshotter")).toBeUndefined();
    expect(get(CRD_API, "CustomResourceDefinition", CRD_NAMES[1]!)).toBeDefined();
    cluster.server.objects.delete(cluster.server.registry.byKind(SNAP, "VolumeSnapshotContent")!, undefined, "snapcontent-nightly", { dryRun: false });
    expect((await cli("install", "--no-wait", "--snapshot-controller")).code).toBe(0);
    const purged = await cli("uninstall", "--purge", "--yes", "--allow-orphans");
    expect(purged.code).toBe(0);
    for (const name of CRD_NAMES) expect(get(CRD_API, "CustomResourceDefinition", name)).toBeUndefined();
  });
});

describe("snapshot-list", () => {
  it("lists each snapshot of a Kadalu pool once: pool, source PVC, size, ready, age; a pending one too", async () => {
    seedTheirCrds();
    seedSnapshot("pool1", "apps", "nightly", "data", true, 3 * 1024 ** 3);
    seedSnapshot("pool2", "shop", "before-upgrade", "db", false);
    cluster.server.seed(
      {
        apiVersion: SNAP,
        kind: "VolumeSnapshot",
        metadata: { name: "just-asked", namespace: "apps" },
        spec: { source: { persistentVolumeClaimName: "logs" }, volumeSnapshotClassName: "kadalu.pool1" },
      } as never,
      // Another driver's snapshot is not ours to list.
      {
        apiVersion: SNAP,
        kind: "VolumeSnapshotContent",
        metadata: { name: "other" },
        spec: { driver: "ebs.csi.aws.com", deletionPolicy: "Delete", volumeSnapshotRef: { name: "x", namespace: "y" }, source: { volumeHandle: "vol-1" } },
        status: { snapshotHandle: "snap-1" },
      } as never,
    );
    cluster.server.clearRequests();
    const result = await cli("snapshot-list");
    expect(result.code).toBe(0);
    // The age is the server's: seconds here.
    expect(
      result.stdout.split("\n").map((line) =>
        line
          .split(/\s{3,}/)
          .join("|")
          .replace(/\|\d+s$/, "|AGE"),
      ),
    ).toEqual([
      "POOL|NAMESPACE|PVC|SNAPSHOT|SIZE|READY|AGE",
      "pool1|apps|logs|just-asked|-|false|AGE",
      "pool1|apps|data|nightly|3.0 GiB|true|AGE",
      "pool2|shop|db|before-upgrade|-|false|AGE",
      "",
    ]);
    // One discovery read, then one list of each kind.
    expect(
      cluster.server.requests
        .filter((r) => r.resource)
        .map((r) => `${r.verb} ${r.resource}`)
        .sort(),
    ).toEqual(["list volumesnapshotcontents", "list volumesnapshots"]);
    const json = JSON.parse((await cli("snapshot-list", "pool1", "-o", "json")).stdout);
    expect(json).toMatchObject({ apiVersion: "kubectl-kadalu/v1", kind: "SnapshotList" });
    expect(json.snapshots.map((s: { name: string }) => s.name)).toEqual(["just-asked", "nightly"]);
    expect(json.snapshots[1]).toMatchObject({
      pool: "pool1",
      namespace: "apps",
      pvc: "data",
      content: "snapcontent-nightly",
      sizeBytes: 3 * 1024 ** 3,
      ready: true,
    });
    expect(parseYaml((await cli("snapshot-list", "--pool", "pool2", "-o", "yaml")).stdout).snapshots).toHaveLength(1);
  });

  it("says how to add the snapshot kinds where the cluster has none; a bad pool name is refused before any request", async () => {
    const none = await cli("snapshot-list");
    expect(none.stderr).toBe(
      "error: the cluster has no VolumeSnapshot kinds (snapshot.storage.k8s.io/v1), so no snapshots; add them with: kubectl kadalu install --snapshot-controller\n",
    );
    expect(none.code).toBe(1);
    cluster.server.clearRequests();
    const bad = await cli("snapshot-list", "Pool_1");
    expect(bad.stderr).toMatch(/^error: pool name "Pool_1" must consist of lower case letters/);
    expect(bad.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
    seedTheirCrds();
    const empty = await cli("snapshot-list");
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toBe("No snapshots of Kadalu pools. Take one with a VolumeSnapshot of class kadalu.POOL (README: Snapshots and clones)\n");
  });
});

describe("storage-remove and snapshots", () => {
  it("refuses while the pool holds snapshots, naming them and the commands that delete them; writes nothing", async () => {
    cluster.server.seed(
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "operator", namespace: "kadalu" }, spec: {}, status: { availableReplicas: 1 } } as never,
      {
        apiVersion: API,
        kind: "KadaluStorage",
        metadata: { name: "pool1", namespace: "kadalu" },
        spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
      } as never,
    );
    seedTheirCrds();
    seedSnapshot("pool1", "apps", "nightly", "data", true, 1024);
    seedSnapshot("pool1", "apps", "weekly", "data", true, 1024);
    seedSnapshot("pool2", "shop", "other-pool", "db", true, 1024);
    cluster.server.seed({
      apiVersion: SNAP,
      kind: "VolumeSnapshotContent",
      metadata: { name: "imported" },
      spec: { driver: "kadalu", deletionPolicy: "Retain", volumeSnapshotRef: {}, source: { snapshotHandle: "pool1/snapshot-old" } },
    } as never);
    cluster.server.clearRequests();
    const result = await cli("storage-remove", "pool1", "--yes");
    expect(result.stderr).toBe(
      'error: storage pool "pool1" still holds 3 snapshots: volumesnapshotcontent imported, apps/nightly (of PVC data), apps/weekly (of PVC data); delete them (kubectl delete volumesnapshot -n apps nightly weekly; kubectl delete volumesnapshotcontent imported), then run this again\n',
    );
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    expect(get(API, "KadaluStorage", "pool1", "kadalu")).toBeDefined();
  });
});
