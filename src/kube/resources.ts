/** Where an object lives in the API: known kinds from a table (no discovery round trip), others discovered once. */
import { KADALU_API_VERSION, KADALU_KIND, KADALU_PLURAL } from "../core/pool/types.js";

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

const KNOWN: Record<string, ResourceInfo> = {
  "v1/Namespace": { plural: "namespaces", namespaced: false },
  "v1/ServiceAccount": { plural: "serviceaccounts", namespaced: true },
  "v1/ConfigMap": { plural: "configmaps", namespaced: true },
  "v1/Secret": { plural: "secrets", namespaced: true },
  "v1/Service": { plural: "services", namespaced: true },
  "v1/Pod": { plural: "pods", namespaced: true },
  "v1/PersistentVolume": { plural: "persistentvolumes", namespaced: false },
  "v1/PersistentVolumeClaim": { plural: "persistentvolumeclaims", namespaced: true },
  "apps/v1/Deployment": { plural: "deployments", namespaced: true },
  "apps/v1/StatefulSet": { plural: "statefulsets", namespaced: true },
  "apps/v1/DaemonSet": { plural: "daemonsets", namespaced: true },
  "policy/v1/PodDisruptionBudget": { plural: "poddisruptionbudgets", namespaced: true },
  "rbac.authorization.k8s.io/v1/ClusterRole": { plural: "clusterroles", namespaced: false },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": { plural: "clusterrolebindings", namespaced: false },
  "rbac.authorization.k8s.io/v1/Role": { plural: "roles", namespaced: true },
  "rbac.authorization.k8s.io/v1/RoleBinding": { plural: "rolebindings", namespaced: true },
  "storage.k8s.io/v1/StorageClass": { plural: "storageclasses", namespaced: false },
  "storage.k8s.io/v1/CSIDriver": { plural: "csidrivers", namespaced: false },
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { plural: "customresourcedefinitions", namespaced: false },
  "security.openshift.io/v1/SecurityContextConstraints": { plural: "securitycontextconstraints", namespaced: false },
  [`${KADALU_API_VERSION}/${KADALU_KIND}`]: { plural: KADALU_PLURAL, namespaced: true },
};

export function knownResource(apiVersion: string, kind: string): ResourceInfo | undefined {
  return KNOWN[`${apiVersion}/${kind}`];
}

export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function collectionPath(apiVersion: string, info: ResourceInfo, namespace?: string): string {
  return `${groupVersionPath(apiVersion)}${info.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : ""}/${info.plural}`;
}

export function objectPath(apiVersion: string, info: ResourceInfo, name: string, namespace?: string): string {
  return `${collectionPath(apiVersion, info, namespace)}/${encodeURIComponent(name)}`;
}
