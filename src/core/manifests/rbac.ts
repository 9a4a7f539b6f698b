/**
 * Least-privilege RBAC: every verb listed is one a component really uses (no wildcards). Tests replay
 * the operator's and the CSI driver's API requests against these rules with `allows()`.
 */
import { INFO_CONFIGMAP } from "../info/codec.js";
import { meta, SA } from "./common.js";
import type { KubeObject } from "../kube-vocabulary.js";
import type { InstallOptions } from "./options.js";
import { KADALU_GROUP, KADALU_PLURAL } from "../pool/types.js";

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Only these objects (a Role's get of one ConfigMap). */
  resourceNames?: string[];
}

const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({ apiGroups, resources, verbs });
const READ = ["get", "list", "watch"];

/** Cluster-wide: the operator watches pools in every namespace and manages StorageClasses. */
export const OPERATOR_CLUSTER_RULES: PolicyRule[] = [
  rule([KADALU_GROUP], [KADALU_PLURAL], [...READ, "update", "patch"]),
  rule([KADALU_GROUP], [`${KADALU_PLURAL}/status`], ["get", "update", "patch"]),
  rule(["storage.k8s.io"], ["storageclasses"], [...READ, "create", "update", "patch", "delete"]),
  // A VolumeSnapshotClass beside each pool's StorageClass, when the cluster serves the kind: read, applied, removed with the pool.
  rule(["snapshot.storage.k8s.io"], ["volumesnapshotclasses"], ["get", "create", "patch", "delete"]),
  rule([""], ["persistentvolumes"], READ),
  rule([""], ["events"], ["create", "patch"]),
];

/** In the Kadalu namespace: the pool configuration, the brick StatefulSets and Services, their pods and their pods' events (a FailedMount is only said there). */
export const OPERATOR_NAMESPACE_RULES: PolicyRule[] = [
  rule([""], ["configmaps"], [...READ, "create", "update", "patch"]),
  rule([""], ["services"], [...READ, "create", "update", "patch", "delete"]),
  // delete: a brick pod still on a replaced storage unit restarts on the new one (its StatefulSet is OnDelete);
  // patch: an annotation has the kubelet refresh kadalu-info in a pod at once (operator/info-refresh.ts).
  rule([""], ["pods"], [...READ, "patch", "delete"]),
  rule([""], ["events"], ["list", "watch"]),
  rule(["apps"], ["statefulsets"], [...READ, "create", "update", "patch", "delete"]),
  rule(["apps"], ["daemonsets"], ["get", "patch"]),
  // One budget per replica group: read, applied (a server-side apply that creates is also authorized as create), removed with the pool.
  rule(["policy"], ["poddisruptionbudgets"], ["get", "create", "patch", "delete"]),
];

/**
 * external-provisioner v5.3.0, as its deploy/kubernetes/rbac.yaml for that tag grants, less what Kadalu's
 * configuration never uses: snapshots (no snapshot support), nodes and csinodes (topology only),
 * volumeattachments (drivers with PUBLISH_UNPUBLISH only), leases and CSIStorageCapacity (leader election
 * and --enable-capacity are off).
 */
export const EXTERNAL_PROVISIONER_RULES: PolicyRule[] = [
  rule([""], ["persistentvolumes"], [...READ, "create", "patch", "delete"]),
  rule([""], ["persistentvolumeclaims"], [...READ, "update"]),
  rule(["storage.k8s.io"], ["storageclasses"], READ),
  rule([""], ["events"], ["list", "watch", "create", "update", "patch"]),
];

/**
 * external-resizer v1.14.0, as its rbac.yaml for that tag grants: `pods` because
 * --handle-volume-inuse-error defaults to true and the resizer waits for its pod informer before any work;
 * volumeattributesclasses only with the VolumeAttributesClass gate (off), leases only with leader election.
 */
export const EXTERNAL_RESIZER_RULES: PolicyRule[] = [
  rule([""], ["persistentvolumes"], [...READ, "patch"]),
  rule([""], ["persistentvolumeclaims"], READ),
  rule([""], ["persistentvolumeclaims/status"], ["patch"]),
  rule([""], ["pods"], READ),
  rule([""], ["events"], ["list", "watch", "create", "update", "patch"]),
];

/** The Kadalu provisioner: finds a pool by name and writes its usage into the status. */
export const KADALU_PROVISIONER_RULES: PolicyRule[] = [
  rule([KADALU_GROUP], [KADALU_PLURAL], ["get", "list"]),
  rule([KADALU_GROUP], [`${KADALU_PLURAL}/status`], ["patch"]),
];

/**
 * In the Kadalu namespace: the provisioner reads kadalu-info through the API when a StorageClass names a
 * pool its mounted copy (refreshed late by the kubelet) does not have yet.
 */
export const PROVISIONER_NAMESPACE_RULES: PolicyRule[] = [{ ...rule([""], ["configmaps"], ["get"]), resourceNames: [INFO_CONFIGMAP] }];

/** The nodeplugin reads kadalu-info the same way when a pod's volume names a pool its mounted copy lacks; nothing else. */
export const NODEPLUGIN_NAMESPACE_RULES: PolicyRule[] = PROVISIONER_NAMESPACE_RULES;

/** One ServiceAccount runs the provisioner pod's three containers: the union of their rules, merged per resource. */
export const PROVISIONER_CLUSTER_RULES: PolicyRule[] = mergeRules([...EXTERNAL_PROVISIONER_RULES, ...EXTERNAL_RESIZER_RULES, ...KADALU_PROVISIONER_RULES]);

/** Rules for the same group and resource become one, with the union of their verbs (in first-seen order). */
export function mergeRules(rules: PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  for (const r of rules) {
    for (const resource of r.resources) {
      const key = `${r.apiGroups.join(",")}/${resource}`;
      const existing = merged.get(key);
      if (existing) existing.verbs = [...new Set([...existing.verbs, ...r.verbs])];
      else merged.set(key, { apiGroups: [...r.apiGroups], resources: [resource], verbs: [...r.verbs] });
    }
  }
  return [...merged.values()];
}

export function allows(rules: PolicyRule[], request: { group: string; resource: string; verb: string; name?: string }): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.includes(request.group) &&
      r.resources.includes(request.resource) &&
      r.verbs.includes(request.verb) &&
      (!r.resourceNames || (request.name !== undefined && r.resourceNames.includes(request.name))),
  );
}

function clusterRole(options: InstallOptions, name: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: meta(options, name, "rbac", false), rules };
}

function binding(options: InstallOptions, kind: "ClusterRoleBinding" | "RoleBinding", name: string, serviceAccount: string): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: meta(options, name, "rbac", kind === "RoleBinding"),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: kind === "RoleBinding" ? "Role" : "ClusterRole", name },
    subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace: options.namespace }],
  };
}

export function serviceAccounts(options: InstallOptions): KubeObject[] {
  return Object.values(SA).map((name) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(options, name, "rbac"),
    // Only the brick pods never talk to the API: they get no token.
    ...(name === SA.server ? { automountServiceAccountToken: false } : {}),
  }));
}

export function rbac(options: InstallOptions): KubeObject[] {
  return [
    clusterRole(options, SA.operator, OPERATOR_CLUSTER_RULES),
    binding(options, "ClusterRoleBinding", SA.operator, SA.operator),
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(options, SA.operator, "rbac"), rules: OPERATOR_NAMESPACE_RULES },
    binding(options, "RoleBinding", SA.operator, SA.operator),
    clusterRole(options, SA.provisioner, PROVISIONER_CLUSTER_RULES),
    binding(options, "ClusterRoleBinding", SA.provisioner, SA.provisioner),
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(options, SA.provisioner, "rbac"), rules: PROVISIONER_NAMESPACE_RULES },
    binding(options, "RoleBinding", SA.provisioner, SA.provisioner),
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(options, SA.nodeplugin, "rbac"), rules: NODEPLUGIN_NAMESPACE_RULES },
    binding(options, "RoleBinding", SA.nodeplugin, SA.nodeplugin),
  ];
}
