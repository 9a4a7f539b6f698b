/**
 * `storage-expand`: the existing pool with storage units appended, a whole replica or disperse group at a
 * time, checked as a new pool is (README.md#storage-expand). The operator turns each new unit into a brick
 * and the new groups into distribute subvolumes of the pool's volume; the units already there never change.
 */
import type { Problem } from "../errors.js";
import { overlap, sameNodeProblems, unitLabel } from "./placement.js";
import { groupSize, isPoolType, type KadaluStorage, type StorageUnit } from "./types.js";
import { validatePool } from "./validate.js";

export interface Growth {
  /** The pool as it will be sent: the same object with the new units at the end of spec.storage. */
  grown: KadaluStorage;
  /** Storage units before the growth. */
  before: number;
  /** Problems that keep it from being sent (a usage error each). */
  problems: Problem[];
}

const problem = (field: string, message: string): Problem => ({ field, message });

/** Why this pool cannot grow at all, whatever the units. */
function poolProblem(pool: KadaluStorage): Problem | undefined {
  const { name } = pool.metadata;
  if (pool.metadata.deletionTimestamp) return problem("metadata", `storage pool "${name}" is being removed; it cannot grow`);
  if (!isPoolType(pool.spec?.type)) return problem("spec.type", `storage pool "${name}" has no known type ("${pool.spec?.type}"); fix it before growing it`);
  if (pool.spec.type === "External")
    return problem("spec.type", `storage pool "${name}" is External: it grows in its own Gluster cluster (gluster volume add-brick there), not here`);
  return undefined;
}

function groupProblem(pool: KadaluStorage, added: StorageUnit[]): Problem | undefined {
  const size = groupSize(pool.spec.type, pool.spec.disperse);
  if (added.length > 0 && added.length % size === 0) return undefined;
  const what = pool.spec.type === "Disperse" ? `Disperse ${pool.spec.disperse?.data}+${pool.spec.disperse?.redundancy}` : pool.spec.type;
  const examples = size === 1 ? "" : ` (${size}, ${2 * size}, ...)`;
  return problem(
    "spec.storage",
    `storage pool "${pool.metadata.name}" is ${what}: it grows by whole groups of ${size} storage unit${size === 1 ? "" : "s"}, got ${added.length}; give a multiple of ${size}${examples}`,
  );
}

/** A new unit that is, holds or lies inside one of the pool's own. */
function ownUnitProblems(pool: KadaluStorage, before: number, added: StorageUnit[]): Problem[] {
  const existing = pool.spec.storage.slice(0, before);
  return added.flatMap((unit, index) => {
    const brick = existing.findIndex((candidate) => overlap(unit, candidate));
    if (brick < 0) return [];
    const how = overlap(unit, existing[brick]!) === "same" ? "is already" : overlap(unit, existing[brick]!) === "inside" ? "lies inside" : "holds";
    return [
      problem(
        `spec.storage[${before + index}]`,
        `storage unit ${unitLabel(unit)} ${how} storage unit ${brick + 1} of pool "${pool.metadata.name}" (${unitLabel(existing[brick]!)}); use another ${unit.pvc ? "PVC" : unit.device ? "device" : "directory"}`,
      ),
    ];
  });
}

/** Appends `added` to `pool` and checks the result; nothing is read or sent here. */
export function planGrowth(pool: KadaluStorage, added: StorageUnit[], force = false): Growth {
  const before = pool.spec?.storage?.length ?? 0;
  const grown: KadaluStorage = { ...pool, spec: { ...pool.spec, storage: [...(pool.spec?.storage ?? []), ...added] } };
  const refused = poolProblem(pool) ?? groupProblem(pool, added);
  if (refused) return { grown, before, problems: [refused] };
  const own = ownUnitProblems(grown, before, added);
  if (own.length > 0) return { grown, before, problems: own };
  const problems = validatePool(grown);
  if (problems.length > 0 || force) return { grown, before, problems };
  // Only the new groups: the pool's own may have been made with --force.
  return { grown, before, problems: sameNodeProblems(grown, before) };
}

/** The new units by group, as the preview shows them: `group 2: kube4:/dev/sdb, kube5:/dev/sdb, kube6:/dev/sdb`. */
export function newGroups(growth: Growth): string[] {
  const { grown, before } = growth;
  const size = groupSize(grown.spec.type, grown.spec.disperse);
  const lines: string[] = [];
  for (let start = before; start < grown.spec.storage.length; start += size) {
    lines.push(
      `group ${start / size + 1}: ${grown.spec.storage
        .slice(start, start + size)
        .map(unitLabel)
        .join(", ")}`,
    );
  }
  return lines;
}
