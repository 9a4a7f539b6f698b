/**
 * Doctor's word on VolumeSnapshots: without the snapshot CRDs, a snapshot-controller, or the csi-snapshotter
 * sidecar in the provisioner, a VolumeSnapshot of a Kadalu PVC (and a PVC restored from one) stays pending.
 * A cluster that has none of it and asks for no snapshot is fine: said as an ok finding with the way to add it.
 */
import type { Finding, Workload } from "./checks.js";

export interface SnapshotFacts {
  crds: "none" | "partial" | "ours" | "theirs";
  missingCrds: string[];
  /** `namespace/name` of the Deployments running a snapshot-controller. */
  controllers: string[];
}

const CHECK = "snapshots";
const inNamespace = (command: string, namespace: string): string => `${command}${namespace === "kadalu" ? "" : ` -n ${namespace}`}`;
const WHERE = "snapshot.storage.k8s.io";

/**
 * `facts`: what was found, or why it could not be read; `provisioner`: the provisioner StatefulSet;
 * `restoresPending`: Kadalu PVCs Pending with a VolumeSnapshot as their dataSource.
 */
export function snapshotCheck(
  namespace: string,
  facts: SnapshotFacts | string | undefined,
  provisioner: Workload | undefined,
  restoresPending: string[],
): Finding[] {
  if (facts === undefined) return [];
  const install = `kubectl kadalu ${inNamespace("install --snapshot-controller", namespace)}`;
  if (typeof facts === "string")
    return [
      {
        severity: "warning",
        check: CHECK,
        where: WHERE,
        message: `cannot tell whether VolumeSnapshots work: ${facts}`,
        next: "kubectl get crd volumesnapshots.snapshot.storage.k8s.io",
      },
    ];
  const pendingNote = restoresPending.length ? `; pending restores: ${restoresPending.join(", ")}` : "";
  if (facts.crds === "none") {
    if (restoresPending.length === 0)
      return [
        {
          severity: "ok",
          check: CHECK,
          where: WHERE,
          message: `not available: the cluster has no snapshot CRDs (${install} adds them and a snapshot-controller)`,
        },
      ];
    return [
      {
        severity: "warning",
        check: CHECK,
        where: WHERE,
        message: `the cluster has no snapshot CRDs: VolumeSnapshots cannot be made and PVCs restored from one stay Pending${pendingNote}`,
        next: install,
      },
    ];
  }
  if (facts.crds === "partial") {
    return [
      {
        severity: "warning",
        check: CHECK,
        where: WHERE,
        message: `the cluster has only some snapshot CRDs (missing ${facts.missingCrds.join(", ")}): snapshots stay pending${pendingNote}`,
        next: `kubectl get crd ${facts.missingCrds.join(" ")}`,
      },
    ];
  }
  if (facts.controllers.length === 0) {
    return [
      {
        severity: "warning",
        check: CHECK,
        where: WHERE,
        message: `no snapshot-controller runs (no Deployment of its image in any namespace): VolumeSnapshots stay pending${pendingNote}; ignore this if your distribution runs it outside the cluster`,
        next: install,
      },
    ];
  }
  const sidecar = provisioner?.spec?.template?.spec?.containers?.some((container) => container.name === "csi-snapshotter");
  if (provisioner && !sidecar) {
    return [
      {
        severity: "warning",
        check: CHECK,
        where: "statefulset/kadalu-csi-provisioner",
        message: `the snapshot CRDs exist but the provisioner has no csi-snapshotter sidecar (installed before them): snapshots of Kadalu PVCs stay pending${pendingNote}`,
        next: `kubectl kadalu ${inNamespace("install", namespace)}`,
      },
    ];
  }
  return [
    {
      severity: "ok",
      check: CHECK,
      where: WHERE,
      message: `available (CRDs ${facts.crds === "ours" ? "installed by kubectl-kadalu" : "present"}; snapshot-controller ${facts.controllers.join(", ")})`,
    },
  ];
}
