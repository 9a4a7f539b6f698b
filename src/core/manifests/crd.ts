/**
 * The KadaluStorage CRD: upstream's identity and every upstream spec field and type (ARCHITECTURE.md#upstream-contracts), plus what
 * can be checked declaratively (type and policy enums, integer counts), a status subresource and the
 * printer columns `kubectl get kds` shows (fed by the operator's and the CSI provisioner's status).
 */
import { KADALU_GROUP, KADALU_KIND, KADALU_PLURAL, KADALU_VERSION, POOL_STATES, POOL_TYPES, RECLAIM_POLICIES } from "../pool/types.js";

const str = { type: "string" };
const int = { type: "integer" };
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "object",
  properties,
  ...extra,
});

const specSchema = obj(
  {
    type: { type: "string", enum: [...POOL_TYPES] },
    pvReclaimPolicy: { type: "string", enum: [...RECLAIM_POLICIES], default: "delete" },
    volume_id: str,
    kadalu_format: str,
    single_pv_per_pool: { type: "boolean", default: false },
    tolerations: {
      type: "array",
      items: obj({ effect: str, key: str, operator: str, tolerationSeconds: { type: "integer", format: "int64" }, value: str }),
    },
    options: { type: "array", items: obj({ key: str, value: str }) },
    storage: { type: "array", items: obj({ node: str, device: str, path: str, pvc: str, decommissioned: str }) },
    tiebreaker: obj({ deployment: str, node: str, path: str, port: int }),
    disperse: obj({ data: { type: "integer", minimum: 0 }, redundancy: { type: "integer", minimum: 0 } }),
    // gluster_port is read by upstream though never declared: keep unknown keys here as upstream does.
    details: obj(
      { gluster_host: str, gluster_hosts: { type: "array", items: str }, gluster_volname: str, gluster_options: str },
      { "x-kubernetes-preserve-unknown-fields": true },
    ),
  },
  { "x-kubernetes-preserve-unknown-fields": true },
);

const statusSchema = obj(
  {
    state: { type: "string", enum: [...POOL_STATES] },
    message: str,
    observedGeneration: { type: "integer", format: "int64" },
    conditions: {
      type: "array",
      items: obj({
        type: str,
        status: str,
        reason: str,
        message: str,
        lastTransitionTime: { type: "string", format: "date-time" },
        observedGeneration: { type: "integer", format: "int64" },
      }),
    },
    bricks: obj({ ready: int, total: int }),
    volumeId: str,
    storageClass: str,
    usage: obj({
      capacityBytes: { type: "integer", format: "int64" },
      provisionedBytes: { type: "integer", format: "int64" },
      pvCount: int,
      capacity: str,
      provisioned: str,
      updatedAt: { type: "string", format: "date-time" },
    }),
  },
  { "x-kubernetes-preserve-unknown-fields": true },
);

export const KADALU_CRD_NAME = `${KADALU_PLURAL}.${KADALU_GROUP}`;

export function kadaluStorageCrd(labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: KADALU_CRD_NAME, labels },
    spec: {
      group: KADALU_GROUP,
      names: {
        kind: KADALU_KIND,
        listKind: `${KADALU_KIND}List`,
        plural: KADALU_PLURAL,
        singular: "kadalustorage",
        shortNames: ["kadalu", "kds"],
        categories: ["kadalu"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: KADALU_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Type", type: "string", jsonPath: ".spec.type" },
            { name: "State", type: "string", jsonPath: ".status.state" },
            { name: "Capacity", type: "string", jsonPath: ".status.usage.capacity" },
            { name: "Used", type: "string", jsonPath: ".status.usage.provisioned" },
            { name: "PVs", type: "integer", jsonPath: ".status.usage.pvCount" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
            // Why a pool is not ready, as storage-list's REASON says it (kubectl get kds -o wide).
            { name: "Message", type: "string", jsonPath: ".status.message", priority: 1 },
          ],
          schema: { openAPIV3Schema: obj({ apiVersion: str, kind: str, metadata: { type: "object" }, spec: specSchema, status: statusSchema }) },
        },
      ],
    },
  };
}
