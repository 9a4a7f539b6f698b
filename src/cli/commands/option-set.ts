/** `option-set NAME KEY VALUE...` and `option-reset NAME (KEY...|--all)`: edit a pool's Gluster options. */
import { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { checkOptionKey, mergeOptions, parseOptionPairs, resetOptions, undocumented } from "../../core/pool/options.js";
import type { KadaluStorage, PoolOption } from "../../core/pool/types.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addYesFlag, type GlobalOptions } from "../flags.js";
import { formatObject, type ObjectFormat } from "../io.js";
import { requirePool } from "../pools/require-pool.js";
import { confirmOrRefuse } from "../prompt.js";
import { renderTable } from "../table.js";
import { counted } from "../../core/words.js";

interface RawOptions extends GlobalOptions {
  dryRun?: boolean;
  force?: boolean;
  all?: boolean;
  yes?: boolean;
  scriptMode?: boolean;
  output?: ObjectFormat;
}

type Edit = { kind: "set"; options: PoolOption[] } | { kind: "reset"; keys: string[] | "all" };

export interface OptionEditOptions {
  global: GlobalOptions;
  name: string;
  edit: Edit;
  dryRun: boolean;
  yes: boolean;
  /** Print the pool (its resulting options) as this instead of the options table. */
  output?: ObjectFormat;
}

function printOptions(options: PoolOption[]): string {
  return options.length === 0
    ? ""
    : renderTable(
        ["Key", "Value"],
        options.map((option) => [option.key, option.value]),
      );
}

export async function run(options: OptionEditOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const pool = await requirePool(kube, options.global.namespace, options.name);
  const current = pool.spec.options ?? [];
  let next: PoolOption[];
  if (options.edit.kind === "set") next = mergeOptions(current, options.edit.options);
  else {
    const reset = resetOptions(current, options.edit.keys);
    if (reset.missing.length > 0) io.err.write(`note: not set on pool "${options.name}": ${reset.missing.join(", ")}\n`);
    next = reset.options;
  }
  const print = (result: KadaluStorage): string => (options.output ? formatObject(result, options.output) : printOptions(result.spec.options ?? []));
  if (options.dryRun) {
    io.out.write(print({ ...pool, spec: { ...pool.spec, options: next } }));
    io.err.write(`dry run: pool "${options.name}" would have ${counted(next.length, "option")}; nothing was sent\n`);
    return;
  }
  if (options.edit.kind === "reset" && options.edit.keys === "all" && current.length > 0) {
    if (
      !(await confirmOrRefuse(
        current.length === 1 ? `Remove the option of pool "${options.name}"?` : `Remove all ${current.length} options of pool "${options.name}"?`,
        { yes: options.yes, io, confirm: deps.confirm },
      ))
    ) {
      io.err.write("cancelled: nothing was changed\n");
      return;
    }
  }
  const result = JSON.stringify(next) !== JSON.stringify(current) ? await kube.setPoolOptions(pool, next) : pool;
  io.out.write(print({ ...result, spec: { ...result.spec, options: next } }));
  io.err.write(`pool "${options.name}" has ${counted(next.length, "option")}; the bricks pick changes up within seconds\n`);
}

export function optionSetCommand(deps: Deps): Command {
  return addOutputFlag(
    new Command("option-set")
      .description("Set Gluster options of a pool (documented: the seven performance.* options, on or off)")
      .argument("<pool>", "the pool")
      .argument("<key-value...>", "KEY VALUE pairs or KEY=VALUE words")
      .option("--dry-run", "print the resulting options without changing the pool")
      .option("--force", "also set options outside the documented set"),
    ["json", "yaml"],
  )
    .addHelpText("after", "\nExamples:\n  kubectl kadalu option-set pool1 performance.quick-read on performance.io-cache on")
    .action(async (name: string, words: string[], _opts: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<RawOptions>();
      const pairs = parseOptionPairs(words);
      const problems = undocumented(pairs);
      if (problems.length > 0 && !raw.force) throw new UsageError(`${problems[0]}; pass --force to set it anyway`);
      if (problems.length > 0) deps.io.err.write(problems.map((problem) => `warning: ${problem}\n`).join(""));
      await run({ global: raw, name, edit: { kind: "set", options: pairs }, dryRun: Boolean(raw.dryRun), yes: true, output: raw.output }, deps);
    });
}

export function optionResetCommand(deps: Deps): Command {
  const command = new Command("option-reset")
    .description("Remove options of a pool (back to the server's defaults)")
    .argument("<pool>", "the pool")
    .argument("[keys...]", "the options to remove")
    .option("--all", "remove every option")
    .option("--dry-run", "print the resulting options without changing the pool");
  addOutputFlag(command, ["json", "yaml"]);
  addYesFlag(command);
  command.addHelpText("after", "\nExamples:\n  kubectl kadalu option-reset pool1 performance.quick-read\n  kubectl kadalu option-reset pool1 --all --yes");
  return command.action(async (name: string, keys: string[], _opts: unknown, cmd: Command) => {
    const raw = cmd.optsWithGlobals<RawOptions>();
    if (raw.all && keys.length > 0) throw new UsageError("give option keys or --all, not both");
    if (!raw.all && keys.length === 0) throw new UsageError("give the option keys to remove, or --all");
    keys.forEach(checkOptionKey);
    await run(
      {
        global: raw,
        name,
        edit: { kind: "reset", keys: raw.all ? "all" : keys },
        dryRun: Boolean(raw.dryRun),
        yes: Boolean(raw.yes || raw.scriptMode),
        output: raw.output,
      },
      deps,
    );
  });
}
