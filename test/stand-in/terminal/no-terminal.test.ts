/**
 * The built CLI without a terminal to ask on: every confirming command refuses (exit 2), shows its
 * preview and the refusal on stderr, and leaves stdout empty: a script reading stdout never receives an
 * object that was not created.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBin } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { NPM_BUNDLE } from "../../../harness/terminal/cli.js";
import { changes, PATHS } from "../../../harness/terminal/paths.js";
import { openTerminal } from "../../../harness/terminal/pty.js";

const REFUSAL = "error: refusing to proceed without confirmation: no terminal to ask on; pass --yes to confirm\n";

let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster();
});
afterEach(async () => {
  await cluster.stop();
});

describe.each(Object.entries(PATHS))("%s with no terminal", (_name, path) => {
  it("refuses on stderr, after its preview, with nothing on stdout and nothing changed", async () => {
    await path.setup(cluster);
    cluster.server.clearRequests();
    const result = await runBin([...path.args, "--kubeconfig", cluster.kubeconfig]);
    expect(result.stdout).toBe("");
    expect(result.stderr.endsWith(REFUSAL)).toBe(true);
    if (path.preview) expect(result.stderr.indexOf(path.preview)).toBeGreaterThanOrEqual(0);
    expect(result.code).toBe(2);
    expect(path.changed(cluster)).toBe(false);
    expect(changes(cluster)).toEqual([]);
  });
});

describe("stdin not a terminal, stderr on one", () => {
  it("storage-add < /dev/null > file: the preview and the refusal on the screen, the file empty", async () => {
    await PATHS["storage-add"]!.setup(cluster);
    const out = join(cluster.dir, "stdout");
    const args = [...NPM_BUNDLE.args, ...PATHS["storage-add"]!.args, "--kubeconfig", cluster.kubeconfig];
    const terminal = openTerminal("/bin/sh", ["-c", 'out="$1"; shift; exec "$@" </dev/null >"$out"', "sh", out, NPM_BUNDLE.command, ...args]);
    try {
      const exit = await terminal.ended();
      expect(terminal.text()).toBe(
        `${PATHS["storage-add"]!.preview}metadata:\n  name: pool2\n  namespace: kadalu\nspec:\n  type: Replica1\n  storage:\n    - node: kube1\n      path: /data/pool2\n${REFUSAL}`,
      );
      expect(readFileSync(out, "utf8")).toBe("");
      expect(exit.code).toBe(2);
      expect(changes(cluster)).toEqual([]);
    } finally {
      await terminal.close();
    }
  });
});
