/** `doctor`: the checks an admin walks through when a PVC stays Pending or a pool misbehaves, one line per finding. */
import { Command } from "commander";
import { AlreadyReported, UsageError } from "../../core/errors.js";
import { DEFAULT_THRESHOLDS, diagnose, exitCodeOf, type Finding, type Severity } from "../../core/doctor/checks.js";
import { DOCTOR_EXIT } from "../../core/exit-codes.js";
import { poolNameError } from "../../core/naming.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addPoolSelector, selectedPool, type GlobalOptions } from "../flags.js";
import { formatObject, type IOStreams } from "../io.js";
import { renderTable } from "../table.js";
import { gather } from "../doctor/gather.js";
import { counted } from "../../core/words.js";
import { poolNotFound } from "../pools/require-pool.js";

interface RawOptions extends GlobalOptions {
  pool?: string;
  output?: "table" | "json" | "yaml";
  warnAt: string;
  criticalAt: string;
}

function percent(flag: string, value: string): number {
  if (!/^\d{1,3}(\.\d+)?$/.test(value) || Number(value) > 100) throw new UsageError(`${flag} must be a percentage between 0 and 100, not "${value}"`);
  return Number(value);
}

export interface DoctorOptions {
  global: RawOptions;
  pool: string | undefined;
  output: "table" | "json" | "yaml";
  thresholds: { warnPercent: number; criticalPercent: number };
}

export function complete(raw: RawOptions, pool = raw.pool): DoctorOptions {
  const thresholds = { warnPercent: percent("--warn-at", raw.warnAt), criticalPercent: percent("--critical-at", raw.criticalAt) };
  if (thresholds.warnPercent > thresholds.criticalPercent)
    throw new UsageError(`--warn-at (${thresholds.warnPercent}) must not be above --critical-at (${thresholds.criticalPercent})`);
  const problem = pool ? poolNameError(pool) : undefined;
  if (problem) throw new UsageError(`--pool "${pool}" ${problem}`);
  return { global: raw, pool, output: raw.output ?? "table", thresholds };
}

function severityLabel(io: IOStreams, severity: Severity): string {
  return severity === "critical" ? io.color.red("critical") : severity === "warning" ? io.color.yellow("warning") : io.color.green("ok");
}

function render(io: IOStreams, findings: Finding[], verbose: boolean): string {
  const rows = findings.map((finding) => [severityLabel(io, finding.severity), finding.check, finding.where, finding.message, finding.next ?? ""]);
  let text = renderTable(["severity", "check", "where", "finding", "next"], rows);
  if (verbose) {
    for (const finding of findings.filter((f) => f.evidence))
      text += `\n${finding.check} ${finding.where}:\n${finding
        .evidence!.split("\n")
        .map((line) => `  ${line}`)
        .join("\n")}\n`;
  }
  return text;
}

export async function run(options: DoctorOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const snapshot = await gather(kube, options.global.namespace);
  if (options.pool && !snapshot.pools.some((pool) => pool.metadata.name === options.pool)) {
    throw poolNotFound(
      options.pool,
      options.global.namespace,
      snapshot.pools.map((p) => p.metadata.name),
    );
  }
  const findings = diagnose(snapshot, { pool: options.pool, thresholds: options.thresholds });
  const code = exitCodeOf(findings);
  if (options.output === "table") io.out.write(render(io, findings, Boolean(options.global.verbose)));
  else io.out.write(formatObject({ healthy: code === DOCTOR_EXIT.healthy, exitCode: code, findings }, options.output));
  const of = (severity: string): number => findings.filter((f) => f.severity === severity).length;
  io.err.write(`${counted(findings.length, "check")}: ${of("critical")} critical, ${counted(of("warning"), "warning")}\n`);
  if (code !== 0) throw new AlreadyReported(code);
}

export function doctorCommand(deps: Deps): Command {
  const command = new Command("doctor").description(
    "Check the operator, CSI driver and every pool (or one, with its Pending PVCs), and say what is wrong, where, and what to run next",
  );
  addOutputFlag(addPoolSelector(command), ["table", "json", "yaml"]);
  return command
    .option("--warn-at <percent>", "capacity provisioned that is a warning", String(DEFAULT_THRESHOLDS.warnPercent))
    .option("--critical-at <percent>", "capacity provisioned that is critical", String(DEFAULT_THRESHOLDS.criticalPercent))
    .addHelpText(
      "after",
      `
Exit codes:
  0  healthy: every check ok
  ${DOCTOR_EXIT.warning}  at least one warning, nothing critical
  ${DOCTOR_EXIT.critical}  at least one critical finding
  1  doctor itself could not run (cluster unreachable)
  2  bad usage

Examples:
  kubectl kadalu doctor
  kubectl kadalu doctor pool1 --verbose
  kubectl kadalu doctor -o json | jq '.findings[] | select(.severity != "ok")'`,
    )
    .action(async (argument: string | undefined, _opts: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<RawOptions>();
      await run(complete(raw, selectedPool(argument, raw)), deps);
    });
}
