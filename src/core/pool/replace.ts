/**
 * `storage-replace`: one storage unit of a replicated or dispersed pool pointed at another node, directory,
 * device or PVC (README.md#storage-replace). The unit keeps its place in spec.storage, so its brick keeps its
 * index, its StatefulSet, its host name and its place in the Gluster graph (`<pool>-client-<index>`): the
 * replicate or disperse translator sees the same member come back empty and heals it from the others.
 * Pure: the checks against the cluster's state (quorum, pending heals) take what the CLI read.
 */
import type { Problem } from "../errors.js";
import { brickHostName } from "../naming.js";
import { overlap, sameNodeProblems, unitLabel } from "./placement.js";
import { groupSize, isPoolType, type KadaluStorage, type StorageUnit } from "./types.js";
import { normalizeHostPath, validatePool } from "./validate.js";

export interface Replacement {
  /** The pool as it will be sent: spec.storage with the one unit changed in place. */
  replaced: KadaluStorage;
  /** 0-based position of the replaced unit (its brick index); -1 when it was not found. */
  index: number;
  /** Problems that keep it from being sent (a usage error each). */
  problems: Problem[];
}

const problem = (field: string, message: string): Problem => ({ field, message });

/** Why no unit of this pool can be replaced, whatever the units. */
function poolProblem(pool: KadaluStorage): Problem | undefined {
  const { name } = pool.metadata;
  if (pool.metadata.deletionTimestamp) return problem("metadata", `storage pool "${name}" is being removed; its storage units cannot be replaced`);
  if (!isPoolType(pool.spec?.type))
    return problem("spec.type", `storage pool "${name}" has no known type ("${pool.spec?.type}"); fix it before replacing a storage unit`);
  if (pool.spec.type === "External")
    return problem(
      "spec.type",
      `storage pool "${name}" is External: its bricks are replaced in its own Gluster cluster (gluster volume replace-brick there), not here`,
    );
  if (pool.spec.type === "Replica1") {
    return problem(
      "spec.type",
      `storage pool "${name}" is Replica1: no other copy could heal a new storage unit, so its data would be lost; grow the pool with storage-expand and move the PVs instead`,
    );
  }
  return undefined;
}

/** The unit named on the command line: `NODE:PATH` (a directory or a device) or a PVC's name. */
export function findUnit(pool: KadaluStorage, text: string): number {
  const colon = text.indexOf(":");
  const units = pool.spec?.storage ?? [];
  if (colon < 0) return units.findIndex((unit) => unit.pvc === text);
  const [node, path] = [text.slice(0, colon), normalizeHostPath(text.slice(colon + 1))];
  return units.findIndex((unit) => !unit.pvc && unit.node === node && normalizeHostPath(unit.device ?? unit.path ?? "") === path);
}

/** The members of the group holding unit `index`: [first, end). */
export function groupOf(pool: KadaluStorage, index: number): { group: number; start: number; end: number; size: number } {
  const size = groupSize(pool.spec.type, pool.spec.disperse);
  const group = Math.floor(index / size);
  return { group, start: group * size, end: group * size + size, size };
}

function sameNodeInGroup(pool: KadaluStorage, index: number): Problem[] {
  const { start, end } = groupOf(pool, index);
  const alone: KadaluStorage = { ...pool, spec: { ...pool.spec, storage: pool.spec.storage.slice(0, end) } };
  return sameNodeProblems(alone, start);
}

/** `pool` with unit `from` (as findUnit takes it) changed to `unit`, and why it may not be. Nothing is read or sent. */
export function planReplacement(pool: KadaluStorage, from: string, unit: StorageUnit, force = false): Replacement {
  const index = findUnit(pool, from);
  const refused = poolProblem(pool);
  if (refused) return { replaced: pool, index, problems: [refused] };
  const { name } = pool.metadata;
  if (index < 0) {
    const units = pool.spec.storage.map((known, at) => `${at + 1}: ${known.pvc ?? `${known.node}:${known.device ?? known.path}`}`).join(", ");
    return { replaced: pool, index, problems: [problem("from", `storage pool "${name}" has no storage unit "${from}"; its units: ${units}`)] };
  }
  const old = pool.spec.storage[index]!;
  const storage = pool.spec.storage.map((known, at) =>
    at === index ? { ...unit, ...(old.decommissioned ? { decommissioned: old.decommissioned } : {}) } : known,
  );
  const replaced: KadaluStorage = { ...pool, spec: { ...pool.spec, storage } };
  const clash = pool.spec.storage.findIndex((known) => overlap(unit, known));
  if (clash >= 0) {
    const how =
      overlap(unit, pool.spec.storage[clash]!) === "same" ? "is already" : overlap(unit, pool.spec.storage[clash]!) === "inside" ? "lies inside" : "holds";
    const kind = unit.pvc ? "PVC" : unit.device ? "device" : "directory";
    return {
      replaced,
      index,
      problems: [
        problem(
          `spec.storage[${index}]`,
          `storage unit ${unitLabel(unit)} ${how} storage unit ${clash + 1} of pool "${name}" (${unitLabel(pool.spec.storage[clash]!)}); replace it with another ${kind}`,
        ),
      ],
    };
  }
  const problems = validatePool(replaced);
  if (problems.length > 0 || force) return { replaced, index, problems };
  return { replaced, index, problems: sameNodeInGroup(replaced, index) };
}

/** Members of a group that must stay up for it to keep serving writes (Gluster's client quorum; a disperse set's data count). */
export function quorumOf(pool: KadaluStorage): number {
  switch (pool.spec.type) {
    case "Replica2":
      return 1;
    case "Replica3":
    case "Arbiter":
      return 2;
    case "Disperse":
      return pool.spec.disperse?.data ?? 1;
    default:
      return 1;
  }
}

/**
 * While unit `index` is swapped its brick is down: the others of its group must be enough on their own.
 * `ready(i)`: whether brick i's pod is ready. The replaced brick may itself be down (a failed disk).
 */
export function quorumProblem(pool: KadaluStorage, index: number, ready: (brick: number) => boolean): string | undefined {
  const { group, start, end, size } = groupOf(pool, index);
  const down: number[] = [];
  for (let brick = start; brick < end; brick += 1) if (brick !== index && !ready(brick)) down.push(brick);
  const staying = size - 1 - down.length;
  const needed = quorumOf(pool);
  if (staying >= needed) return undefined;
  const kind = pool.spec.type === "Disperse" ? "disperse" : "replica";
  const which = down.map((brick) => `storage unit ${brick + 1} (${unitLabel(pool.spec.storage[brick]!)})`).join(", ");
  return `${which} of pool "${pool.metadata.name}" ${down.length === 1 ? "is" : "are"} not ready: replacing storage unit ${index + 1} now would leave ${kind} group ${group + 1} with ${staying} of its ${size} bricks, below the ${needed} it needs; bring ${down.length === 1 ? "it" : "them"} back first`;
}

/** Per brick of a heal summary (glfsheal's info-summary, server/heal-info.ts): its host and "Total Number of entries", undefined where unknown ("-"). */
export function entriesPerBrick(report: string): Map<string, number | undefined> {
  const counts = new Map<string, number | undefined>();
  let host: string | undefined;
  for (const raw of report.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("Brick ")) host = line.slice("Brick ".length).split(":")[0];
    const total = /^Total Number of entries:\s*(\S+)$/.exec(line);
    if (host && total) {
      counts.set(host, /^\d+$/.test(total[1]!) ? Number(total[1]) : undefined);
      host = undefined;
    }
  }
  return counts;
}

/**
 * Entries a member of the group still has to heal: one of them may be the only good copy of a file (the
 * replaced one included), so the swap waits until the group is clean. A brick that cannot say (down) does
 * not block: the quorum check counted it.
 */
export function healProblem(pool: KadaluStorage, index: number, report: string): string | undefined {
  const counts = entriesPerBrick(report);
  const { start, end } = groupOf(pool, index);
  const name = pool.metadata.name;
  const pending: string[] = [];
  for (let brick = start; brick < end; brick += 1) {
    const count = counts.get(brickHostName(name, brick));
    if (count) pending.push(`storage unit ${brick + 1} (${unitLabel(pool.spec.storage[brick]!)}) has ${count} ${count === 1 ? "entry" : "entries"}`);
  }
  if (pending.length === 0) return undefined;
  return `pool "${name}" is still healing: ${pending.join(", ")} to heal; replacing storage unit ${index + 1} now could drop the only good copy of a file; wait until this shows none pending: kubectl kadalu healinfo ${name}`;
}

/** The client translator of brick `index` in the pool's client volfile (server/volgen.ts): what Gluster's replace-brick marks. */
export const clientXlatorName = (pool: string, index: number): string => `${pool}-client-${index}`;

/** What a brick pod's spec says about the storage unit it serves (as operator/objects.ts renders it). */
export interface BrickPodSpecView {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  spec?: {
    nodeName?: string;
    affinity?: {
      nodeAffinity?: {
        requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: { key?: string; values?: string[] }[] }[] };
      };
    };
    volumes?: { name?: string; hostPath?: { path?: string }; persistentVolumeClaim?: { claimName?: string } }[];
    containers?: { name?: string; env?: { name?: string; value?: string }[] }[];
  };
}

/** A brick as kadalu-info records it: the unit its pod must serve. */
export interface BrickUnitView {
  kube_hostname: string;
  host_brick_path: string;
  brick_device: string;
  pvc_name: string;
}

function podNode(pod: BrickPodSpecView): string {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.flatMap((term) => term.matchExpressions ?? []).find((expression) => expression.key === "kubernetes.io/hostname")?.values?.[0] ?? "";
}

/**
 * Whether `pod` was made for `brick`'s storage unit: after a replacement the StatefulSet's template names
 * the new unit, but (OnDelete) its pod goes on serving the old one until it is deleted. Only what the pod
 * says counts against it: a field it does not have is no evidence of another unit.
 */
export function podServesUnit(pod: BrickPodSpecView, brick: BrickUnitView): boolean {
  const said = unitOfPod(pod);
  const differs = (given: string | undefined, wanted: string): boolean => given !== undefined && given !== wanted;
  if (said.pvc !== undefined || brick.pvc_name) return !said.known || said.pvc === brick.pvc_name;
  return !(
    differs(said.node, brick.kube_hostname) ||
    differs(said.path, brick.host_brick_path ? normalizeHostPath(brick.host_brick_path) : "") ||
    differs(said.device, brick.brick_device)
  );
}

/** The unit a brick pod's spec names, field by field; undefined where it says nothing. */
function unitOfPod(pod: BrickPodSpecView): { known: boolean; node?: string; path?: string; device?: string; pvc?: string } {
  const mountdir = pod.spec?.volumes?.find((volume) => volume.name === "glusterfsd-mountdir");
  const env = pod.spec?.containers?.find((container) => container.name === "server")?.env;
  const node = podNode(pod) || undefined;
  const hostPath = mountdir?.hostPath?.path;
  return {
    known: Boolean(mountdir),
    node,
    device: env?.find((entry) => entry.name === "BRICK_DEVICE")?.value,
    pvc: mountdir?.persistentVolumeClaim?.claimName,
    // A device brick's mount directory is an emptyDir: no path.
    path: hostPath !== undefined ? normalizeHostPath(hostPath) : mountdir ? "" : undefined,
  };
}
