/**
 * Stands in for the external-provisioner and external-resizer sidecars: PVCs of StorageClasses whose
 * provisioner is `kadalu` get CreateVolume over the driver's unix socket (with the parameters a real
 * sidecar passes), then a PV bound to them; growing a PVC calls ControllerExpandVolume; a PV whose claim
 * is gone is deleted through DeleteVolume (reclaim policy Delete) or released (Retain).
 */
import type { ApiServer } from "../apiserver/server.js";
import type { KubeObject } from "../apiserver/store.js";
import { csiClient, type CsiClient } from "../helpers/csi-client.js";
import { formatQuantity, parseQuantity } from "./quantity.js";

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: "SINGLE_NODE_WRITER",
  ReadOnlyMany: "MULTI_NODE_READER_ONLY",
  ReadWriteMany: "MULTI_NODE_MULTI_WRITER",
  ReadWriteOncePod: "SINGLE_NODE_SINGLE_WRITER",
};

export interface ProvisioningLoop {
  stop(): void;
  /** Failures seen, for the sandbox to show. */
  errors: string[];
}

export function startProvisioningLoop(server: ApiServer, endpoint: string): ProvisioningLoop {
  let client: CsiClient | undefined;
  let busy = false;
  const errors: string[] = [];
  const type = (apiVersion: string, kind: string) => server.registry.byKind(apiVersion, kind)!;
  const commit = (current: KubeObject, next: KubeObject, subresource?: string): void => {
    server.objects.commit(type(current.apiVersion, current.kind), current, next, subresource, { dryRun: false });
  };

  async function provision(pvc: KubeObject, sc: KubeObject): Promise<void> {
    const name = `pvc-${pvc.metadata.uid}`;
    const bytes = parseQuantity(pvc.spec.resources?.requests?.storage ?? "1Gi");
    const { volume } = await client!.controller("CreateVolume", {
      name,
      capacity_range: { required_bytes: bytes },
      volume_capabilities: (pvc.spec.accessModes ?? ["ReadWriteOnce"]).map((mode: string) => ({
        mount: {},
        access_mode: { mode: ACCESS_MODES[mode] ?? "SINGLE_NODE_WRITER" },
      })),
      parameters: {
        ...(sc.parameters ?? {}),
        "csi.storage.k8s.io/pvc/name": pvc.metadata.name,
        "csi.storage.k8s.io/pvc/namespace": pvc.metadata.namespace,
        "csi.storage.k8s.io/pv/name": name,
      },
    });
    server.seed({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": "kadalu" } },
      spec: {
        capacity: { storage: formatQuantity(volume.capacity_bytes) },
        accessModes: pvc.spec.accessModes,
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
        storageClassName: sc.metadata.name,
        csi: { driver: "kadalu", volumeHandle: volume.volume_id, volumeAttributes: volume.volume_context },
        claimRef: { kind: "PersistentVolumeClaim", namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
      status: { phase: "Bound" },
    });
    const live = server.get("v1", "PersistentVolumeClaim", pvc.metadata.namespace, pvc.metadata.name)!;
    commit(live, { ...live, spec: { ...live.spec, volumeName: name } });
    const bound = server.get("v1", "PersistentVolumeClaim", pvc.metadata.namespace, pvc.metadata.name)!;
    commit(
      bound,
      { ...bound, status: { phase: "Bound", accessModes: pvc.spec.accessModes, capacity: { storage: formatQuantity(volume.capacity_bytes) } } },
      "status",
    );
  }

  async function expand(pvc: KubeObject, pv: KubeObject, wanted: number): Promise<void> {
    const { capacity_bytes } = await client!.controller("ControllerExpandVolume", {
      volume_id: pv.spec.csi.volumeHandle,
      capacity_range: { required_bytes: wanted },
    });
    commit(pv, { ...pv, spec: { ...pv.spec, capacity: { storage: formatQuantity(capacity_bytes) } } });
    const live = server.get("v1", "PersistentVolumeClaim", pvc.metadata.namespace, pvc.metadata.name)!;
    commit(live, { ...live, status: { ...live.status, capacity: { storage: formatQuantity(capacity_bytes) } } }, "status");
  }

  async function reclaim(pv: KubeObject): Promise<void> {
    if (pv.spec.persistentVolumeReclaimPolicy === "Delete") {
      await client!.controller("DeleteVolume", { volume_id: pv.spec.csi.volumeHandle });
      server.objects.delete(type("v1", "PersistentVolume"), undefined, pv.metadata.name, { dryRun: false });
    } else if (pv.status?.phase !== "Released") commit(pv, { ...pv, status: { phase: "Released" } }, "status");
  }

  async function tick(): Promise<void> {
    client ??= csiClient(endpoint);
    for (const pvc of server.list("v1", "PersistentVolumeClaim")) {
      const sc = pvc.spec?.storageClassName ? server.get("storage.k8s.io/v1", "StorageClass", undefined, pvc.spec.storageClassName) : undefined;
      if (!sc || sc.provisioner !== "kadalu") continue;
      const pv = pvc.spec.volumeName ? server.get("v1", "PersistentVolume", undefined, pvc.spec.volumeName) : undefined;
      if (!pv) await provision(pvc, sc);
      else {
        const wanted = parseQuantity(pvc.spec.resources?.requests?.storage ?? "0");
        if (wanted > parseQuantity(pv.spec.capacity.storage)) await expand(pvc, pv, wanted);
      }
    }
    for (const pv of server.list("v1", "PersistentVolume")) {
      if (pv.spec?.csi?.driver !== "kadalu" || !pv.spec.claimRef) continue;
      const claim = server.get("v1", "PersistentVolumeClaim", pv.spec.claimRef.namespace, pv.spec.claimRef.name);
      if (!claim || claim.metadata.uid !== pv.spec.claimRef.uid) await reclaim(pv);
    }
  }

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch((error: Error) => {
        const message = error.message;
        if (errors[errors.length - 1] !== message) errors.push(message);
      })
      .finally(() => {
        busy = false;
      });
  }, 100);
  return {
    errors,
    stop() {
      clearInterval(timer);
      client?.close();
    },
  };
}
