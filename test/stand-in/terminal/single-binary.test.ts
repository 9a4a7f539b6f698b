/**
 * The single binary (`npm run package`, linux-amd64) on a terminal: its prompt (a bundle loaded lazily
 * inside the binary) answered y, n, Enter and Ctrl-C, and Ctrl-C during --wait. Skipped, saying why,
 * where it cannot be built.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { buildSingleBinary, cannotBuildSingleBinary } from "../../../harness/helpers/single-binary.js";
import { answerPrompt, type Answer, type Program } from "../../../harness/terminal/cli.js";
import { KEY, openTerminal } from "../../../harness/terminal/pty.js";

const API = "kadalu-operator.storage/v1alpha1";
const QUESTION = "Create this storage pool?";

const skip = cannotBuildSingleBinary();
if (skip) console.log(`single-binary terminal tests skipped: ${skip}`);

let dir: string;
let binary: Program;
beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "kadalu-sea-"));
  const archive = buildSingleBinary(dir).match(/kubectl-kadalu-v[^/\s]+-linux-amd64\.tar\.gz/)![0];
  const unpacked = join(dir, "unpacked");
  mkdirSync(unpacked);
  execFileSync("tar", ["-xzf", join(dir, archive), "-C", unpacked, "--strip-components=1"]);
  binary = { name: "single binary", command: join(unpacked, "kubectl-kadalu"), args: [] };
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster({ operator: true });
});
afterEach(async () => {
  await cluster?.stop();
});

const add = ["storage-add", "pool2", "--path", "kube1:/data/pool2"];
const created = () => cluster.server.get(API, "KadaluStorage", "kadalu", "pool2") !== undefined;

describe.skipIf(skip)("the single binary on a terminal", () => {
  it.each([
    ["y", 0, true],
    ["n", 0, false],
    ["Enter", 0, false],
    ["Ctrl-C", 130, false],
  ] as const)("storage-add answered %s: exit %i, pool created: %s", async (answer: Answer, code, made) => {
    const { exit, screen } = await answerPrompt(binary, [...add, "--kubeconfig", cluster.kubeconfig], QUESTION, answer);
    expect(screen).not.toContain("error");
    expect(exit.code).toBe(code);
    expect(created()).toBe(made);
  });

  it("Ctrl-C during storage-add --wait: exit 130, the pool stays, the way on is printed", async () => {
    const terminal = openTerminal(binary.command, [...add, "--yes", "--wait", "--kubeconfig", cluster.kubeconfig]);
    try {
      await terminal.waitFor("waiting for the operator to report");
      terminal.type(KEY.ctrlC);
      expect((await terminal.ended()).code).toBe(130);
      expect(terminal.text().trimEnd().split("\n").pop()).toMatch(/^interrupted: storage pool "pool2" was created .* kubectl kadalu storage-remove pool2$/);
    } finally {
      await terminal.close();
    }
    expect(created()).toBe(true);
  });
});
