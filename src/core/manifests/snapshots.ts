/**
 * Snapshots on the cluster side: the csi-snapshotter sidecar's RBAC (the sidecar itself is in the
 * provisioner pod, workloads.ts), and, on request (`install --snapshot-controller`), external-snapshotter's
 * v1 CRDs and its snapshot-controller with its RBAC, for clusters that have none.
 */
import { meta, pullSecrets, SIDECAR_API_RATE } from "./common.js";
import type { KubeObject } from "../kube-vocabulary.js";
import { sidecarImage, type InstallOptions } from "./options.js";
import type { PolicyRule } from "./rbac.js";
import { SNAPSHOT_CRDS_JSON } from "./snapshot-crds.data.js";

export const SNAPSHOT_GROUP = "snapshot.storage.k8s.io";
export const SNAPSHOT_API = `${SNAPSHOT_GROUP}/v1`;
export const SNAPSHOT_KINDS = ["VolumeSnapshot", "VolumeSnapshotContent", "VolumeSnapshotClass"] as const;
/** The CRD whose presence decides whether the sidecar runs (the kind it watches). */
export const SNAPSHOT_CONTENTS_CRD = `volumesnapshotcontents.${SNAPSHOT_GROUP}`;
export const SNAPSHOT_CRD_NAMES = [`volumesnapshots.${SNAPSHOT_GROUP}`, SNAPSHOT_CONTENTS_CRD, `volumesnapshotclasses.${SNAPSHOT_GROUP}`] as const;

/** The provisioner's second ClusterRole, bound only when the sidecar runs. */
export const SNAPSHOTTER_ROLE = "kadalu-csi-snapshotter";
export const SNAPSHOT_CONTROLLER = "kadalu-snapshot-controller";
/** What `doctor` recognises as a snapshot-controller in any namespace: the image's name. */
export const SNAPSHOT_CONTROLLER_IMAGE_NAME = "snapshot-controller";

const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({ apiGroups, resources, verbs });
const READ = ["get", "list", "watch"];

/**
 * csi-snapshotter v8.3.0, as its deploy/kubernetes/csi-snapshotter/rbac-csi-snapshotter.yaml grants, less
 * group snapshots (feature gate off), secrets (no snapshotter secrets) and leases (one replica,
 * --leader-election off); plus what csi-provisioner reads to restore a snapshot into a new PV
 * (its rbac.yaml's volumesnapshots and volumesnapshotcontents get and list).
 */
export const SNAPSHOTTER_RULES: PolicyRule[] = [
  rule([SNAPSHOT_GROUP], ["volumesnapshotclasses"], READ),
  rule([SNAPSHOT_GROUP], ["volumesnapshotcontents"], [...READ, "update", "patch"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshotcontents/status"], ["update", "patch"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshots"], ["get", "list"]),
  rule([""], ["events"], ["list", "watch", "create", "update", "patch"]),
];

/**
 * snapshot-controller v8.3.0, as its deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml
 * grants, less group snapshots (feature gate off) and leases (one replica, --leader-election off).
 */
export const SNAPSHOT_CONTROLLER_RULES: PolicyRule[] = [
  rule([""], ["persistentvolumes"], READ),
  rule([""], ["persistentvolumeclaims"], [...READ, "update"]),
  rule([""], ["events"], ["list", "watch", "create", "update", "patch"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshotclasses"], READ),
  rule([SNAPSHOT_GROUP], ["volumesnapshotcontents"], [...READ, "create", "update", "patch", "delete"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshotcontents/status"], ["patch"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshots"], [...READ, "update", "patch"]),
  rule([SNAPSHOT_GROUP], ["volumesnapshots/status"], ["update", "patch"]),
];

/** The three CRDs, labelled as ours: uninstall --purge removes only CRDs that carry the label. */
export function snapshotCrds(options: InstallOptions): KubeObject[] {
  const labels = meta(options, "snapshot-crds", "crd", false).labels;
  return (JSON.parse(SNAPSHOT_CRDS_JSON) as KubeObject[]).map((crd) => ({
    ...crd,
    metadata: { ...crd.metadata, labels: { ...crd.metadata.labels, ...labels } },
  }));
}

function clusterRoleAndBinding(options: InstallOptions, name: string, serviceAccount: string, rules: PolicyRule[]): KubeObject[] {
  return [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: meta(options, name, "rbac", false), rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(options, name, "rbac", false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace: options.namespace }],
    },
  ];
}

/** The sidecar's rules, bound to the provisioner's ServiceAccount. */
export function snapshotterRbac(options: InstallOptions, provisionerServiceAccount: string): KubeObject[] {
  return clusterRoleAndBinding(options, SNAPSHOTTER_ROLE, provisionerServiceAccount, SNAPSHOTTER_RULES);
}

/** The csi-snapshotter container of the provisioner pod. */
export function snapshotterArgs(): string[] {
  return ["--csi-address=$(ADDRESS)", "--timeout=3m", "--leader-election=false", ...SIDECAR_API_RATE, "--v=2"];
}

/** The snapshot-controller: its ServiceAccount, RBAC and a one-replica Deployment in the Kadalu namespace. */
export function snapshotControllerObjects(options: InstallOptions): KubeObject[] {
  const selector = { "app.kubernetes.io/name": SNAPSHOT_CONTROLLER, "app.kubernetes.io/component": "snapshot-controller" };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(options, SNAPSHOT_CONTROLLER, "rbac") },
    ...clusterRoleAndBinding(options, SNAPSHOT_CONTROLLER, SNAPSHOT_CONTROLLER, SNAPSHOT_CONTROLLER_RULES),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(options, SNAPSHOT_CONTROLLER, "snapshot-controller"),
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...meta(options, SNAPSHOT_CONTROLLER, "snapshot-controller").labels, ...selector } },
          spec: {
            serviceAccountName: SNAPSHOT_CONTROLLER,
            ...pullSecrets(options),
            containers: [
              {
                name: "snapshot-controller",
                image: sidecarImage(options, "snapshotController"),
                imagePullPolicy: options.imagePullPolicy,
                args: ["--leader-election=false", "--v=2"],
                resources: { requests: { cpu: "10m", memory: "32Mi" } },
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                  seccompProfile: { type: "RuntimeDefault" },
                },
              },
            ],
          },
        },
      },
    },
  ];
}
