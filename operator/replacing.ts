/**
 * A storage unit replaced in place (storage-replace, or an edit of spec.storage[i]): which changes are
 * allowed, and when a brick pod still serving the old unit is deleted so its StatefulSet (OnDelete)
 * starts it again on the new one. Pure, for operator/plan.ts.
 *
 * The brick keeps its index, StatefulSet, host name and client translator, as upstream's operator keeps
 * them when a unit of the CR changes: the replicate or disperse translator sees the same member come back
 * empty. The old unit's data is never touched.
 */
import { isExternal, type BrickInfo, type NativePoolInfo, type PoolInfo } from "../src/core/info/codec.js";
import { serverPodName } from "../src/core/naming.js";
import { overlap, unitLabel } from "../src/core/pool/placement.js";
import { groupOf, podServesUnit, quorumOf, type BrickPodSpecView } from "../src/core/pool/replace.js";
import { groupSize, type KadaluStorage, type StorageUnit } from "../src/core/pool/types.js";
import { isReady, type PodView } from "../src/core/upgrade/switch-over.js";

export const unitOfBrick = (brick: BrickInfo): StorageUnit => ({
  ...(brick.kube_hostname ? { node: brick.kube_hostname } : {}),
  ...(brick.host_brick_path ? { path: brick.host_brick_path } : {}),
  ...(brick.brick_device ? { device: brick.brick_device } : {}),
  ...(brick.pvc_name ? { pvc: brick.pvc_name } : {}),
});

const sameUnit = (unit: StorageUnit | undefined, brick: BrickInfo): boolean =>
  Boolean(unit) &&
  (unit!.node ?? "") === brick.kube_hostname &&
  (unit!.path ?? "") === brick.host_brick_path &&
  (unit!.device ?? "") === brick.brick_device &&
  (unit!.pvc ?? "") === brick.pvc_name;

/** Indexes of the pool's existing bricks whose unit the spec changed. */
export function changedUnits(pool: KadaluStorage, previous: NativePoolInfo): number[] {
  return previous.bricks.filter((brick) => !sameUnit(pool.spec.storage[brick.brick_index], brick)).map((brick) => brick.brick_index);
}

/**
 * Why these changed units cannot be taken as replacements: a pool without another copy, more of one group
 * at once than the group can spare, or a unit moved to another's place (a reorder mixes two bricks' data).
 */
export function refusedReplacement(pool: KadaluStorage, previous: NativePoolInfo, changed: number[]): string | undefined {
  const list = changed.map((index) => index + 1).join(", ");
  const size = groupSize(pool.spec.type, pool.spec.disperse);
  if (size <= 1)
    return `storage unit ${list} changed; a ${pool.spec.type} pool has no other copy to heal a replaced unit from, so existing storage units cannot be replaced or reordered (data would be lost)`;
  const spare = size - quorumOf(pool);
  const byGroup = new Map<number, number[]>();
  for (const index of changed) byGroup.set(groupOf(pool, index).group, [...(byGroup.get(groupOf(pool, index).group) ?? []), index]);
  for (const [group, indexes] of byGroup) {
    if (indexes.length > spare) {
      return `storage units ${indexes.map((index) => index + 1).join(", ")} of group ${group + 1} changed at once; the group can spare ${spare} brick${spare === 1 ? "" : "s"} while it heals: replace them one at a time (data would be lost)`;
    }
  }
  for (const index of changed) {
    const unit = pool.spec.storage[index]!;
    const clash = previous.bricks.find((brick) => overlap(unit, unitOfBrick(brick)));
    if (clash)
      return `storage unit ${index + 1} (${unitLabel(unit)}) is, holds or lies inside storage unit ${clash.brick_index + 1} (${unitLabel(unitOfBrick(clash))}); existing storage units cannot be reordered (data would be lost)`;
  }
  return undefined;
}

export interface Swap {
  /** Brick pods still on their old unit, to delete now. */
  deletePods: string[];
  /** One line per brick still on its old unit: what happens or why it waits. */
  messages: string[];
}

/**
 * Brick pods serving an old unit. One is deleted once its StatefulSet holds the new template (`synced`)
 * and its group can spare it: the pod is not ready anyway, or the others are enough without it.
 */
export function stalePods(
  info: PoolInfo,
  pool: KadaluStorage,
  pods: ReadonlyMap<string, PodView & BrickPodSpecView>,
  synced: (index: number) => boolean,
): Swap {
  const swap: Swap = { deletePods: [], messages: [] };
  if (isExternal(info)) return swap;
  const name = info.volname;
  const podOf = (index: number): (PodView & BrickPodSpecView) | undefined => pods.get(serverPodName(name, index));
  const stale = (index: number): boolean => {
    const pod = podOf(index);
    return Boolean(pod && !pod.metadata?.deletionTimestamp && !podServesUnit(pod, info.bricks[index]!));
  };
  for (const brick of info.bricks) {
    const index = brick.brick_index;
    if (!stale(index)) continue;
    const podName = serverPodName(name, index);
    const label = `storage unit ${index + 1} (${unitLabel(unitOfBrick(brick))})`;
    if (!synced(index)) {
      swap.messages.push(`${label}: updating ${podName}'s StatefulSet`);
      continue;
    }
    const { start, end } = groupOf(pool, index);
    let others = 0;
    for (let member = start; member < end; member += 1) if (member !== index && isReady(podOf(member)) && !stale(member)) others += 1;
    if (isReady(podOf(index)) && others < quorumOf(pool)) {
      swap.messages.push(
        `${label}: ${podName} waits for its group (${others} other brick${others === 1 ? "" : "s"} ready, ${quorumOf(pool)} needed) before it moves`,
      );
      continue;
    }
    swap.deletePods.push(podName);
    swap.messages.push(`${label}: restarting ${podName} on the new unit`);
  }
  return swap;
}
