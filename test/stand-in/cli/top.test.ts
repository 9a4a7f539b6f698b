/**
 * `top` on the sandbox: the real CLI execs, over the API test server's WebSocket, the real sampling script in
 * each server pod (run here over the real /proc, seeing the pod's own stand-in glusterfsd) and the real
 * `kadalu-csi proc-sample` in the provisioner (seeing a stand-in FUSE client), and shows their rates. Each
 * pod sees only this test's processes, as its PID namespace would, whatever other Gluster runs here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { BIN, runBin, type CliResult } from "../../../harness/helpers/cli.js";
import { podProcessesExec, standInProcess } from "../../../harness/helpers/pod-processes.js";
import { CSI_IMAGE_PROGRAMS } from "../../../harness/helpers/pools.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";
import { installPool1 } from "../../../harness/sandbox/pool1.js";

let sandbox: Sandbox;
let scratch: string;
const bricks: ChildProcess[] = [];
let client: ChildProcess;
/** A client of a pool this cluster does not have (another cluster's, a stale mount): never shown. */
let foreign: ChildProcess;
const cli = (...args: string[]): Promise<CliResult> => runBin(args, { KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" });
const failing = new Set<string>();

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "kadalu-top-"));
  sandbox = await startSandbox();
  await installPool1(sandbox, cli);
  for (const index of [0, 1, 2]) {
    const pod = `server-pool1-${index}-0`;
    bricks.push(
      standInProcess(
        scratch,
        "glusterfsd",
        ["-s", `${pod}.pool1`, "--volfile-id", `pool1.${pod}.pool1.data-pool1`, "--brick-name", `/bricks/pool1/data/brick`, "-l", "-"],
        pod,
      ),
    );
    sandbox.server.onExec("kadalu", pod, "server", async (context) => (failing.has(pod) ? 1 : podProcessesExec(() => [bricks[index]!.pid!])(context)));
  }
  client = standInProcess(
    scratch,
    "glusterfs",
    ["--process-name", "fuse", "--volfile-server=server-pool1-0-0.pool1", "--volfile-id=/pool1", "/mnt/pool1"],
    "client",
  );
  foreign = standInProcess(scratch, "glusterfs", ["--process-name", "fuse", "--volfile-server=elsewhere", "--volfile-id=/pool7", "/mnt/pool7"], "foreign");
  sandbox.server.onExec(
    "kadalu",
    "kadalu-csi-provisioner-0",
    "kadalu-provisioner",
    podProcessesExec(() => [client.pid!, foreign.pid!], CSI_IMAGE_PROGRAMS),
  );
}, 120_000);

afterAll(async () => {
  for (const child of [...bricks, client, foreign]) child?.kill();
  await sandbox?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("top on the sandbox", () => {
  it("-o json: each brick process of its pod and the provisioner's FUSE client, with CPU, memory and write rates; one pod list and one exec per pod", async () => {
    const before = sandbox.server.requests.length;
    const result = await cli("top", "-n", "kadalu", "-o", "json", "--interval", "500ms");
    expect(result.code, result.stderr).toBe(0);
    const requests = sandbox.server.requests.slice(before).filter((r) => r.verb !== "watch" && !r.path.includes("/status"));
    const own = requests.filter((r) => r.subresource === "exec" || (r.resource === "pods" && r.verb === "list"));
    expect(
      own
        .filter((r) => r.subresource === "exec")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["kadalu-csi-provisioner-0", "server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"]);
    expect(own.filter((r) => r.verb === "list")).toHaveLength(1);
    const { processes, pools, failures } = JSON.parse(result.stdout);
    expect(failures).toEqual([]);
    const brickRows = processes.filter((row: any) => row.program === "glusterfsd");
    expect(brickRows.map((row: any) => [row.pod, row.pid]).sort()).toEqual([0, 1, 2].map((index) => [`server-pool1-${index}-0`, bricks[index]!.pid]));
    for (const row of brickRows) {
      expect(row).toMatchObject({ pool: "pool1", role: "brick /bricks/pool1/data/brick" });
      expect(row.cpuPercent).toBeGreaterThan(0);
      expect(row.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(row.writeBytesPerSecond).toBeGreaterThan(1024 * 1024);
      expect(row.writeOpsPerSecond).toBeGreaterThan(10);
    }
    const clientRow = processes.find((row: any) => row.pid === client.pid);
    expect(clientRow).toMatchObject({ pool: "pool1", pod: "kadalu-csi-provisioner-0", program: "glusterfs", role: "client /mnt/pool1" });
    expect(processes.map((row: any) => row.pid)).not.toContain(foreign.pid);
    expect(pools).toHaveLength(1);
    expect(pools[0]).toMatchObject({ pool: "pool1", processes: 4 });
    expect(pools[0].writeBytesPerSecond).toBeCloseTo(
      processes.filter((row: any) => row.pool === "pool1").reduce((sum: number, row: any) => sum + row.writeBytesPerSecond, 0),
      3,
    );
  });

  it("the table: pools first, then processes sorted by the chosen column", async () => {
    const result = await cli("top", "-n", "kadalu", "--sort", "mem", "--interval", "300ms");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^POOL\s+PROCESSES\s+CPU%\s+RSS\s+READ\/S\s+WRITE\/S\s+R-OPS\/S\s+W-OPS\/S$/);
    expect(lines[1]).toMatch(/^pool1\s+4\s+[\d.]+\s+[\d.]+ MiB\s+/);
    expect(lines[3]).toMatch(/^POOL\s+POD\s+PID\s+PROCESS\s+CPU%\s+RSS\s+READ\/S\s+WRITE\/S\s+R-OPS\/S\s+W-OPS\/S$/);
    const rss = lines.slice(4).map((line) => Number(/ ([\d.]+) MiB /.exec(line)![1]));
    expect(rss).toHaveLength(4);
    expect([...rss].sort((a, b) => b - a)).toEqual(rss);
  });

  it("a pod that cannot be sampled is a warning; the others are shown; --pool filters", async () => {
    failing.add("server-pool1-1-0");
    try {
      const result = await cli("top", "-n", "kadalu", "-o", "json", "--interval", "300ms");
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/^warning: server-pool1-1-0 not sampled: exit 1/m);
      expect(JSON.parse(result.stdout).processes.map((row: any) => row.pod)).not.toContain("server-pool1-1-0");
    } finally {
      failing.delete("server-pool1-1-0");
    }
    // A pool that is not there is an error, as every other command says it, not an empty table.
    const other = await cli("top", "-n", "kadalu", "--pool", "pool9", "-o", "json", "--interval", "300ms");
    expect(other.stdout).toBe("");
    expect(other.stderr).toMatch(/^error: storage pool "pool9" not found in namespace "kadalu"; pools: pool1\n$/);
    expect(other.code).toBe(1);
    // The pool as an argument, and the same document as YAML.
    const yaml = parseYaml((await cli("top", "-n", "kadalu", "pool1", "-o", "yaml", "--interval", "300ms")).stdout);
    expect(yaml.pools.map((pool: { pool: string }) => pool.pool)).toEqual(["pool1"]);
    expect(new Set(yaml.processes.map((row: { pod: string }) => row.pod))).toEqual(
      new Set(["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0", "kadalu-csi-provisioner-0"]),
    );
  });

  it("bad input: one line, exit 2, nothing sent", async () => {
    for (const [args, message] of [
      [["--interval", "5"], /^error: --interval "5" is not a duration/],
      [["--interval", "90s"], /^error: --interval "90s" must be between 200ms and 60s/],
      [["--sort", "disk"], /^error: option '--sort <column>' argument 'disk' is invalid\. Allowed choices are cpu, mem, read, write\./],
      [["--watch", "-o", "json"], /^error: --watch redraws a table; -o json prints one sample/],
      [["--watch", "-o", "yaml"], /^error: --watch redraws a table; -o yaml prints one sample/],
    ] as const) {
      const result = await cli("top", ...args);
      expect(result.stderr, args.join(" ")).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.code).toBe(2);
    }
  });

  it("--watch: a frame per sample until Ctrl-C, then exit 0 (frames follow each other off a terminal)", async () => {
    const child = spawn(process.execPath, [BIN, "top", "-n", "kadalu", "--watch", "--interval", "300ms"], {
      env: { ...process.env, KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
    const start = Date.now();
    while ((out.match(/^kadalu top - /gm) ?? []).length < 2) {
      if (Date.now() - start > 20_000) throw new Error(`no two frames: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGINT");
    expect(await exit).toBe(0);
    expect(out).not.toContain("\u001b[");
    expect(out).toMatch(/kadalu top - \S+, every 0\.3s, sorted by cpu \(Ctrl-C ends\)\n\nPOOL\s+PROCESSES/);
  });
});
