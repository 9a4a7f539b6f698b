/**
 * Moving a cluster from another Kadalu (upstream 1.x, or another version of this one) to this plugin's:
 * what changes, which pods restart, which PVs are in use where, what is unsafe now, and the order in
 * which brick pods restart (one at a time per replica group). Pure: the CLI fetches, these decide.
 */
import { isExternal, type PoolInfo } from "../info/codec.js";
import { byCodePoint, serverPodName } from "../naming.js";

type Labels = Record<string, string> | undefined;
interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Labels;
  deletionTimestamp?: unknown;
}
export interface PodView {
  metadata?: Meta;
  spec?: { nodeName?: string; volumes?: { persistentVolumeClaim?: { claimName?: string } }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
export interface PvView {
  metadata?: { name?: string };
  spec?: { csi?: { driver?: string; volumeAttributes?: Record<string, string> }; claimRef?: { namespace?: string; name?: string } };
}
export interface WorkloadView {
  kind: string;
  metadata: Meta;
  spec?: { selector?: { matchLabels?: Labels }; updateStrategy?: { type?: string }; template?: { spec?: { containers?: { name: string; image?: string }[] } } };
  status?: { updateRevision?: string; currentRevision?: string };
}

/** Objects upstream installs that this plugin has no use for: its RBAC for sidecars we do not run (more rights than needed). */
export const UPSTREAM_LEFTOVERS: { apiVersion: string; kind: string; name: string }[] = [
  "kadalu-csi-external-attacher",
  "kadalu-csi-external-provisioner",
  "kadalu-csi-external-resizer",
].flatMap((name) => [
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name },
]);

/** Containers of upstream's CSI workloads that ours do not have (no attach step; the FUSE client log goes to the driver's own log). */
export const UPSTREAM_CONTAINERS = ["csi-attacher", "kadalu-logging"];

export const isReady = (pod: PodView | undefined): boolean =>
  Boolean(
    pod && !pod.metadata?.deletionTimestamp && pod.status?.phase === "Running" && pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );

/** Bricks that heal each other: a replica (or disperse) set; Replica1 bricks stand alone. */
export function replicaGroupSize(info: PoolInfo): number {
  if (isExternal(info)) return 0;
  if (info.type === "Replica3" || info.type === "Arbiter") return 3;
  if (info.type === "Replica2") return 2;
  if (info.type === "Disperse") return Math.max(1, info.disperse.data + info.disperse.redundancy);
  return 1;
}

export const replicated = (info: PoolInfo): boolean => replicaGroupSize(info) > 1;

/** The brick pods of each replica group of a pool, in brick order. */
export function replicaGroups(info: PoolInfo): string[][] {
  const size = replicaGroupSize(info);
  if (size === 0 || isExternal(info)) return [];
  const pods = [...info.bricks].sort((a, b) => a.brick_index - b.brick_index).map((brick) => serverPodName(info.volname, brick.brick_index));
  const groups: string[][] = [];
  for (let start = 0; start < pods.length; start += size) groups.push(pods.slice(start, start + size));
  return groups;
}

/**
 * Pending heal entries in the report of upstream's heal-info.sh (glfsheal's `info`): the sum of every
 * brick's "Number of entries"; undefined when a brick's count is unknown (not connected: "-").
 */
export function pendingHeals(report: string): number | undefined {
  let total = 0;
  let bricks = 0;
  for (const match of report.matchAll(/^(?:Total )?Number of entries(?: in heal pending)?:\s*(\S+)\s*$/gm)) {
    bricks += 1;
    if (!/^\d+$/.test(match[1]!)) return undefined;
    total += Number(match[1]);
  }
  return bricks === 0 ? undefined : total;
}

/** Kadalu PVs (driver `kadalu`) used by pods now, by node: what a nodeplugin restart touches there. */
// eslint-disable-next-line complexity -- two plain loops; the count is optional chains over PVs' and Pods' optional fields
export function volumesInUse(pvs: PvView[], pods: PodView[]): Map<string, string[]> {
  const byClaim = new Map<string, string>();
  for (const pv of pvs) {
    const claim = pv.spec?.claimRef;
    if (pv.spec?.csi?.driver === "kadalu" && claim?.name) byClaim.set(`${claim.namespace}/${claim.name}`, pv.metadata?.name ?? "?");
  }
  const byNode = new Map<string, string[]>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
    for (const volume of pod.spec?.volumes ?? []) {
      const claim = volume.persistentVolumeClaim?.claimName;
      const pv = claim ? byClaim.get(`${pod.metadata?.namespace}/${claim}`) : undefined;
      if (!pv) continue;
      const entry = `${pod.metadata?.namespace}/${pod.metadata?.name} (${pv}, claim ${claim})`;
      byNode.set(node, [...(byNode.get(node) ?? []), entry]);
    }
  }
  return byNode;
}

export type UnsafeKind = "pending-heals" | "unready-bricks";
export const UNSAFE_KINDS: UnsafeKind[] = ["pending-heals", "unready-bricks"];

export interface Finding {
  kind: UnsafeKind;
  message: string;
}

export interface PoolHealth {
  info: PoolInfo;
  /** Pending heal entries; undefined: unknown (the reason in `healError`). */
  heals?: number;
  healError?: string;
}

export interface Preflight {
  changes: string[];
  restarts: string[];
  inUse: Map<string, string[]>;
  unsafe: Finding[];
}

/** The preflight report from what was fetched: every workload, the pools' brick pods and heals, the PVs in use. */
export function preflight(input: {
  installed: string;
  wanted: string;
  workloads: WorkloadView[];
  leftovers: string[];
  pools: PoolHealth[];
  pods: PodView[];
  pvs: PvView[];
  appPods: PodView[];
}): Preflight {
  const changes = [`Kadalu ${input.installed} -> ${input.wanted}: operator, CSI provisioner and nodeplugin replaced by this plugin's`];
  for (const workload of input.workloads) {
    const extra = (workload.spec?.template?.spec?.containers ?? []).map((c) => c.name).filter((name) => UPSTREAM_CONTAINERS.includes(name));
    if (extra.length) changes.push(`${workload.kind.toLowerCase()}/${workload.metadata.name}: containers ${extra.join(", ")} removed`);
  }
  for (const leftover of input.leftovers) changes.push(`${leftover}: deleted (upstream's RBAC for sidecars this plugin does not run)`);
  const restarts = [
    "the operator pod",
    "the CSI provisioner pod",
    "the nodeplugin pod on every node, one node at a time: its FUSE clients restart, so pods using Kadalu PVs on a node lose their mounts until they are restarted",
  ];
  const unsafe: Finding[] = [];
  const byName = new Map(input.pods.map((pod) => [pod.metadata?.name ?? "", pod]));
  for (const pool of input.pools) {
    const groups = replicaGroups(pool.info);
    if (groups.length === 0) continue;
    restarts.push(
      `pool ${pool.info.volname}: brick pods ${groups.map((group) => group.join(", ")).join("; ")}: one at a time${replicated(pool.info) ? ", each after the one before is ready and its heals are done" : " (Replica1: each brick's PVs pause while it restarts)"}`,
    );
    const unready = groups.flat().filter((name) => !isReady(byName.get(name)));
    if (unready.length)
      unsafe.push({
        kind: "unready-bricks",
        message: `pool ${pool.info.volname}: brick pod${unready.length > 1 ? "s" : ""} ${unready.join(", ")} not ready (restarting another could take its replica set offline)`,
      });
    if (!replicated(pool.info)) continue;
    if (pool.heals === undefined)
      unsafe.push({ kind: "pending-heals", message: `pool ${pool.info.volname}: heals could not be checked: ${pool.healError ?? "no report"}` });
    else if (pool.heals > 0)
      unsafe.push({
        kind: "pending-heals",
        message: `pool ${pool.info.volname}: ${pool.heals} heal entr${pool.heals === 1 ? "y" : "ies"} pending (a restart now can leave files without a good copy)`,
      });
  }
  return { changes, restarts, inUse: volumesInUse(input.pvs, input.appPods), unsafe };
}

export function renderPreflight(report: Preflight): string {
  const lines = ["Switch-over preflight", "  changes:", ...report.changes.map((c) => `    - ${c}`), "  restarts:", ...report.restarts.map((r) => `    - ${r}`)];
  lines.push("  Kadalu PVs in use:");
  if (report.inUse.size === 0) lines.push("    - none");
  for (const [node, uses] of [...report.inUse].sort(([a], [b]) => byCodePoint(a, b))) lines.push(`    - node ${node}: ${uses.join(", ")}`);
  lines.push("  unsafe now:");
  if (report.unsafe.length === 0) lines.push("    - nothing");
  for (const finding of report.unsafe) lines.push(`    - ${finding.message} [--allow-unsafe ${finding.kind}]`);
  return `${lines.join("\n")}\n`;
}

/** A brick StatefulSet's pod runs an older template than the StatefulSet holds (OnDelete: it waits to be deleted). */
export function outdated(statefulSet: WorkloadView | undefined, pod: PodView | undefined): boolean {
  const wanted = statefulSet?.status?.updateRevision;
  return Boolean(wanted && pod && pod.metadata?.labels?.["controller-revision-hash"] !== wanted);
}
