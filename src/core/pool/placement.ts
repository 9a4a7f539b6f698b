/**
 * Where a new pool's storage units land, checked as `gluster volume create` checks it: no two members of one
 * replica or disperse group on one node (unless forced), and no unit another pool already uses. CLI-only:
 * the operator must keep serving pools created with --force or by upstream.
 */
import type { Problem } from "../errors.js";
import { normalizeHostPath } from "./validate.js";
import { groupSize, isPoolType, type KadaluStorage, type StorageUnit } from "./types.js";

/** A pool that already exists, and the units it holds (from its KadaluStorage or its kadalu-info entry). */
export interface UsedUnits {
  pool: string;
  units: StorageUnit[];
}

export function unitLabel(unit: StorageUnit): string {
  return unit.pvc ? `pvc ${unit.pvc}` : `${unit.node}:${unit.device ?? unit.path}`;
}

/** Members of one group on one node: a node failure takes several copies (or fragments) at once. Groups from `fromUnit` on. */
export function sameNodeProblems(pool: KadaluStorage, fromUnit = 0): Problem[] {
  const { spec, metadata } = pool;
  if (!isPoolType(spec.type) || spec.type === "External") return [];
  const size = groupSize(spec.type, spec.disperse);
  if (size <= 1) return [];
  const kind = spec.type === "Disperse" ? "disperse" : "replica";
  const problems: Problem[] = [];
  for (let start = fromUnit; start < spec.storage.length; start += size) {
    const byNode = new Map<string, StorageUnit[]>();
    // PVC-backed units have no node of their own: the scheduler places them.
    for (const unit of spec.storage.slice(start, start + size).filter((unit) => !unit.pvc && unit.node)) {
      byNode.set(unit.node!, [...(byNode.get(unit.node!) ?? []), unit]);
    }
    for (const [node, units] of byNode) {
      if (units.length < 2) continue;
      problems.push({
        field: "spec.storage",
        message: `${kind} group ${start / size + 1} of ${metadata.name} puts ${units.length} of its ${size} storage units on node ${node} (${units.map(unitLabel).join(", ")}); use other nodes or pass --force`,
      });
    }
  }
  return problems;
}

/** `/data` and `/data/x` on one node cannot both be bricks: one would hold the other's files. */
export function overlap(unit: StorageUnit, used: StorageUnit): "same" | "inside" | "contains" | undefined {
  if (unit.pvc || used.pvc) return unit.pvc && unit.pvc === used.pvc ? "same" : undefined;
  if (!unit.node || unit.node !== used.node) return undefined;
  const [mine, theirs] = [normalizeHostPath(unit.device ?? unit.path ?? ""), normalizeHostPath(used.device ?? used.path ?? "")];
  if (mine === theirs) return "same";
  if (!unit.path || !used.path) return undefined;
  if (mine.startsWith(`${theirs}/`)) return "inside";
  return theirs.startsWith(`${mine}/`) ? "contains" : undefined;
}

/** Units of `pool` that another pool already holds, each naming that pool; pools of the same name are left to the create. */
export function unitsInUseProblems(pool: KadaluStorage, others: UsedUnits[]): Problem[] {
  const problems: Problem[] = [];
  pool.spec.storage.forEach((unit, index) => {
    for (const other of others.filter((entry) => entry.pool !== pool.metadata.name)) {
      const used = other.units.find((candidate) => overlap(unit, candidate));
      if (!used) continue;
      const how = overlap(unit, used);
      const where = how === "same" ? "is already used" : how === "inside" ? `is inside ${unitLabel(used)}, used` : `holds ${unitLabel(used)}, used`;
      problems.push({
        field: `spec.storage[${index}]`,
        message: `storage unit ${unitLabel(unit)} ${where} by pool "${other.pool}"; use another ${unit.pvc ? "PVC" : unit.device ? "device" : "directory"}, or remove pool "${other.pool}" first`,
      });
      break;
    }
  });
  return problems;
}
