/**
 * Ctrl-C while `storage-add --wait` follows the new pool: the pool stays, the CLI exits 130 saying so,
 * and the two commands it gives (follow, remove) run as printed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { answerPrompt, NPM_BUNDLE } from "../../../harness/terminal/cli.js";
import { KEY, openTerminal } from "../../../harness/terminal/pty.js";

const API = "kadalu-operator.storage/v1alpha1";
let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster({ operator: true });
});
afterEach(async () => {
  await cluster.stop();
});

/** An advised `kubectl kadalu ...` command as the words kubectl would hand the plugin. */
function pluginWords(advice: string): string[] {
  expect(advice).toMatch(/^kubectl kadalu [a-z-]+( [\w./=-]+)*$/);
  return advice.split(" ").slice(2);
}

describe("Ctrl-C during storage-add --wait", () => {
  it.each([
    ["kadalu", []],
    ["storage", ["-n", "storage"]],
  ] as const)("in namespace %s: exit 130, the pool stays, and the advice runs as printed", async (namespace, nsFlag) => {
    if (namespace !== "kadalu") {
      cluster.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
      cluster.server.seed({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "operator", namespace }, spec: {} });
    }
    const kc = ["--kubeconfig", cluster.kubeconfig];
    const terminal = openTerminal(NPM_BUNDLE.command, [
      ...NPM_BUNDLE.args,
      "storage-add",
      "pool2",
      "--path",
      "kube1:/data/pool2",
      "--yes",
      "--wait",
      ...nsFlag,
      ...kc,
    ]);
    let screen: string;
    try {
      await terminal.waitFor('waiting for the operator to report on pool "pool2"');
      terminal.type(KEY.ctrlC);
      expect((await terminal.ended()).code).toBe(130);
      screen = terminal.text();
    } finally {
      await terminal.close();
    }
    expect(cluster.server.get(API, "KadaluStorage", namespace, "pool2")).toBeDefined();
    const last = screen.trimEnd().split("\n").pop()!;
    const advice = last.match(
      /^interrupted: storage pool "pool2" was created and the operator goes on setting it up; follow it with: (kubectl kadalu [^;]+); remove it with: (kubectl kadalu [^;]+)$/,
    );
    expect(advice, screen).not.toBeNull();
    const [, follow, remove] = advice!;

    const following = openTerminal(NPM_BUNDLE.command, [...NPM_BUNDLE.args, ...pluginWords(follow!), ...kc]);
    try {
      await following.waitFor(/^pool2 +Replica1/m);
      following.type(KEY.ctrlC);
      expect((await following.ended()).code).toBe(0);
    } finally {
      await following.close();
    }

    const removed = await answerPrompt(NPM_BUNDLE, [...pluginWords(remove!), ...kc], 'Remove storage pool "pool2"?', "y");
    expect(removed.exit.code, removed.screen).toBe(0);
    expect(cluster.server.get(API, "KadaluStorage", namespace, "pool2")).toBeUndefined();
  });

  it("after y at the prompt (the terminal back from the prompt's raw mode): exit 130, the pool stays", async () => {
    const terminal = openTerminal(NPM_BUNDLE.command, [
      ...NPM_BUNDLE.args,
      "storage-add",
      "pool2",
      "--path",
      "kube1:/data/pool2",
      "--wait",
      "--kubeconfig",
      cluster.kubeconfig,
    ]);
    try {
      await terminal.waitFor("(y/N)");
      terminal.type(`y${KEY.enter}`);
      await terminal.waitFor("waiting for the operator to report");
      terminal.type(KEY.ctrlC);
      expect((await terminal.ended()).code).toBe(130);
      expect(terminal.text().trimEnd().split("\n").pop()).toMatch(/^interrupted: storage pool "pool2" was created/);
    } finally {
      await terminal.close();
    }
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool2")).toBeDefined();
  });
});
