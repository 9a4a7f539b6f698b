/** Labels, names and small builders shared by the manifests. */
import { PART_OF, type KubeObject } from "../kube-vocabulary.js";
import type { InstallOptions } from "./options.js";

export const MANAGED_BY = "kubectl-kadalu";
/** The field manager of every server-side apply the plugin makes. */
export const FIELD_MANAGER = "kubectl-kadalu";

export const SA = {
  operator: "kadalu-operator",
  provisioner: "kadalu-csi-provisioner",
  nodeplugin: "kadalu-csi-nodeplugin",
  server: "kadalu-server-sa",
} as const;

export const OPERATOR_DEPLOYMENT = "operator";
export const PROVISIONER_STATEFULSET = "kadalu-csi-provisioner";
export const NODEPLUGIN_DAEMONSET = "kadalu-csi-nodeplugin";
export const INSTALL_HASH_ANNOTATION = "kadalu.io/install-hash";

/**
 * The API client rate of the sidecars that write objects (csi-provisioner, csi-resizer, csi-snapshotter).
 * client-go's default, 5 requests/s in bursts of 10, paces a burst of claims: each PV is a create and two
 * Events (`npm run bench`, the PVC burst). Longhorn's values.
 */
export const SIDECAR_API_RATE = ["--kube-api-qps=50", "--kube-api-burst=100"];

export function labels(options: InstallOptions, name: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/version": options.version,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

/** Pod selector labels: stable across versions (a selector cannot change after creation). */
export function selector(name: string, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": component };
}

export function meta(options: InstallOptions, name: string, component: string, namespaced = true): KubeObject["metadata"] {
  return { name, ...(namespaced ? { namespace: options.namespace } : {}), labels: labels(options, name, component) };
}

export function pullSecrets(options: InstallOptions): { imagePullSecrets?: { name: string }[] } {
  return options.imagePullSecrets.length > 0 ? { imagePullSecrets: options.imagePullSecrets.map((name) => ({ name })) } : {};
}

export const env = (name: string, value: string): { name: string; value: string } => ({ name, value });
export const fieldEnv = (name: string, fieldPath: string): Record<string, unknown> => ({ name, valueFrom: { fieldRef: { fieldPath } } });
