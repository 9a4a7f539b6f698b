/** `storage-remove NAME`: refuses while PVs use the pool; otherwise deletes it, and with --wait follows the operator. */
import { Command } from "commander";
import { ClusterError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import type { KadaluStorage } from "../../core/pool/types.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addWaitFlags, addYesFlag, type GlobalOptions } from "../flags.js";
import { requirePool } from "../pools/require-pool.js";
import { confirmOrRefuse } from "../prompt.js";
import { waitWithProgress, type WaitVerdict } from "../wait-pool.js";
import { counted } from "../../core/words.js";
import type { SnapshotRow } from "../../core/cluster-snapshots.js";
import { listSnapshots } from "../snapshots/list.js";

interface RawOptions extends GlobalOptions {
  dryRun?: boolean;
  yes?: boolean;
  scriptMode?: boolean;
  wait?: boolean;
  timeout: string;
}

export interface StorageRemoveOptions {
  global: GlobalOptions;
  name: string;
  dryRun: boolean;
  yes: boolean;
  wait: boolean;
  timeoutMs: number;
}

export function complete(name: string, raw: RawOptions): StorageRemoveOptions {
  return {
    global: raw,
    name,
    dryRun: Boolean(raw.dryRun),
    yes: Boolean(raw.yes || raw.scriptMode),
    wait: Boolean(raw.wait),
    timeoutMs: parseDuration("--timeout", raw.timeout),
  };
}

/**
 * The end of a removal. A "blocked" status may predate the PVs' deletion (the operator re-checks when a
 * PV goes): it is only believed while PVs still use the pool, by a fresh list; otherwise we wait for
 * the operator's new verdict.
 */
function removal(kube: Kube, name: string) {
  return async (pool: KadaluStorage | undefined): Promise<WaitVerdict> => {
    if (!pool) return { done: true, line: `storage pool "${name}" removed; its brick data stays on the nodes` };
    if (pool.status?.state === "blocked") {
      if ((await kube.poolVolumes(name)).length > 0)
        throw new ClusterError(`the operator blocked the removal of "${name}": ${pool.status.message ?? "PersistentVolumes still use it"}`);
      return { done: false, waitingFor: `no PersistentVolume uses pool "${name}" any more; waiting for the operator to see it` };
    }
    if (pool.status?.state !== "stopping") return { done: false, waitingFor: `waiting for the operator to start removing pool "${name}"` };
    return { done: false, waitingFor: `pool "${name}" is stopping${pool.status.message ? `: ${pool.status.message}` : ""}` };
  };
}

/** The commands that free the pool of these PVs: their claims, one command per namespace; a PV without a claim itself. */
function deleteCommands(volumes: { name: string; claim?: string }[]): string[] {
  const claims = new Map<string, string[]>();
  for (const pv of volumes) {
    if (!pv.claim) continue;
    const [namespace, claim] = pv.claim.split("/") as [string, string];
    claims.set(namespace, [...(claims.get(namespace) ?? []), claim]);
  }
  const unclaimed = volumes.filter((pv) => !pv.claim).map((pv) => pv.name);
  return [
    ...[...claims].map(([namespace, names]) => `kubectl delete pvc -n ${namespace} ${names.join(" ")}`),
    ...(unclaimed.length ? [`kubectl delete pv ${unclaimed.join(" ")}`] : []),
  ];
}

/** The commands that delete these snapshots: their VolumeSnapshots, one command per namespace; a content without one itself. */
function snapshotDeleteCommands(rows: SnapshotRow[]): string[] {
  const byNamespace = new Map<string, string[]>();
  for (const row of rows.filter((r) => r.name && r.namespace)) byNamespace.set(row.namespace, [...(byNamespace.get(row.namespace) ?? []), row.name]);
  const loose = rows.filter((r) => !(r.name && r.namespace)).map((r) => r.content);
  return [
    ...[...byNamespace].map(([namespace, names]) => `kubectl delete volumesnapshot -n ${namespace} ${names.join(" ")}`),
    ...(loose.length ? [`kubectl delete volumesnapshotcontent ${loose.join(" ")}`] : []),
  ];
}

/** Snapshots live inside the pool: removing it would strand them (their contents could no longer be deleted). */
async function refuseWithSnapshots(kube: Kube, name: string): Promise<void> {
  const rows = await listSnapshots(kube, name);
  if (!rows || rows.length === 0) return;
  const shown = rows.slice(0, 10);
  const names = shown
    .map((row) => (row.name ? `${row.namespace}/${row.name}${row.pvc ? ` (of PVC ${row.pvc})` : ""}` : `volumesnapshotcontent ${row.content}`))
    .join(", ");
  const more = rows.length > 10 ? ` and ${rows.length - 10} more` : "";
  throw new ClusterError(
    `storage pool "${name}" still holds ${counted(rows.length, "snapshot")}: ${names}${more}; delete ${rows.length === 1 ? "it" : "them"} (${rows.length > 10 ? "the first ten: " : ""}${snapshotDeleteCommands(shown).join("; ")}), then run this again`,
  );
}

export async function run(options: StorageRemoveOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const namespace = options.global.namespace;
  const kube = await deps.connect(options.global);
  const pool = await requirePool(kube, namespace, options.name);
  const volumes = await kube.poolVolumes(options.name);
  if (volumes.length > 0) {
    const shown = volumes.slice(0, 10);
    const names = shown.map((pv) => (pv.claim ? `${pv.name} (claim ${pv.claim})` : pv.name)).join(", ");
    const more = volumes.length > 10 ? ` and ${volumes.length - 10} more` : "";
    throw new ClusterError(
      `storage pool "${options.name}" is still used by ${counted(volumes.length, "PersistentVolume")}: ${names}${more}; delete ${volumes.length === 1 ? "it" : "them"} (${volumes.length > 10 ? "the first ten: " : ""}${deleteCommands(shown).join("; ")}), then run this again`,
    );
  }
  await refuseWithSnapshots(kube, options.name);
  if (options.dryRun) {
    io.out.write(`kadalustorage.kadalu-operator.storage/${options.name} would be deleted (dry run: nothing was sent)\n`);
    return;
  }
  if (
    !(await confirmOrRefuse(`Remove storage pool "${options.name}"? Its server pods, Service and StorageClass go; brick data stays on the nodes.`, {
      yes: options.yes,
      io,
      confirm: deps.confirm,
    }))
  ) {
    io.err.write("cancelled: nothing was removed\n");
    return;
  }
  await kube.deleteObject(pool);
  io.out.write(`kadalustorage.kadalu-operator.storage/${options.name} deleted\n`);
  if (!options.wait) return;
  await waitWithProgress(kube, io, `waiting for the operator to remove pool "${options.name}"`, {
    namespace,
    name: options.name,
    timeoutMs: options.timeoutMs,
    judge: removal(kube, options.name),
  });
}

export function storageRemoveCommand(deps: Deps): Command {
  const command = new Command("storage-remove")
    .description("Remove a storage pool (refused while PersistentVolumes use it or it holds snapshots; brick data is kept)")
    .argument("<pool>", "the pool")
    .option("--dry-run", "check and say what would be deleted, without deleting");
  addYesFlag(command);
  addWaitFlags(command, "the operator has removed the pool (or blocked the removal)");
  command.addHelpText("after", "\nExamples:\n  kubectl kadalu storage-remove pool1 --yes --wait");
  return command.action(async (name: string, _opts: unknown, cmd: Command) => {
    await run(complete(name, cmd.optsWithGlobals<RawOptions>()), deps);
  });
}
