/**
 * `remove-archived-pv NAME`: lists a pool's archived PVs, then removes exactly those (directory,
 * metadata, the original name's stat.db row) through the CSI provisioner, never a neighbour that shares a
 * hash prefix (upstream removed whole prefix directories).
 */
import { Command } from "commander";
import { ClusterError, UsageError } from "../../core/errors.js";
import { decodeKadaluInfo, INFO_CONFIGMAP } from "../../core/info/codec.js";
import { ARCHIVED_PREFIX } from "../../core/pv-layout.js";
import { formatBytes } from "../../core/units.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addYesFlag, type GlobalOptions } from "../flags.js";
import { formatObject, type ObjectFormat } from "../io.js";
import { PROVISIONER_CONTAINER, PROVISIONER_SELECTOR } from "../pools/report.js";
import { confirmOrRefuse } from "../prompt.js";
import { renderTable } from "../table.js";
import { counted } from "../../core/words.js";
import { poolNotFound } from "../pools/require-pool.js";

/** The CSI image's own tool (csi/tools/archived.ts) does the listing and removing inside the provisioner. */
export const CSI_TOOL = ["node", "/kadalu/bin/kadalu-csi", "archived"];

interface RawOptions extends GlobalOptions {
  pvc?: string;
  dryRun?: boolean;
  yes?: boolean;
  scriptMode?: boolean;
  output?: ObjectFormat;
}

interface Archived {
  name: string;
  size: number;
}

export async function archivedTool(kube: Kube, namespace: string, pod: string, args: string[]): Promise<Archived[]> {
  const result = await kube.exec(namespace, pod, PROVISIONER_CONTAINER, [...CSI_TOOL, ...args]);
  if (result.exitCode !== 0)
    throw new ClusterError(result.stderr.trim().replace(/^(kadalu-csi|error): /, "") || `the archived-PV tool failed in ${pod} (exit ${result.exitCode})`);
  return JSON.parse(result.stdout.toString("utf8")) as Archived[];
}

export async function run(name: string, raw: RawOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  if (raw.pvc !== undefined && !raw.pvc.startsWith(ARCHIVED_PREFIX))
    throw new UsageError(`--pvc "${raw.pvc}" is not an archived PV: archived PVs are named ${ARCHIVED_PREFIX}<pv>`);
  const namespace = raw.namespace;
  const kube = await deps.connect(raw);
  const { pools } = decodeKadaluInfo(await kube.readConfigMapData(namespace, INFO_CONFIGMAP));
  if (!pools.some((pool) => pool.volname === name))
    throw poolNotFound(
      name,
      namespace,
      pools.map((p) => p.volname),
    );
  const provisioner = (await kube.listPods(namespace, PROVISIONER_SELECTOR)).find((pod) => pod.status?.phase === "Running");
  if (!provisioner) throw new ClusterError(`no running CSI provisioner pod (${PROVISIONER_SELECTOR}) in namespace "${namespace}"`);
  const selection = ["--pool", name, "--root", `/mnt/${name}`, ...(raw.pvc ? ["--pvc", raw.pvc] : [])];
  const found = await archivedTool(kube, namespace, provisioner.metadata!.name!, selection);
  if (found.length === 0) {
    if (raw.output) io.out.write(formatObject({ pool: name, removed: false, archivedPVs: [] }, raw.output));
    io.err.write(`No archived PVs in pool "${name}".\n`);
    return;
  }
  const total = found.reduce((sum, pv) => sum + pv.size, 0);
  // With -o the one document comes last: what was removed (or, in a dry run, would be).
  const document = (archivedPVs: Archived[], removed: boolean): string => formatObject({ pool: name, removed, archivedPVs }, raw.output!);
  // A dry run's list is its data (stdout) unless -o asks for a document; otherwise it is the prompt's preview (stderr).
  (raw.dryRun && !raw.output ? io.out : io.err).write(
    renderTable(
      ["Archived PV", "Size"],
      found.map((pv) => [pv.name, formatBytes(pv.size)]),
    ),
  );
  if (raw.dryRun) {
    if (raw.output) io.out.write(document(found, false));
    io.err.write(`dry run: ${counted(found.length, "archived PV")} (${formatBytes(total)}) would be removed; nothing was changed\n`);
    return;
  }
  if (
    !(await confirmOrRefuse(
      found.length === 1 ? "Delete the data of this archived PV for good?" : `Delete the data of these ${found.length} archived PVs for good?`,
      { yes: Boolean(raw.yes || raw.scriptMode), io, confirm: deps.confirm },
    ))
  ) {
    io.err.write("cancelled: nothing was removed\n");
    return;
  }
  const removed = await archivedTool(kube, namespace, provisioner.metadata!.name!, [...selection, "--remove"]);
  if (raw.output) io.out.write(document(removed, true));
  (raw.output ? io.err : io.out).write(
    `removed ${counted(removed.length, "archived PV")} from pool "${name}", freeing ${formatBytes(removed.reduce((sum, pv) => sum + pv.size, 0))}\n`,
  );
}

export function removeArchivedPvCommand(deps: Deps): Command {
  const command = new Command("remove-archived-pv")
    .description("Delete the data of archived PVs of a pool (those kept by pvReclaimPolicy archive)")
    .argument("<pool>", "the pool")
    .option("--pvc <archived-pv>", "only this one, e.g. archived-pvc-1234")
    .option("--dry-run", "list what would be removed");
  addOutputFlag(command, ["json", "yaml"]);
  addYesFlag(command);
  command.addHelpText(
    "after",
    "\nExamples:\n  kubectl kadalu remove-archived-pv pool1 --dry-run\n  kubectl kadalu remove-archived-pv pool1 --pvc archived-pvc-1234 --yes",
  );
  return command.action(async (name: string, _opts: unknown, cmd: Command) => run(name, cmd.optsWithGlobals<RawOptions>(), deps));
}
