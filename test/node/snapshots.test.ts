/**
 * Snapshots end to end through a real kubelet: install --snapshot-controller (the CRDs, the real
 * snapshot-controller and the csi-snapshotter sidecar from ../shared/k8s as images), an External pool and
 * its VolumeSnapshotClass, a PVC written by a pod, a VolumeSnapshot of it made ready by the sidecar and the
 * driver, then a PVC restored from it (dataSource VolumeSnapshot) and a clone (dataSource PVC), each
 * mounted in a pod that reads the file back; snapshot-list shows the snapshot ready.
 * Skips until the CSI driver advertises CREATE_DELETE_SNAPSHOT (the CSI half of issue 39).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noImages } from "../../harness/images/tier.js";
import { glusterParts } from "../../harness/real/components.js";
import { kadalu } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { node as parts, noNode } from "../../harness/node/components.js";
import { appPod, deletePod, importKadaluImages, pvc, startExternalServer, waitLog, waitRunning, type ExternalServer } from "../../harness/node/kadalu.js";
import { startNode, type RealNode } from "../../harness/node/node.js";

const gluster = glusterParts();
const noGluster = typeof gluster === "string" ? gluster : undefined;
const driverSource = ["csi/controller.ts", "csi/identity.ts"].map((path) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")).join("\n");
const noSnapshots = driverSource.includes("CREATE_DELETE_SNAPSHOT")
  ? undefined
  : "the CSI driver does not advertise CREATE_DELETE_SNAPSHOT yet (csi/controller.ts)";
const POOL = "snap1";
const CLASS = `kadalu.${POOL}`;
const NS = "/api/v1/namespaces/default";
const SNAP = "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots";

describe.skipIf(noSnapshots ?? noNode ?? noImages ?? noGluster)(
  "node tier: a VolumeSnapshot, then PVCs restored and cloned from it, mounted by a real kubelet",
  () => {
    let node: RealNode;
    let server: ExternalServer;

    beforeAll(async () => {
      node = await startNode(parts!);
      try {
        importKadaluImages(node, parts!);
        server = await startExternalServer(node, gluster as Exclude<typeof gluster, string>, POOL);
        const install = await kadalu(node.cluster.adminKubeconfig, [
          "install",
          "--snapshot-controller",
          "--wait",
          "--timeout",
          "4m",
          "--kubelet-dir",
          node.kubeletDir,
        ]);
        expect(install.code, install.stderr).toBe(0);
        const added = await kadalu(node.cluster.adminKubeconfig, ["storage-add", POOL, "--type", "External", "--external", server.external, "--yes"]);
        expect(added.code, added.stderr).toBe(0);
        await waitUntil(
          `VolumeSnapshotClass ${CLASS}`,
          () => node.cluster.admin.find(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/${CLASS}`),
          60_000,
          250,
        );
      } catch (error) {
        await node.stop();
        await server?.stop();
        throw error;
      }
    }, 600_000);

    afterAll(async () => {
      await node?.stop();
      await server?.stop();
    });

    it("snapshots a written PVC; a restored PVC and a clone read the file back in their pods", async () => {
      const admin = node.cluster.admin;
      await admin.post(`${NS}/persistentvolumeclaims`, pvc("source", CLASS, "64Mi"));
      await admin.post(
        `${NS}/pods`,
        appPod(
          "writer",
          "source",
          `const fd = fs.openSync("/data/hello", "w"); fs.writeSync(fd, "before-snapshot\\n"); fs.fsyncSync(fd); fs.closeSync(fd); console.log("wrote"); hold();`,
        ),
      );
      await waitRunning(node, "writer", 180_000);
      await waitLog(node, "writer", "the writer's line", (lines) => lines.includes("wrote") || undefined);
      await admin.post(SNAP, {
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshot",
        metadata: { name: "nightly" },
        spec: { volumeSnapshotClassName: CLASS, source: { persistentVolumeClaimName: "source" } },
      });
      const ready = await waitUntil(
        "the VolumeSnapshot ready",
        async () => {
          const snapshot = await admin.get(`${SNAP}/nightly`);
          return snapshot.status?.readyToUse === true ? snapshot : undefined;
        },
        120_000,
        500,
      );
      expect(ready.status.boundVolumeSnapshotContentName).toBeTruthy();
      const listed = await kadalu(node.cluster.adminKubeconfig, ["snapshot-list", POOL, "-o", "json"]);
      expect(JSON.parse(listed.stdout).snapshots).toEqual([
        expect.objectContaining({ pool: POOL, namespace: "default", name: "nightly", pvc: "source", ready: true }),
      ]);
      // Changed after the snapshot: the restore must not see it; the clone, made now, does.
      await admin.post(
        `${NS}/pods`,
        appPod(
          "changer",
          "source",
          `const fd = fs.openSync("/data/hello", "w"); fs.writeSync(fd, "after-snapshot\\n"); fs.fsyncSync(fd); fs.closeSync(fd); console.log("changed"); hold();`,
        ),
      );
      await waitLog(node, "changer", "the change", (lines) => lines.includes("changed") || undefined, 120_000);
      const restored = { ...pvc("restored", CLASS, "64Mi") } as { spec: Record<string, unknown> };
      restored.spec.dataSource = { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "nightly" };
      const cloned = { ...pvc("cloned", CLASS, "64Mi") } as { spec: Record<string, unknown> };
      cloned.spec.dataSource = { kind: "PersistentVolumeClaim", name: "source" };
      await admin.post(`${NS}/persistentvolumeclaims`, restored);
      await admin.post(`${NS}/persistentvolumeclaims`, cloned);
      for (const [pod, claim] of [
        ["restore-reader", "restored"],
        ["clone-reader", "cloned"],
      ] as const) {
        await admin.post(`${NS}/pods`, appPod(pod, claim, `console.log("read:" + fs.readFileSync("/data/hello", "utf8").trim()); hold();`));
      }
      expect(await waitLog(node, "restore-reader", "the restored file", (lines) => lines.find((line) => line.startsWith("read:")), 180_000)).toBe(
        "read:before-snapshot",
      );
      expect(await waitLog(node, "clone-reader", "the cloned file", (lines) => lines.find((line) => line.startsWith("read:")), 180_000)).toBe(
        "read:after-snapshot",
      );
      for (const pod of ["writer", "changer", "restore-reader", "clone-reader"]) await deletePod(node, pod);
    });
  },
);
