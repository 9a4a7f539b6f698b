/**
 * kadalu-csi and its in-pod tools (`archived`, `proc-sample`) read their flags with Node's util.parseArgs:
 * a bad flag ends the program as bad input ends the CLI, with one `error:` line naming it and exit 2.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runProgram } from "../../../harness/helpers/cli.js";

const BIN = fileURLToPath(new URL("../../../bin/kadalu-csi", import.meta.url));
const FLAGS =
  "--endpoint, --node-id, --role, --info-dir, --mount-root, --pool-dir, --pool-root, --kubeconfig, --kubelet-dir, --stat-db-hold-ms, --gluster-log-max-bytes, --quota-crawl-rate, --quota-secret-dir, --quota-ssh-port, --metrics-port";

const CASES: [args: string[], error: string][] = [
  [["--endpoint", "unix:///tmp/x.sock", "--nodeid", "n1"], `unknown flag --nodeid; the flags are ${FLAGS}`],
  [["--endpoint"], "--endpoint needs a value"],
  [["--endpoint", "--role", "provisioner"], '--endpoint needs a value (one starting with "-" is written --endpoint=-VALUE)'],
  [["provisioner"], 'unexpected argument "provisioner": every argument is a --flag'],
  [["--endpoint=unix:///tmp/x.sock", "--role=controller"], '--role must be provisioner or nodeplugin, not "controller"'],
  [["--endpoint", "unix:///tmp/x.sock", "--pool-dir", "pool1=relative"], '--pool-dir "pool1=relative" must be POOL=/absolute/dir'],
  [["--endpoint", "unix:///tmp/x.sock", "--metrics-port", "http"], '--metrics-port must be a TCP port (0: no metrics), not "http"'],
  [["archived", "--pool", "pool1"], "archived needs --pool NAME and --root DIR"],
  [["archived", "--pool", "pool1", "--root", "/mnt/pool1", "--remove=yes"], "--remove takes no value"],
  [["archived", "--pool", "pool1", "--root", "/mnt/pool1", "--pvc", "pvc-1"], '--pvc "pvc-1" is not an archived PV'],
  [["archived", "--pool", "pool1", "--root", "/mnt/pool1", "--force"], "unknown flag --force; the flags are --pool, --root, --pvc, --remove"],
  [["proc-sample", "--interval", "0"], "--interval must be a number of seconds between 0 and 60"],
  [["proc-sample", "2"], 'unexpected argument "2": every argument is a --flag'],
];

describe("kadalu-csi refuses bad flags", () => {
  it.each(CASES)("%j", async (args, error) => {
    const result = await runProgram(process.execPath, [BIN, ...args]);
    expect(result.stderr).toBe(`error: ${error}\n`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
  });

  it("takes a flag's value attached or apart, and repeats --pool-dir", async () => {
    const { parseArgs } = await import("../../../csi/main.js");
    const options = parseArgs(
      ["--endpoint=unix://tmp/x.sock", "--role", "provisioner", "--pool-dir", "a=/a", "--pool-dir=b=/b", "--node-id", "n1", "--node-id", "n2"],
      {},
    );
    expect(options.endpoint).toBe("unix:///tmp/x.sock");
    expect(options.role).toBe("provisioner");
    expect([...options.poolDirs]).toEqual([
      ["a", "/a"],
      ["b", "/b"],
    ]);
    expect(options.nodeId).toBe("n2");
  });
});
