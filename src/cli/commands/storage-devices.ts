/**
 * `storage-devices`: per node, the block devices a pool could use and, for each it may not, why (too
 * small, has a filesystem, mounted, partitioned, read-only, used by pool X). Each node's nodeplugin
 * reads its own /sys/block and device signatures; the pools' storage units say which pool has which.
 */
import { Command } from "commander";
import { AlreadyReported, ClusterError, UsageError } from "../../core/errors.js";
import { EXIT_RUNTIME } from "../../core/exit-codes.js";
import { deviceRefusals, deviceUsers, userOf, type BlockDevice } from "../../core/devices.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { dns1123SubdomainError } from "../../core/naming.js";
import { formatBytes } from "../../core/units.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, collect, type GlobalOptions } from "../flags.js";
import { formatObject } from "../io.js";
import { askNode, NODEPLUGIN_SELECTOR, nodepluginPods } from "../pools/node-devices.js";
import { refuseInSandbox } from "../sandbox.js";
import { renderTable } from "../table.js";
import { usedUnits } from "./storage-add.js";
import type { PodView } from "../../core/upgrade/switch-over.js";

const FORMATS = ["table", "wide", "json", "yaml"] as const;

interface RawOptions extends GlobalOptions {
  node?: string[];
  output?: (typeof FORMATS)[number];
}

export interface DeviceVerdict extends BlockDevice {
  usable: boolean;
  refusals: string[];
  usedBy?: string;
}

export interface NodeDevices {
  node: string;
  devices: DeviceVerdict[];
  /** Directories the pools' storage units hold on the node (the nodeplugin cannot see others). */
  directories: { path: string; usedBy: string }[];
  /** Why the node could not be asked. */
  error?: string;
}

export function verdicts(node: string, devices: BlockDevice[], users: Map<string, string>): DeviceVerdict[] {
  return devices.map((device) => {
    const usedBy = userOf(users, node, device);
    const refusals = deviceRefusals(device, usedBy);
    return { ...device, usable: refusals.length === 0, refusals, ...(usedBy ? { usedBy } : {}) };
  });
}

export function renderDevices(nodes: NodeDevices[], wide: boolean): string {
  const rows = nodes.flatMap(({ node, devices, directories }) => [
    ...devices.map((device) => [
      node,
      device.path,
      formatBytes(device.sizeBytes),
      device.signature?.type ?? "-",
      ...(wide ? [device.mounts.join(",") || "-", device.holders.join(",") || "-", device.parent ?? "-"] : []),
      device.usable ? "yes" : "no",
      device.refusals.join("; ") || "-",
    ]),
    ...directories.map((directory) => [node, directory.path, "-", "-", ...(wide ? ["-", "-", "-"] : []), "no", `used by pool ${directory.usedBy}`]),
  ]);
  const headers = ["node", "path", "size", "filesystem", ...(wide ? ["mounted", "holders", "parent"] : []), "usable", "reason"];
  return renderTable(headers, rows);
}

export async function run(raw: RawOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const wanted = [...new Set(raw.node ?? [])];
  for (const node of wanted) {
    const problem = dns1123SubdomainError(node);
    if (problem) throw new UsageError(`--node "${node}" is not a node name: it ${problem}`);
  }
  const namespace = raw.namespace;
  const kube = await deps.connect(raw);
  refuseInSandbox(kube, "storage-devices", "reads each node's block devices in its CSI nodeplugin pod");
  const [pods, pools, info] = await Promise.all([
    kube.listPods(namespace, NODEPLUGIN_SELECTOR),
    kube.listPools(namespace).catch(() => []),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
  ]);
  const byNode = nodepluginPods(pods as PodView[]);
  if (byNode.size === 0)
    throw new ClusterError(
      `no ready CSI nodeplugin pod (${NODEPLUGIN_SELECTOR}) in namespace "${namespace}" to ask; check: kubectl -n ${namespace} get pods -l ${NODEPLUGIN_SELECTOR}`,
    );
  const nodes = wanted.length ? wanted : [...byNode.keys()].sort();
  const used = usedUnits(pools, info);
  const users = deviceUsers(used);
  const directoriesOn = (node: string) => [
    ...new Map(
      used.flatMap(({ pool, units }) =>
        units.filter((unit) => unit.node === node && unit.path).map((unit) => [unit.path!, { path: unit.path!, usedBy: pool }]),
      ),
    ).values(),
  ];
  const reports = await Promise.all(
    nodes.map(async (node): Promise<NodeDevices> => {
      const pod = byNode.get(node);
      if (!pod)
        return {
          node,
          devices: [],
          directories: [],
          error: `no ready CSI nodeplugin pod on node "${node}"; nodes with one: ${[...byNode.keys()].sort().join(", ")}`,
        };
      const devices = await askNode(kube, namespace, pod);
      return typeof devices === "string"
        ? { node, devices: [], directories: [], error: devices }
        : { node, devices: verdicts(node, devices, users), directories: directoriesOn(node) };
    }),
  );
  for (const report of reports) if (report.error) io.err.write(`${io.color.red("error:")} node ${report.node}: ${report.error}\n`);
  if (raw.output === "json" || raw.output === "yaml") io.out.write(formatObject({ nodes: reports }, raw.output));
  else if (reports.some((report) => report.devices.length + report.directories.length > 0)) io.out.write(renderDevices(reports, raw.output === "wide"));
  const answered = reports.filter((report) => !report.error);
  const usable = answered.reduce((sum, report) => sum + report.devices.filter((device) => device.usable).length, 0);
  if (raw.output !== "json" && raw.output !== "yaml" && answered.length > 0)
    io.err.write(`${usable} usable device${usable === 1 ? "" : "s"} on ${answered.length} node${answered.length === 1 ? "" : "s"}\n`);
  if (reports.some((report) => report.error)) throw new AlreadyReported(EXIT_RUNTIME);
}

export function storageDevicesCommand(deps: Deps): Command {
  const command = new Command("storage-devices")
    .summary("List the block devices of each node, and why a pool may not use one")
    .description(
      "List the block devices of each node with their size, filesystem, mounts and the pool using them, and for each device a pool may not use, why: too small, has a filesystem, mounted, partitioned, read-only, used by pool X. Each node's CSI nodeplugin pod reads its own /sys/block, mount table and device signatures. The directories pools hold on each node are listed too.",
    )
    .option("--node <name>", "only this node; repeatable", collect);
  addOutputFlag(command, FORMATS);
  return command
    .addHelpText(
      "after",
      `
Examples:
  # Every node's devices, and which a pool could use
  kubectl kadalu storage-devices

  # One node, with mounts, holders and partitions' disks
  kubectl kadalu storage-devices --node kube1 -o wide

  # The usable devices of every node, for a script
  kubectl kadalu storage-devices -o json | jq -r '.nodes[] | .node as $n | .devices[] | select(.usable) | "\\($n):\\(.path)"'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd.optsWithGlobals<RawOptions>(), deps);
    });
}
