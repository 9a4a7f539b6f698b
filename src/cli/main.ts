/** The root program and the single error funnel: the only place that writes `error: ...` and picks exit codes. */
import { basename } from "node:path";
import { Command, CommanderError } from "commander";
import { KadaluError, AlreadyReported, UsageError } from "../core/errors.js";
import { EXIT_RUNTIME, EXIT_USAGE } from "../core/exit-codes.js";
import { PLUGIN_VERSION } from "../core/version.js";
import { completionCommand } from "./commands/completion.js";
import { doctorCommand } from "./commands/doctor.js";
import { supportBundleCommand } from "./commands/support-bundle.js";
import { healinfoCommand } from "./commands/healinfo.js";
import { storageDevicesCommand } from "./commands/storage-devices.js";
import { topCommand } from "./commands/top.js";
import { installCommand } from "./commands/install.js";
import { logsCommand } from "./commands/logs.js";
import { optionResetCommand, optionSetCommand } from "./commands/option-set.js";
import { removeArchivedPvCommand } from "./commands/remove-archived-pv.js";
import { storageAddCommand } from "./commands/storage-add.js";
import { storageExpandCommand } from "./commands/storage-expand.js";
import { storageReplaceCommand } from "./commands/storage-replace.js";
import { storageListCommand } from "./commands/storage-list.js";
import { snapshotListCommand } from "./commands/snapshot-list.js";
import { storageRemoveCommand } from "./commands/storage-remove.js";
import { uninstallCommand } from "./commands/uninstall.js";
import { CLIENT_VERSION_LINE, versionCommand } from "./commands/version.js";
import { complete } from "./complete.js";
import { checkArgv, checkInput } from "./checked-input.js";
import type { Deps } from "./deps.js";
import { addGlobalFlags, normalizeDryRun } from "./flags.js";
import type { IOStreams } from "./io.js";

/** `kubectl kadalu` when run as a kubectl plugin (kubectl-kadalu on PATH), as kubectl's own plugins say it. */
export function displayName(argv0: string | undefined): string {
  const base = basename(argv0 ?? "kubectl-kadalu").replace(/\.(c|m)?js$/, "");
  return base.startsWith("kubectl-") ? `kubectl ${base.slice("kubectl-".length)}` : "kubectl kadalu";
}

export function buildProgram(deps: Deps, name: string): Command {
  const program = new Command(name)
    .description("Kadalu storage for Kubernetes: install the operator and CSI driver, add and inspect storage pools")
    .usage("[command] [options]")
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  addGlobalFlags(program);
  // Handled by main() before parsing: as an option of the root only, never of a command (upstream's `install --version X`).
  program.option("--version", "print the plugin's version and exit");
  program.hook("preAction", (_root, action) => checkInput(action));
  for (const command of [
    installCommand(deps),
    storageAddCommand(deps),
    storageExpandCommand(deps),
    storageReplaceCommand(deps),
    storageListCommand(deps),
    storageRemoveCommand(deps),
    snapshotListCommand(deps),
    storageDevicesCommand(deps),
    optionSetCommand(deps),
    optionResetCommand(deps),
    removeArchivedPvCommand(deps),
    healinfoCommand(deps),
    topCommand(deps),
    doctorCommand(deps),
    supportBundleCommand(deps),
    logsCommand(deps),
    versionCommand(deps),
    uninstallCommand(deps),
    completionCommand(deps),
  ])
    program.addCommand(command);
  const route = (command: Command): void => {
    command
      // Commander wraps a description only where 40 columns remain beside the flags; ours are wide, so 20.
      .configureHelp({ showGlobalOptions: true, minWidthToWrap: 20 })
      .exitOverride()
      .configureOutput({
        writeOut: (text) => deps.io.out.write(text),
        writeErr: (text) => deps.io.err.write(text),
        getOutHelpWidth: () => deps.io.columns ?? 80,
        getErrHelpWidth: () => deps.io.columns ?? 80,
        // Commander's own usage errors go through the funnel below, with a hint.
        outputError: () => undefined,
      });
    command.commands.forEach(route);
  };
  route(program);
  return program;
}

/**
 * `help NAME` for a command that does not exist: commander would print the root help and fail with
 * "(outputHelp)"; parsed as the command itself, it is the usual unknown-command error with its suggestion.
 */
function helpTopicArgs(args: string[], program: Command): string[] {
  const topic = args[0] === "help" ? args[1] : undefined;
  if (topic === undefined || topic.startsWith("-") || program.commands.some((c) => c.name() === topic || c.aliases().includes(topic))) return args;
  return [topic];
}

/** `--version` before any command asks the plugin's version; after one it is not that command's option. */
export function versionAsked(args: string[], program: Command): boolean {
  const at = args.indexOf("--version");
  if (at < 0) return false;
  const command = args.findIndex((arg) => program.commands.some((c) => c.name() === arg));
  if (command < 0 || at < command) return true;
  const name = args[command];
  const install =
    name === "install" ? ` (install applies this plugin's own version, ${PLUGIN_VERSION}; another version comes with another plugin release)` : "";
  throw new UsageError(`--version is not an option of '${program.name()} ${name}'; the plugin's version is printed by: ${program.name()} --version${install}`);
}

function commandPath(argv: string[], program: Command): string {
  const sub = program.commands.find((command) => argv.includes(command.name()));
  return sub ? `${program.name()} ${sub.name()}` : program.name();
}

/**
 * Control and invisible format characters from echoed input are shown escaped (\n, \x1b, \u202e): an error
 * stays one line, inert, and reads as what was typed.
 */
export function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    const code = c.codePointAt(0)!;
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : code <= 0xffff
        ? `\\u${code.toString(16).padStart(4, "0")}`
        : `\\u{${code.toString(16)}}`;
  });
}

/** Writes the one `error:` line (with a stack only under --verbose) and returns the exit code. */
export function report(error: unknown, io: IOStreams, verbose: boolean, helpCommand: string): number {
  if (error instanceof AlreadyReported) return error.exitCode;
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0;
    const message = oneLine(error.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " "));
    io.err.write(`${io.color.red("error:")} ${message} (see '${helpCommand} --help')\n`);
    return EXIT_USAGE;
  }
  if (error instanceof KadaluError) {
    // Usage errors echo what was typed: one line. Cluster errors may carry a multi-line diagnosis of ours.
    io.err.write(`${io.color.red("error:")} ${error.exitCode === EXIT_USAGE ? oneLine(error.message) : error.message}\n`);
    if (error.hint) io.err.write(`${error.hint}\n`);
    if (verbose && error.stack) io.err.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err.write(`${io.color.red("error:")} ${oneLine(message)}${verbose ? "" : " (run with --verbose for details)"}\n`);
  if (verbose && error instanceof Error && error.stack) io.err.write(`${error.stack}\n`);
  return EXIT_RUNTIME;
}

/** Runs the CLI on `args` (without node and script) and returns the exit code; never calls process.exit. */
export async function main(args: string[], deps: Deps, name = "kubectl kadalu"): Promise<number> {
  const program = buildProgram(deps, name);
  const verbose = args.includes("--verbose");
  // Completion words are not parsed as options: they are what the user is still typing.
  if (args[0] === "__complete") {
    deps.io.out.write(await complete(program, args.length > 1 ? args.slice(1) : [""], deps));
    return 0;
  }
  // Bare `kubectl kadalu` asks what it can do: help on stdout, success (as kubectl itself).
  if (args.length === 0) {
    deps.io.out.write(program.helpInformation());
    return 0;
  }
  if (args.includes("--kubectl-cmd") || args.some((arg) => arg.startsWith("--kubectl-cmd="))) {
    deps.io.err.write("note: --kubectl-cmd is ignored: kubectl-kadalu talks to the API server directly\n");
  }
  try {
    if (versionAsked(args, program)) {
      deps.io.out.write(CLIENT_VERSION_LINE);
      return 0;
    }
    checkArgv(args);
    await program.parseAsync(normalizeDryRun(helpTopicArgs(args, program)), { from: "user" });
    return 0;
  } catch (error) {
    return report(error, deps.io, verbose, commandPath(args, program));
  }
}
