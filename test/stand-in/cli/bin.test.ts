/** The built `bin/kubectl-kadalu` as users run it: stdout, stderr, exit codes, colours. */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, runBin, runProgram } from "../../../harness/helpers/cli.js";
import { startCluster } from "../../../harness/helpers/cluster.js";
import { captureIO } from "../../../harness/helpers/io.js";
import { main } from "../../../src/cli/main.js";

/** Help as main() writes it for a terminal `columns` wide. */
async function runInProcess(args: string[], columns: number): Promise<string> {
  const io = { ...captureIO(), columns };
  const code = await main(args, { io, env: {}, connect: () => Promise.reject(new Error("no cluster in a help test")), confirm: async () => false });
  expect(code).toBe(0);
  return io.stdout();
}

const replica3 = ["storage-add", "pool1", "--type", "Replica3", "--device", "n1:/dev/sdb", "--device", "n2:/dev/sdb", "--device", "n3:/dev/sdb", "--dry-run"];

describe("kubectl-kadalu binary", () => {
  it("prints the object as YAML on stdout and the dry-run note on stderr", async () => {
    const result = await runBin(replica3);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "apiVersion: kadalu-operator.storage/v1alpha1",
        "kind: KadaluStorage",
        "metadata:",
        "  name: pool1",
        "  namespace: kadalu",
        "spec:",
        "  type: Replica3",
        "  storage:",
        "    - node: n1",
        "      device: /dev/sdb",
        "    - node: n2",
        "      device: /dev/sdb",
        "    - node: n3",
        "      device: /dev/sdb",
        "",
      ].join("\n"),
    );
    expect(result.stderr).toBe("dry run: nothing was sent to the cluster\n");
  });

  it("speaks as `kubectl kadalu` in help", async () => {
    const result = await runBin(["storage-add", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: kubectl kadalu storage-add \[options\] <pool> \[layout\.\.\.\]/);
    expect(result.stdout).toContain("--kubeconfig <file>");
    expect(result.stderr).toBe("");
  });

  it("ends quietly when the reader of its output has stopped reading (`| head`)", () => {
    // `true` exits at once: the CLI writes into a pipe nobody reads.
    const result = spawnSync("bash", ["-c", `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} storage-add --help | true`], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("prints help on stdout with exit 0 when run without arguments, as kubectl does", async () => {
    const result = await runBin([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: kubectl kadalu \[command\] \[options\]\n/);
    expect(result.stdout).toContain("\n  storage-add ");
    expect(result.stdout).toContain("--version");
    expect(result.stderr).toBe("");
  });

  it("--version prints the version command's client line; after a command it is refused, never ignored", async () => {
    const result = await runBin(["--version"]);
    expect(result.stdout).toMatch(/^kubectl-kadalu plugin: \d+\.\d+\.\d+\S*\n$/);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect((await runBin(["--kubeconfig", "/nonexistent", "--version"])).stdout).toBe((await runBin(["version", "--kubeconfig", "/nonexistent"])).stdout);
    // Upstream's `install --version X` must not install silently whatever this plugin carries.
    const install = await runBin(["install", "--version", "1.2.0"]);
    expect(install.stderr).toMatch(
      /^error: --version is not an option of 'kubectl kadalu install'; the plugin's version is printed by: kubectl kadalu --version \(install applies this plugin's own version, \S+; another version comes with another plugin release\)\n$/,
    );
    expect(install.code).toBe(2);
    expect(install.stdout).toBe("");
  });

  it("reports bad input in one line, exit 2, no stack trace", async () => {
    const result = await runBin(["storage-add", "pool1", "--type", "Replica3", "--path", "n1:/d", "--dry-run"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: Replica3 takes storage units in groups of 3, got 1; give a multiple of 3\n");
    expect(result.stdout).toBe("");
  });

  it("adds the stack trace only with --verbose", async () => {
    const result = await runBin(["storage-add", "pool1", "--type", "Replica3", "--path", "n1:/d", "--dry-run", "--verbose"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: Replica3 takes/);
    expect(result.stderr).toContain("UsageError");
    expect(result.stderr.split("\n").length).toBeGreaterThan(3);
  });

  it("points at help for unknown commands and options", async () => {
    const command = await runBin(["storage-ad", "pool1"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^error: unknown command 'storage-ad'/);
    expect(command.stderr).toContain("(Did you mean storage-add?)");
    const option = await runBin(["storage-add", "pool1", "--typo"]);
    expect(option.stderr).toBe("error: unknown option '--typo' (Did you mean --type?) (see 'kubectl kadalu storage-add --help')\n");
    // help for a command that does not exist: the same one line, not the root help and "(outputHelp)".
    const help = await runBin(["help", "storage-lst"]);
    expect(help.stderr).toBe("error: unknown command 'storage-lst' (Did you mean storage-list?) (see 'kubectl kadalu --help')\n");
    expect(help.stdout).toBe("");
    expect(help.code).toBe(2);
    expect((await runBin(["help", "storage-list"])).stdout).toMatch(/^Usage: kubectl kadalu storage-list /);
  });

  it("never colours when stderr is not a terminal, NO_COLOR or not", async () => {
    for (const env of [{}, { NO_COLOR: "1" }, { FORCE_COLOR: "1" }]) {
      const result = await runBin(["storage-add", "Bad", "--path", "n1:/d", "--dry-run"], env);
      expect(result.stderr).not.toContain("\u001b[");
    }
  });

  // `script` (util-linux) gives the CLI a real terminal; without it there is no terminal to test with.
  const script = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!script)("colours the error label on a terminal, and not with NO_COLOR", async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} storage-add Bad --path n1:/d --dry-run`;
    const onTerminal = await runProgram("script", ["-qec", command, "/dev/null"], {});
    expect(onTerminal.stdout).toContain("\u001b[31merror:\u001b[39m pool name");
    const noColor = await runProgram("script", ["-qec", command, "/dev/null"], { NO_COLOR: "1" });
    expect(noColor.stdout).toContain("error: pool name");
    expect(noColor.stdout).not.toContain("\u001b[");
  });

  it("wraps help to the terminal's width, and to 80 columns when stdout is no terminal", async () => {
    // The usage line and the examples are command lines, kept whole to copy: what wraps is everything between.
    const widest = (text: string): number =>
      Math.max(
        ...text
          .split("Examples:")[0]!
          .split(/\r?\n/)
          .slice(1)
          .map((line) => line.length),
      );
    const piped = await runBin(["storage-add", "--help"]);
    expect(widest(piped.stdout)).toBeLessThanOrEqual(80);
    expect(widest(piped.stdout)).toBeGreaterThan(70);
    const narrow = await runInProcess(["storage-add", "--help"], 60);
    expect(widest(narrow)).toBeLessThanOrEqual(60);
    expect(narrow).toContain("--pv-reclaim-policy <policy>");
    const wide = await runInProcess(["storage-add", "--help"], 200);
    expect(widest(wide)).toBeGreaterThan(80);
  });

  it.skipIf(!script)("takes the width from the real terminal", async () => {
    const command = `stty cols 64; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} install --help`;
    const onTerminal = await runProgram("script", ["-qec", command, "/dev/null"], {});
    expect(onTerminal.stdout).toContain("--image-pull-policy");
    expect(
      Math.max(
        ...onTerminal.stdout
          .split("Examples:")[0]!
          .split(/\r?\n/)
          .slice(1)
          .map((line) => line.length),
      ),
    ).toBeLessThanOrEqual(64);
  });

  it("accepts upstream's --kubectl-cmd with a note", async () => {
    const result = await runBin([...replica3, "--kubectl-cmd", "k3s kubectl"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("note: --kubectl-cmd is ignored");
  });

  it("keeps the Kubernetes client and the prompt out of the start-up bundle, and the client's generated APIs out of both", () => {
    const entry = readFileSync(new URL("../../../dist/cli.cjs", import.meta.url), "utf8");
    expect(entry).not.toContain("KubeConfig");
    expect(entry).not.toContain("@inquirer");
    const kube = readFileSync(new URL("../../../dist/kube.cjs", import.meta.url), "utf8");
    expect(kube).toContain("KubeConfig");
    expect(kube).not.toContain("CoreV1Api");
  });

  it("writes a V8 code cache on the first run and gives the same output from it", async () => {
    const cache = mkdtempSync(join(tmpdir(), "kadalu-cache-"));
    try {
      mkdirSync(join(cache, "kubectl-kadalu"));
      writeFileSync(join(cache, "kubectl-kadalu", "cli.cjs-v0.0.0-x64-1-1.v8"), "a cache of an earlier build");
      const first = await runBin(replica3, { XDG_CACHE_HOME: cache });
      const files = readdirSync(join(cache, "kubectl-kadalu"));
      expect(files).toEqual([expect.stringMatching(/^cli\.cjs-v\d+\.\d+\.\d+-\w+-\d+-\d+\.v8$/)]);
      const second = await runBin(replica3, { XDG_CACHE_HOME: cache });
      expect(second).toEqual(first);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("reports cluster failures from the separately loaded client bundle in one line", async () => {
    const cluster = await startCluster({ operator: true });
    try {
      cluster.server.failNext({ verb: "list", resource: "nodes", code: 500 });
      const result = await runBin(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--kubeconfig", cluster.kubeconfig]);
      expect(result.stderr).toBe("error: cannot list nodes: injected failure (500)\n");
      expect(result.code).toBe(1);
      const created = await runBin(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--kubeconfig", cluster.kubeconfig]);
      expect(created.stdout).toContain("kadalustorage.kadalu-operator.storage/pool1 created");
      expect(created.code).toBe(0);
    } finally {
      await cluster.stop();
    }
  });
});
