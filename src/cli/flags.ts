/** Flag builders shared by all commands, so a flag means the same thing everywhere. */
import { Command, Option } from "commander";
import { UsageError } from "../core/errors.js";

export const DEFAULT_NAMESPACE = "kadalu";
export const DRY_RUN_STRATEGIES = ["none", "client", "server"] as const;
export type DryRun = (typeof DRY_RUN_STRATEGIES)[number];

/** Options every command can take; the connection ones matter only to commands that talk to the cluster. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  kubectlContext?: string;
  namespace: string;
  kubectlCmd?: string;
  verbose?: boolean;
  color?: boolean;
  requestTimeout?: string;
}

export function addGlobalFlags(program: Command): Command {
  return program
    .option("--kubeconfig <file>", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    .option("--request-timeout <duration>", "how long one API request may wait for its answer, as in 30s or 1m", "30s")
    .option("--context <name>", "the kubeconfig context to use")
    .addOption(new Option("--kubectl-context <name>", "alias of --context (upstream flag)").hideHelp())
    .option("-n, --namespace <namespace>", "the Kadalu system namespace", DEFAULT_NAMESPACE)
    .addOption(new Option("--kubectl-cmd <command>", "ignored: the API is used directly (upstream flag)").hideHelp())
    .option("--verbose", "show stack traces and API details on failure")
    .option("--no-color", "never colour the output (also NO_COLOR=1)");
}

/**
 * `--dry-run` alone means client; a strategy must be attached (`--dry-run=server`) as in kubectl,
 * so that `storage-add --dry-run pool1` keeps pool1 as the NAME. Rewrites to a hidden option.
 */
export function normalizeDryRun(argv: string[]): string[] {
  return argv.flatMap((arg) => {
    if (!arg.startsWith("--dry-run=")) return [arg];
    const strategy = arg.slice("--dry-run=".length);
    if (!(DRY_RUN_STRATEGIES as readonly string[]).includes(strategy)) {
      throw new UsageError(`--dry-run="${strategy}" is not valid; use --dry-run, --dry-run=client, --dry-run=server or --dry-run=none`);
    }
    return [`--dry-run-strategy=${strategy}`];
  });
}

export function addDryRunFlag(
  command: Command,
  description = "print what would be sent, without a cluster (=client); --dry-run=server lets the API server validate it without persisting",
): Command {
  return command.option("--dry-run", description).addOption(new Option("--dry-run-strategy <strategy>").hideHelp().choices(DRY_RUN_STRATEGIES));
}

export function dryRunOf(options: { dryRun?: boolean; dryRunStrategy?: DryRun }): DryRun {
  return options.dryRunStrategy ?? (options.dryRun ? "client" : "none");
}

export function addYesFlag(command: Command): Command {
  return command.option("-y, --yes", "do not ask for confirmation").addOption(new Option("--script-mode", "alias of --yes (upstream flag)").hideHelp());
}

/** Every format a command's -o may offer, in the order help and errors list them. */
export const OUTPUT_FORMATS = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * The one `-o, --output` flag: `formats` are the ones this command prints, `what` says what -o prints where
 * it is not the command's usual report. A bad value fails as every commander choice does (exit 2).
 */
export function addOutputFlag(command: Command, formats: readonly OutputFormat[], what = "output format"): Command {
  const offered = OUTPUT_FORMATS.filter((format) => formats.includes(format));
  return command.addOption(new Option("-o, --output <format>", `${what}: ${offered.join(", ")}`).choices(offered));
}

/**
 * The pool a command looks at: a POOL argument where kubectl users type one, or --pool, the one flag for a
 * pool on every command; `--name` (upstream's spelling) stays as a hidden alias where upstream had it.
 */
export function addPoolSelector(command: Command, upstreamName = false): Command {
  command.argument("[pool]", "only this pool").option("--pool <name>", "only this pool (the same as the POOL argument)");
  if (upstreamName) command.addOption(new Option("--name <pool>", "alias of --pool (upstream flag)").hideHelp());
  return command;
}

/** The one pool named by the argument, --pool or --name; naming two different ones is a usage error. */
export function selectedPool(argument: string | undefined, options: { pool?: string; name?: string }): string | undefined {
  const given = [...new Set([argument, options.pool, options.name].filter((value): value is string => value !== undefined))];
  if (given.length > 1)
    throw new UsageError(`two pools given (${given.map((pool) => `"${pool}"`).join(" and ")}); name one, as the POOL argument or with --pool`);
  return given[0];
}

export function addWaitFlags(command: Command, what: string): Command {
  return command.option("--wait", `wait until ${what}`).option("--timeout <duration>", "how long --wait waits (e.g. 90s, 5m, 1h)", "5m");
}

export function intArg(flag: string): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${flag} "${value}" must be a whole number`);
    return Number(value);
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
