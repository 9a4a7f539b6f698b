/**
 * Snapshots' cluster side on a real kube-apiserver: `install --snapshot-controller` creates the CRDs (the
 * real server establishes them), the operator writes a VolumeSnapshotClass per pool, the real
 * snapshot-controller (../shared/k8s) runs with the ServiceAccount and RBAC install gave it and turns a
 * VolumeSnapshot of a Kadalu PVC into a VolumeSnapshotContent of our driver, within its rules; snapshot-list
 * shows it, and the class goes with the pool.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binary, k8sBinDir } from "../../harness/real/components.js";
import { CONTROLLERS, startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { kadalu, startOperator } from "../../harness/real/kadalu.js";
import { waitUntil, type Started } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

const CRDS = ["volumesnapshots", "volumesnapshotcontents", "volumesnapshotclasses"].map((plural) => `${plural}.snapshot.storage.k8s.io`);
const SNAP = "/apis/snapshot.storage.k8s.io/v1";
const noController =
  existsSync(`${k8sBinDir()}/snapshot-controller`) || existsSync(`${k8sBinDir()}/snapshot-controller.xz`)
    ? undefined
    : `no snapshot-controller in ${k8sBinDir()}`;

describe.skipIf(noKubernetes ?? noController)("snapshots on a real kube-apiserver", () => {
  let cluster: RealCluster;
  let operator: Started | undefined;
  let controller: Started | undefined;
  const cli = (...args: string[]) => kadalu(cluster.adminKubeconfig, args);
  beforeAll(async () => {
    cluster = await startRealCluster(kubernetes!, {
      controllers: CONTROLLERS.filter((name) => !["statefulset", "daemonset", "deployment", "replicaset", "disruption"].includes(name)),
    });
  }, 120_000);
  afterAll(async () => {
    if (controller) await cluster.processes.stop(controller);
    if (operator) await cluster.processes.stop(operator);
    await cluster?.stop();
  });

  it("install --snapshot-controller: established CRDs, the sidecar in the provisioner pod; the operator's class per pool", async () => {
    const install = await cli("install", "--no-wait", "--snapshot-controller");
    expect(install.code, install.stderr).toBe(0);
    for (const name of CRDS) {
      const crd = await cluster.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      expect(crd.status.conditions.find((c: { type: string }) => c.type === "Established")?.status).toBe("True");
    }
    const provisioner = await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/statefulsets/kadalu-csi-provisioner");
    expect(provisioner.spec.template.spec.containers.map((c: { name: string }) => c.name)).toContain("csi-snapshotter");
    expect((await cli("install", "--no-wait", "--snapshot-controller")).stdout).toContain("nothing to change");
    operator = await startOperator(cluster);
    const add = await cli("storage-add", "ext", "--external", "127.0.0.1:/vol", "--yes");
    expect(add.code, add.stderr).toBe(0);
    const vsc = await waitUntil(
      `VolumeSnapshotClass kadalu.ext\n${operator.tail()}`,
      () => cluster.admin.find(`${SNAP}/volumesnapshotclasses/kadalu.ext`),
      30_000,
      200,
    );
    expect(vsc).toMatchObject({ driver: "kadalu", deletionPolicy: "Delete", metadata: { annotations: { "kadalu.io/copy-kind": "full" } } });
  });

  it("the real snapshot-controller, with install's RBAC, makes a content of our driver; snapshot-list sees it", async () => {
    const deployment = await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/deployments/kadalu-snapshot-controller");
    const kubeconfig = await cluster.serviceAccountKubeconfig("kadalu", "kadalu-snapshot-controller");
    controller = cluster.processes.start("snapshot-controller", binary("snapshot-controller"), [
      ...deployment.spec.template.spec.containers[0].args,
      "--kubeconfig",
      kubeconfig,
    ]);
    // A Kadalu PV bound to a PVC, as the provisioner would have made it.
    await cluster.admin.post("/api/v1/namespaces", { metadata: { name: "apps" } });
    await cluster.admin.post("/api/v1/persistentvolumes", {
      metadata: { name: "pvc-data" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteMany"],
        storageClassName: "kadalu.ext",
        csi: { driver: "kadalu", volumeHandle: "pvc-data", volumeAttributes: { hostvol: "ext" } },
        claimRef: { namespace: "apps", name: "data" },
      },
    });
    await cluster.admin.post("/api/v1/namespaces/apps/persistentvolumeclaims", {
      metadata: { name: "data" },
      spec: { accessModes: ["ReadWriteMany"], storageClassName: "kadalu.ext", volumeName: "pvc-data", resources: { requests: { storage: "1Gi" } } },
    });
    await waitUntil(
      "the PVC bound",
      async () => (await cluster.admin.get("/api/v1/namespaces/apps/persistentvolumeclaims/data")).status?.phase === "Bound" || undefined,
      30_000,
      200,
    );
    await cluster.admin.post(`${SNAP}/namespaces/apps/volumesnapshots`, {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: { name: "nightly" },
      spec: { volumeSnapshotClassName: "kadalu.ext", source: { persistentVolumeClaimName: "data" } },
    });
    const content = await waitUntil(
      `a VolumeSnapshotContent\n${controller.tail()}`,
      async () => {
        const list = await cluster.admin.get(`${SNAP}/volumesnapshotcontents`);
        return list.items.find((item: { spec: { volumeSnapshotRef?: { name?: string } } }) => item.spec.volumeSnapshotRef?.name === "nightly");
      },
      60_000,
      250,
    );
    expect(content.spec).toMatchObject({
      driver: "kadalu",
      deletionPolicy: "Delete",
      source: { volumeHandle: "pvc-data" },
      volumeSnapshotClassName: "kadalu.ext",
    });
    // No sidecar runs here (the CSI side is another tier's): the snapshot is listed as not ready yet.
    const list = await cli("snapshot-list", "-o", "json");
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).snapshots).toEqual([
      expect.objectContaining({ pool: "ext", namespace: "apps", name: "nightly", pvc: "data", ready: false }),
    ]);
    const forbidden = cluster
      .audit()
      .filter((event) => event.user.username === "system:serviceaccount:kadalu:kadalu-snapshot-controller" && event.responseStatus?.code === 403);
    expect(
      forbidden.map((event) => `${event.verb} ${event.objectRef?.resource}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ""}`),
    ).toEqual([]);
  });

  it("once the snapshot and the PV are gone, storage-remove removes the pool and the class goes with it", async () => {
    // No sidecar deletes a snapshot here: Retain lets the controller let go of it without one.
    const content = (await cluster.admin.get(`${SNAP}/volumesnapshotcontents`)).items[0];
    await cluster.admin.merge(`${SNAP}/volumesnapshotcontents/${content.metadata.name}`, { spec: { deletionPolicy: "Retain" } });
    await cluster.admin.delete(`${SNAP}/namespaces/apps/volumesnapshots/nightly`);
    await waitUntil(
      `the snapshot gone\n${controller!.tail()}`,
      async () => (await cluster.admin.find(`${SNAP}/namespaces/apps/volumesnapshots/nightly`)) === undefined || undefined,
      60_000,
      250,
    );
    for (const path of ["/api/v1/namespaces/apps/persistentvolumeclaims/data", "/api/v1/persistentvolumes/pvc-data"]) {
      await cluster.admin.delete(path);
      // Gone already, or held by a finalizer no controller here removes.
      await cluster.admin.merge(path, { metadata: { finalizers: null } }).catch((error: { status?: number }) => {
        if (error.status !== 404) throw error;
      });
    }
    await waitUntil("the PV gone", async () => (await cluster.admin.find("/api/v1/persistentvolumes/pvc-data")) === undefined || undefined, 30_000, 200);
    const removed = await cli("storage-remove", "ext", "--yes", "--wait", "--timeout", "60s");
    expect(removed.code, removed.stderr).toBe(0);
    expect(await cluster.admin.find(`${SNAP}/volumesnapshotclasses/kadalu.ext`)).toBeUndefined();
  });
});
