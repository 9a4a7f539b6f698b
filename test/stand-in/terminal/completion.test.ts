/**
 * `completion bash` and `completion zsh` sourced into the real shells on a terminal, then TAB pressed:
 * pool names, nodes, option keys and values, and `-o` values come from the built CLI and the cluster.
 * A shell that is not installed is skipped, saying so.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { BIN } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo } from "../../../harness/helpers/pools.js";
import { KEY, openTerminal, type Terminal } from "../../../harness/terminal/pty.js";

const API = "kadalu-operator.storage/v1alpha1";

function installed(shell: string): string | undefined {
  return spawnSync(shell, ["-c", "exit 0"]).status === 0 ? undefined : `${shell} is not installed (apt-get install ${shell})`;
}

/** The shell started without its startup files, with the completion script sourced; typed lines are marked done by an echo. */
const SHELLS = {
  bash: { args: ["--norc", "--noprofile", "-i"], listPresses: 2, setup: ["source <(kubectl-kadalu completion bash)"] },
  zsh: { args: ["-f", "-i"], listPresses: 1, setup: ["autoload -Uz compinit && compinit -u", "source <(kubectl-kadalu completion zsh)"] },
} as const;

let cluster: TestCluster;
let path: string;
beforeAll(async () => {
  cluster = await startCluster({ nodes: ["kube1", "kube2", "worker9"] });
  seedKadaluInfo(cluster.server, {
    "alpha.info": JSON.stringify({ volname: "alpha", volume_id: "v", type: "Replica1", bricks: [] }),
    "beta.info": JSON.stringify({ volname: "beta", volume_id: "v", type: "Replica3", bricks: [] }),
  });
  cluster.server.seed({
    apiVersion: API,
    kind: "KadaluStorage",
    metadata: { name: "alpha", namespace: "kadalu" },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }], options: [{ key: "performance.io-cache", value: "on" }] },
  });
  // kubectl-kadalu on PATH, as npm installs it.
  const bin = join(cluster.dir, "bin");
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, "kubectl-kadalu"));
  path = `${bin}:${process.env.PATH}`;
});
afterAll(async () => {
  await cluster.stop();
});

describe.each(Object.entries(SHELLS))("%s completion on a terminal", (shell, how) => {
  const skip = installed(shell);
  if (skip) console.log(`${shell} completion tests skipped: ${skip}`);
  let terminal: Terminal;
  let marks = 0;
  /** Types a line and waits until the shell has run it. */
  const run = async (line: string): Promise<void> => {
    marks += 1;
    const since = terminal.written();
    terminal.type(`${line}; echo done-$((${marks} * 7))${KEY.enter}`);
    await terminal.waitFor(new RegExp(`^done-${marks * 7}$`, "m"), { since });
  };
  /** Types `line`, presses TAB (to list: as often as the shell needs), waits for `shown`, then abandons the line. */
  const tab = async (line: string, list: boolean, shown: RegExp): Promise<void> => {
    const since = terminal.written();
    terminal.type(`${line}${KEY.tab.repeat(list ? how.listPresses : 1)}`);
    await terminal.waitFor(shown, { since });
    // Ctrl-U empties the line in both shells' default (emacs) keys.
    terminal.type(KEY.ctrlU);
    await run("true");
  };

  beforeAll(async () => {
    if (skip) return;
    terminal = openTerminal(shell, [...how.args], { env: { PATH: path, KUBECONFIG: cluster.kubeconfig, PS1: "$ ", PROMPT: "$ " } });
    for (const line of how.setup) await run(line);
  });
  afterAll(async () => {
    await terminal?.close();
  });

  it.skipIf(skip)("completes a pool name", async () => {
    await tab("kubectl-kadalu storage-remove al", false, /kubectl-kadalu storage-remove alpha $/m);
  });

  it.skipIf(skip)("lists the pools", async () => {
    await tab("kubectl-kadalu option-set ", true, /alpha[\s\S]*beta/);
  });

  it.skipIf(skip)("completes a node with its colon and no space", async () => {
    await tab("kubectl-kadalu storage-add p3 --path wor", false, /--path worker9:$/m);
  });

  it.skipIf(skip)("completes option keys and their values", async () => {
    await tab("kubectl-kadalu option-set alpha performance.quick", false, /option-set alpha performance\.quick-read $/m);
    await tab("kubectl-kadalu option-set alpha performance.quick-read o", true, /off +on/);
    await tab("kubectl-kadalu option-reset alpha perf", false, /option-reset alpha performance\.io-cache $/m);
  });

  it.skipIf(skip)("completes -o values", async () => {
    await tab("kubectl-kadalu storage-list -o ya", false, /storage-list -o yaml $/m);
  });
});
