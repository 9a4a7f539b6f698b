/**
 * The install plan: ordered steps of typed objects (namespace, CRD, RBAC, CSI driver object, operator,
 * CSI workloads). `install -o yaml` prints it, `install` applies it in order, `uninstall` walks it back.
 */
import { xxh64Hex } from "../xxh64.js";
import { INSTALL_HASH_ANNOTATION, meta, OPERATOR_DEPLOYMENT, SA } from "./common.js";
import type { KubeObject } from "../kube-vocabulary.js";
import { kadaluStorageCrd } from "./crd.js";
import type { InstallOptions } from "./options.js";
import { rbac, serviceAccounts } from "./rbac.js";
import { monitoringObjects } from "./monitoring.js";
import { snapshotControllerObjects, snapshotCrds, snapshotterRbac } from "./snapshots.js";
import { csiDriver, nodepluginDaemonSet, operatorDeployment, provisionerStatefulSet } from "./workloads.js";

export type StepName = "namespace" | "crd" | "snapshot-crds" | "rbac" | "csi-driver" | "operator" | "csi" | "snapshot-controller" | "monitoring";

export interface Step {
  name: StepName;
  objects: KubeObject[];
}

function namespace(options: InstallOptions): KubeObject {
  const metadata = meta(options, options.namespace, "namespace", false);
  // Brick and CSI pods are privileged: say so to Pod Security Admission.
  metadata.labels = {
    ...metadata.labels,
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
  };
  return { apiVersion: "v1", kind: "Namespace", metadata };
}

function securityContextConstraints(options: InstallOptions): KubeObject {
  return {
    apiVersion: "security.openshift.io/v1",
    kind: "SecurityContextConstraints",
    metadata: meta(options, "kadalu-scc", "rbac", false),
    allowPrivilegedContainer: true,
    allowHostNetwork: true,
    allowHostDirVolumePlugin: true,
    allowHostPorts: true,
    allowHostPID: true,
    allowHostIPC: true,
    allowedCapabilities: ["*"],
    readOnlyRootFilesystem: false,
    runAsUser: { type: "RunAsAny" },
    seLinuxContext: { type: "RunAsAny" },
    fsGroup: { type: "RunAsAny" },
    supplementalGroups: { type: "RunAsAny" },
    volumes: ["*"],
    users: Object.values(SA).map((name) => `system:serviceaccount:${options.namespace}:${name}`),
  };
}

export function installPlan(options: InstallOptions): Step[] {
  const crd = kadaluStorageCrd(meta(options, "kadalustorages", "crd", false).labels);
  const steps: Step[] = [
    { name: "namespace", objects: [namespace(options)] },
    { name: "crd", objects: [crd as KubeObject] },
    ...(options.snapshotCrds ? [{ name: "snapshot-crds" as const, objects: snapshotCrds(options) }] : []),
    {
      name: "rbac",
      objects: [
        ...serviceAccounts(options),
        ...rbac(options),
        ...(options.snapshotter ? snapshotterRbac(options, SA.provisioner) : []),
        ...(options.platform === "openshift" ? [securityContextConstraints(options)] : []),
      ],
    },
    { name: "csi-driver", objects: [csiDriver(options)] },
    { name: "operator", objects: [operatorDeployment(options)] },
    { name: "csi", objects: [provisionerStatefulSet(options), nodepluginDaemonSet(options)] },
    ...(options.snapshotController ? [{ name: "snapshot-controller" as const, objects: snapshotControllerObjects(options) }] : []),
    ...(options.serviceMonitor ? [{ name: "monitoring" as const, objects: monitoringObjects(options) }] : []),
  ];
  // The operator Deployment, applied after everything it depends on, carries a hash of the whole plan:
  // an install that finds the same hash there has nothing to do.
  const hash = planHash(steps);
  const operator = steps.find((step) => step.name === "operator")!.objects[0]!;
  operator.metadata.annotations = { ...operator.metadata.annotations, [INSTALL_HASH_ANNOTATION]: hash };
  return steps;
}

export function planHash(steps: Step[]): string {
  return xxh64Hex(JSON.stringify(steps.map((step) => step.objects)));
}

export function planObjects(steps: Step[]): KubeObject[] {
  return steps.flatMap((step) => step.objects);
}

export { OPERATOR_DEPLOYMENT };
