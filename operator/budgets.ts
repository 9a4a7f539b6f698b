/**
 * PodDisruptionBudgets over a pool's brick pods, one per replica or disperse group, so that `kubectl
 * drain` (the eviction API) never takes more members of one group down than the group survives.
 */
import type { NativePoolInfo } from "../src/core/info/codec.js";
import { brickDnsName, serverPodName } from "../src/core/naming.js";
import { groupSize, type KadaluStorage } from "../src/core/pool/types.js";
import type { OperatorConfig } from "./config.js";
import { POOL_LABEL, type KubeObject } from "../src/core/kube-vocabulary.js";

/** Set by the StatefulSet controller on every pod it makes, upstream's brick pods included. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";

/**
 * Bricks of one group that may be down at once, or undefined for no budget. Replica1: a budget would
 * be maxUnavailable 0, which blocks every drain of the node forever; a drain takes those files offline
 * instead, and doctor says so. Replica2: one (zero would block drains forever; the other copy, with
 * the tiebreaker when there is one, keeps serving). Replica3 and Arbiter: one keeps the quorum of two.
 * Disperse: as many as the redundancy.
 */
export function toleratedPerGroup(info: NativePoolInfo): number | undefined {
  switch (info.type) {
    case "Replica2":
    case "Replica3":
    case "Arbiter":
      return 1;
    case "Disperse":
      return info.disperse.redundancy > 0 ? info.disperse.redundancy : undefined;
    default:
      return undefined;
  }
}

/** `server-<pool>-group-<n>`: unique, as pool names are, since `<n>` has no dash. */
export function budgetName(pool: string, group: number): string {
  return `server-${brickDnsName(pool)}-group-${group}`;
}

export function groupCount(info: NativePoolInfo): number {
  const size = groupSize(info.type, info.disperse);
  return size > 0 ? Math.ceil(info.bricks.length / size) : 0;
}

/**
 * The budgets select pods by name: a group label on the pod template would reach running bricks only
 * when they restart (the StatefulSets are OnDelete), leaving the pools that exist today unprotected.
 */
export function poolDisruptionBudgets(pool: KadaluStorage, info: NativePoolInfo, config: OperatorConfig): KubeObject[] {
  const tolerated = toleratedPerGroup(info);
  if (tolerated === undefined) return [];
  const size = groupSize(info.type, info.disperse);
  const indexes = info.bricks.map((brick) => brick.brick_index).sort((a, b) => a - b);
  const name = pool.metadata.name;
  return Array.from({ length: groupCount(info) }, (_, group) => ({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: budgetName(name, group),
      namespace: config.namespace,
      labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", [POOL_LABEL]: name, "kadalu.io/group": String(group) },
    },
    spec: {
      maxUnavailable: tolerated,
      selector: {
        matchExpressions: [
          { key: POD_NAME_LABEL, operator: "In", values: indexes.slice(group * size, (group + 1) * size).map((index) => serverPodName(name, index)) },
        ],
      },
    },
  }));
}
