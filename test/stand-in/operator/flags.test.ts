/**
 * kadalu-operator reads its flags (for local runs) with Node's util.parseArgs: a bad flag ends it before
 * it connects, with one `error:` line naming the flag and exit 2.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runProgram } from "../../../harness/helpers/cli.js";

const BIN = fileURLToPath(new URL("../../../bin/kadalu-operator", import.meta.url));

const CASES: [args: string[], error: string][] = [
  [["--kube-config", "/tmp/kubeconfig"], "unknown flag --kube-config; the flags are --namespace, --health-port, --metrics-port, --kubeconfig, --context"],
  [["--kubeconfig"], "--kubeconfig needs a value"],
  [["--namespace", "--context", "lab"], '--namespace needs a value (one starting with "-" is written --namespace=-VALUE)'],
  [["kadalu"], 'unexpected argument "kadalu": every argument is a --flag'],
  [["--metrics-port=99999"], '--metrics-port must be a TCP port (0: off), not "99999"'],
];

describe("kadalu-operator refuses bad flags", () => {
  it.each(CASES)("%j", async (args, error) => {
    const result = await runProgram(process.execPath, [BIN, ...args]);
    expect(result.stderr).toBe(`error: ${error}\n`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
  });
});
