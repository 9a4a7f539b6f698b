/** `storage-list`: pools, storage units and real usage, as a table, a description, or JSON/YAML. */
import { Command } from "commander";
import { AlreadyReported, UsageError } from "../../core/errors.js";
import { EXIT_RUNTIME } from "../../core/exit-codes.js";
import { dns1123LabelError } from "../../core/naming.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addPoolSelector, DEFAULT_NAMESPACE, selectedPool, type GlobalOptions } from "../flags.js";
import { formatObject } from "../io.js";
import { poolDetail, poolDocument, poolTable } from "../pools/print.js";
import { collectPoolReport, type PoolListReport } from "../pools/report.js";
import { watchPools } from "../pools/watch.js";

const LIST_FORMATS = ["table", "wide", "json", "yaml"] as const;
type ListFormat = (typeof LIST_FORMATS)[number];

interface RawOptions extends GlobalOptions {
  name?: string;
  pool?: string;
  detail?: boolean;
  status?: boolean;
  output?: ListFormat;
  headers: boolean;
  watch?: boolean;
}

export interface StorageListOptions {
  global: GlobalOptions;
  name?: string;
  detail: boolean;
  status: boolean;
  output: ListFormat;
  noHeaders: boolean;
  watch: boolean;
}

export function complete(raw: RawOptions, pool?: string): StorageListOptions {
  const output = raw.output ?? "table";
  const name = selectedPool(pool, raw);
  const problem = name === undefined ? undefined : dns1123LabelError(name);
  if (problem) throw new UsageError(`pool name "${name}" ${problem}`);
  if (raw.watch && (raw.output || raw.detail || raw.status)) {
    throw new UsageError("--watch shows the pools' status as a table; it takes no -o, --detail or --status (they read stat.db once: run them without --watch)");
  }
  return {
    global: raw,
    name,
    output,
    noHeaders: !raw.headers,
    detail: Boolean(raw.detail),
    status: Boolean(raw.status),
    watch: Boolean(raw.watch),
  };
}

function failures(report: PoolListReport): string[] {
  return [
    ...report.problems.map((problem) => `pool "${problem.pool}": ${problem.key} ${problem.message}`),
    ...report.pools.filter((pool) => pool.usageError).map((pool) => `pool "${pool.name}": usage unavailable: ${pool.usageError}`),
  ];
}

export async function run(options: StorageListOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  if (options.watch) return watchPools(kube, options, deps);
  const report = await collectPoolReport(kube, { namespace: options.global.namespace, name: options.name, detail: options.detail, status: options.status });
  if (options.output === "json" || options.output === "yaml") io.out.write(formatObject(poolDocument(report), options.output));
  else if (report.pools.length > 0) {
    io.out.write(
      options.detail
        ? poolDetail(report, options.noHeaders)
        : poolTable(report, { status: options.status, wide: options.output === "wide", noHeaders: options.noHeaders }),
    );
  }
  const failed = failures(report);
  for (const line of failed) io.err.write(`${io.color.red("error:")} ${line}\n`);
  if (report.pools.length === 0 && failed.length === 0 && options.output !== "json" && options.output !== "yaml") {
    io.err.write(
      `No storage pools in namespace "${options.global.namespace}". Add one with: kubectl kadalu storage-add POOL --path NODE:/DIR${options.global.namespace === DEFAULT_NAMESPACE ? "" : ` -n ${options.global.namespace}`}\n`,
    );
  }
  if (failed.length > 0) throw new AlreadyReported(EXIT_RUNTIME);
}

export function storageListCommand(deps: Deps): Command {
  const command = new Command("storage-list")
    .description("List storage pools with their storage units, and with --status how full they are")
    .option("--detail", "describe each pool: volume id, options, storage units with their server pods")
    .option("--status", "add capacity, provisioned size and PV counts from each pool's stat.db (one exec in the CSI provisioner; -o wide adds PV sizes)");
  addOutputFlag(command, LIST_FORMATS)
    .option("--no-headers", "print tables without headers")
    .option(
      "-w, --watch",
      "redraw when a pool's status changes (one watch, no exec; a utilisation bar per pool on a terminal, a line per change elsewhere) until Ctrl-C",
    );
  addPoolSelector(command, true);
  command.addHelpText(
    "after",
    `
Examples:
  kubectl kadalu storage-list
  kubectl kadalu storage-list --status
  kubectl kadalu storage-list --status -o wide
  kubectl kadalu storage-list pool1 --detail --status
  kubectl kadalu storage-list --status -o json
  kubectl kadalu storage-list --watch`,
  );
  return command.action(async (pool: string | undefined, _opts: unknown, cmd: Command) => {
    await run(complete(cmd.optsWithGlobals<RawOptions>(), pool), deps);
  });
}
