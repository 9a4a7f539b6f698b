/**
 * `-o, --output` is one flag on every command that prints data: the same spelling, the formats listed in one
 * order, and the same refusal of a format the command does not print (exit 2, one line, nothing sent).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../../harness/helpers/cli.js";
import { useCountingServer } from "../../../harness/helpers/counting-server.js";

const { kubeconfig: counted, connections } = useCountingServer();

const COMMANDS: [args: string[], formats: string][] = [
  [["storage-list"], "table, wide, json, yaml"],
  [["doctor"], "table, json, yaml"],
  [["top"], "table, json, yaml"],
  [["storage-add", "pool1", "--path", "kube1:/d"], "json, yaml"],
  [["install"], "json, yaml"],
  [["version"], "json, yaml"],
  [["healinfo"], "json, yaml"],
  [["option-set", "pool1", "performance.quick-read", "on"], "json, yaml"],
  [["option-reset", "pool1", "--all"], "json, yaml"],
  [["remove-archived-pv", "pool1"], "json, yaml"],
];

describe("-o", () => {
  it.each(COMMANDS)("%j refuses a format it does not print, naming the ones it does", async (args, formats) => {
    const before = connections();
    const result = await runCli([...args, "-o", "xml", "--kubeconfig", counted()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are ${formats}. (see 'kubectl kadalu ${args[0]} --help')\n`,
    );
    expect(result.stdout).toBe("");
    expect(connections() - before, "connections made").toBe(0);
  });

  it.each(COMMANDS)("%j lists its formats in help", async (args, formats) => {
    const help = await runCli([args[0]!, "--help"]);
    expect(help.code).toBe(0);
    const line = help.stdout.replace(/\n\s+/g, " ").match(/-o, --output <format>\s+(.*?)\(choices: ([^)]*)\)/);
    expect(line?.[2]).toBe(
      formats
        .split(", ")
        .map((format) => `"${format}"`)
        .join(", "),
    );
  });
});
