/**
 * `top`: CPU, memory and I/O of each brick process (glusterfsd in the server pods) and of the provisioner's
 * FUSE clients, per process and per pool, from /proc sampled twice over the interval.
 */
import { Command, Option } from "commander";
import { ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { poolTotals, SORT_KEYS, sortRows, type SortKey } from "../../core/top/proc.js";
import { formatBytes } from "../../core/units.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addPoolSelector, selectedPool, type GlobalOptions } from "../flags.js";
import { formatObject } from "../io.js";
import { refuseInSandbox } from "../sandbox.js";
import { renderTable } from "../table.js";
import { sampleTop, type TopSample } from "../top/sample.js";
import { frame, untilInterrupted } from "../watch.js";
import { requirePool } from "../pools/require-pool.js";

interface RawOptions extends GlobalOptions {
  pool?: string;
  sort: SortKey;
  output?: "table" | "json" | "yaml";
  interval: string;
  watch?: boolean;
}

export interface TopOptions {
  global: GlobalOptions;
  pool?: string;
  sort: SortKey;
  output: "table" | "json" | "yaml";
  seconds: number;
  watch: boolean;
}

export function complete(raw: RawOptions, pool = raw.pool): TopOptions {
  const ms = parseDuration("--interval", raw.interval);
  if (ms < 200 || ms > 60_000) throw new UsageError(`--interval "${raw.interval}" must be between 200ms and 60s`);
  if (raw.watch && raw.output && raw.output !== "table") throw new UsageError(`--watch redraws a table; -o ${raw.output} prints one sample: give one of them`);
  return { global: raw, pool, sort: raw.sort, output: raw.output ?? "table", seconds: ms / 1000, watch: Boolean(raw.watch) };
}

const rate = (bytes: number): string => `${formatBytes(Math.round(bytes))}/s`;
const ops = (value: number): string => value.toFixed(value < 10 ? 1 : 0);

export function renderTop(sample: TopSample, sort: SortKey): string {
  const rows = sortRows(sample.rows, sort);
  const pools = renderTable(
    ["POOL", "PROCESSES", "CPU%", "RSS", "READ/s", "WRITE/s", "R-OPS/s", "W-OPS/s"],
    poolTotals(rows).map((total) => [
      total.pool || "-",
      String(total.processes),
      total.cpuPercent.toFixed(1),
      formatBytes(total.rssBytes),
      rate(total.readBytesPerSecond),
      rate(total.writeBytesPerSecond),
      ops(total.readOpsPerSecond),
      ops(total.writeOpsPerSecond),
    ]),
  );
  const processes = renderTable(
    ["POOL", "POD", "PID", "PROCESS", "CPU%", "RSS", "READ/s", "WRITE/s", "R-OPS/s", "W-OPS/s"],
    rows.map((row) => [
      row.pool || "-",
      row.pod,
      String(row.pid),
      row.role,
      row.cpuPercent.toFixed(1),
      formatBytes(row.rssBytes),
      rate(row.readBytesPerSecond),
      rate(row.writeBytesPerSecond),
      ops(row.readOpsPerSecond),
      ops(row.writeOpsPerSecond),
    ]),
  );
  return `${pools}\n${processes}`;
}

function documentOf(sample: TopSample, sort: SortKey): unknown {
  const rows = sortRows(sample.rows, sort);
  return { pools: poolTotals(rows), processes: rows, failures: sample.failures };
}

async function sampleOnce(kube: Kube, options: TopOptions, deps: Deps): Promise<TopSample> {
  const sample = await sampleTop(kube, options.global.namespace, options.seconds, options.pool);
  // The sandbox answers exec for the CSI pods it runs in-process, never for a server pod: when no server pod
  // could be reached that way, say it once, as other commands do, rather than a 400 per pod.
  const noServerPod = !sample.rows.some((row) => row.pod.startsWith("server-"));
  if (sample.failures.length > 0 && noServerPod && sample.failures.every((failure) => failure.reason.includes("cannot exec in pod")))
    refuseInSandbox(kube, "top", "samples the Gluster processes in the server pods through exec");
  for (const failure of sample.failures) deps.io.err.write(`${deps.io.color.yellow("warning:")} ${failure.pod} not sampled: ${failure.reason}\n`);
  if (sample.rows.length === 0 && sample.failures.length > 0)
    throw new ClusterError(`no pod could be sampled (${sample.failures.map((f) => f.pod).join(", ")}); see kubectl kadalu doctor`);
  return sample;
}

export async function run(options: TopOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  if (options.pool) await requirePool(kube, options.global.namespace, options.pool);
  if (!options.watch) {
    const sample = await sampleOnce(kube, options, deps);
    if (sample.rows.length === 0)
      io.err.write(`No Gluster processes running in namespace "${options.global.namespace}"${options.pool ? ` for pool "${options.pool}"` : ""}.\n`);
    io.out.write(options.output === "table" ? renderTop(sample, options.sort) : formatObject(documentOf(sample, options.sort), options.output));
    return;
  }
  const interrupt = untilInterrupted();
  try {
    while (!interrupt.requested) {
      const sample = await sampleOnce(kube, options, deps);
      if (interrupt.requested) break;
      const header = `kadalu top - ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}, every ${options.seconds}s, sorted by ${options.sort} (Ctrl-C ends)\n\n`;
      io.out.write(frame(header + renderTop(sample, options.sort), io.terminal));
    }
  } finally {
    interrupt.dispose();
  }
}

export function topCommand(deps: Deps): Command {
  const command = new Command("top").description("CPU, memory and I/O of each brick process and of the provisioner's FUSE clients, per process and per pool");
  addPoolSelector(command).addOption(new Option("--sort <column>", "sort by").choices(Object.keys(SORT_KEYS)).default("cpu"));
  return addOutputFlag(command, ["table", "json", "yaml"])
    .option("--interval <duration>", "how long each sample lasts (200ms to 60s)", "1s")
    .option("-w, --watch", "sample again and again, redrawing on a terminal, until Ctrl-C")
    .addHelpText(
      "after",
      `
Each server pod is sampled with one exec (its glusterfsd: /proc/<pid>/stat, status and io read twice), the
CSI provisioner with one more (its FUSE clients), all side by side. CPU% is of one core; READ/s and WRITE/s
are bytes that reached the storage layer; R-OPS/s and W-OPS/s are read and write system calls.

Examples:
  kubectl kadalu top
  kubectl kadalu top pool1 --sort write
  kubectl kadalu top --watch --interval 2s
  kubectl kadalu top -o json`,
    )
    .action(async (argument: string | undefined, _opts: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<RawOptions>();
      await run(complete(raw, selectedPool(argument, raw)), deps);
    });
}
