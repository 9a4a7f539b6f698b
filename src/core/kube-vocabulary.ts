/**
 * The Kubernetes words every program shares, declared once: the one object type, the REST paths of
 * KadaluStorage pools, and the names of the objects and labels that tie Kadalu's parts together.
 */
import { KADALU_GROUP, KADALU_PLURAL, KADALU_VERSION } from "./pool/types.js";

/** Any Kubernetes object, as rendered, applied, read and deleted generically; the rest of it is checked where read. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** What names an object: enough to find, read or delete it. */
export type ObjectRef = Pick<KubeObject, "apiVersion" | "kind" | "metadata">;

/** The label on everything the operator makes for a pool (brick StatefulSets, Service, StorageClass). */
export const POOL_LABEL = "kadalu.io/pool";
/** The CSI driver's name: its CSIDriver object, every StorageClass's provisioner, every PV's `spec.csi.driver`. */
export const CSI_DRIVER_NAME = "kadalu";
/** The `app.kubernetes.io/part-of` label of everything Kadalu runs. */
export const PART_OF = "kadalu";
/** Selects every pod of Kadalu's: the operator, the CSI driver's and the bricks. */
export const KADALU_PODS_SELECTOR = `app.kubernetes.io/part-of=${PART_OF}`;

/** The pools in `namespace`, or in every namespace. */
export function poolsPath(namespace?: string): string {
  return `/apis/${KADALU_GROUP}/${KADALU_VERSION}${namespace === undefined ? "" : `/namespaces/${namespace}`}/${KADALU_PLURAL}`;
}

/** One pool, or its status subresource: a pool as read from the API, which always has its namespace. */
export function poolPath(pool: { metadata: { name: string; namespace?: string } }, subresource?: "status"): string {
  const { name, namespace } = pool.metadata;
  if (!namespace) throw new Error(`kadalustorage "${name}" has no namespace: its path is unknown`);
  return `${poolsPath(namespace)}/${name}${subresource ? `/${subresource}` : ""}`;
}
