/**
 * `storage-list --watch` against the API test server: the real CLI binary lists and watches the pools (no
 * exec, no other request), prints a line per visible change off a terminal and redraws a table with a
 * utilisation bar on one (a real pseudo-terminal from script(1)), and ends with exit 0 on Ctrl-C.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../../src/kube/client.js";
import { utilisationBar } from "../../../src/cli/pools/watch-view.js";
import { BIN, runBin } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const GiB = 1024 ** 3;
const API = "kadalu-operator.storage/v1alpha1";
let cluster: TestCluster;

function pool(name: string, state: string, provisioned: number, pvCount: number): any {
  return {
    apiVersion: API,
    kind: "KadaluStorage",
    metadata: { name, namespace: "kadalu" },
    spec: { type: "Replica3", storage: [1, 2, 3].map((n) => ({ node: `kube${n}`, path: `/data/${name}` })) },
    status: {
      state,
      bricks: { ready: 3, total: 3 },
      usage: { capacityBytes: 10 * GiB, provisionedBytes: provisioned, pvCount, updatedAt: "2026-12-02T00:00:00Z" },
    },
  };
}

function watchProcess(command: string, args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const child = spawn(command, args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfig, NO_COLOR: "1", TERM: "xterm" } });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return { child, output: () => out, exit: new Promise((resolve) => child.on("close", resolve)) };
}

async function until(what: string, output: () => string, pattern: RegExp): Promise<void> {
  const start = Date.now();
  while (!pattern.test(output())) {
    if (Date.now() - start > 15_000) throw new Error(`no ${what} in:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeEach(async () => {
  cluster = await startCluster();
  seedPool(pool("pool1", "ready", 3 * GiB, 3));
});

/** Seeded objects lose their status (a subresource): it is set after. */
function seedPool(object: any): void {
  cluster.server.seed(object);
  cluster.server.setStatus(API, "KadaluStorage", "kadalu", object.metadata.name, object.status);
}
afterEach(async () => {
  await cluster.stop();
});

describe("storage-list --watch", () => {
  it("off a terminal: a line per pool, then one per visible change, a line when one goes; one list and one watch, no exec", async () => {
    const before = cluster.server.requests.length;
    const watch = watchProcess(process.execPath, [BIN, "storage-list", "--watch"]);
    await until("the first line", watch.output, /pool1 ready bricks 3\/3 provisioned 3\.0 GiB of 10\.0 GiB \(30%\) pvs 3\n/);
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", pool("pool1", "ready", 8.5 * GiB, 5).status);
    await until("the change", watch.output, /pool1 ready bricks 3\/3 provisioned 8\.5 GiB of 10\.0 GiB \(85%\) pvs 5\n/);
    // The same visible status again (only updatedAt moves): no line.
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      ...pool("pool1", "ready", 8.5 * GiB, 5).status,
      usage: { ...pool("pool1", "ready", 8.5 * GiB, 5).status.usage, updatedAt: "2026-12-02T01:00:00Z" },
    });
    // Before the operator writes a status the pool is pending, as storage-list calls it.
    const { status: _none, ...unreconciled } = pool("pool2", "initializing", 0, 0);
    seedPool(unreconciled);
    await until("the new pool", watch.output, /pool2 pending bricks - provisioned - of - pvs -\n/);
    const kube = await connect({ kubeconfig: cluster.kubeconfig });
    await kube.deleteObject({ apiVersion: API, kind: "KadaluStorage", metadata: { name: "pool2", namespace: "kadalu" } });
    await until("the deletion", watch.output, /pool2 deleted\n/);
    watch.child.kill("SIGINT");
    expect(await watch.exit).toBe(0);
    const lines = watch.output().trim().split("\n");
    expect(lines.filter((line) => line.includes(" pool1 "))).toHaveLength(2);
    expect(
      lines.every((line) => /^\d{4}-\d\d-\d\dT\S+Z pool\d /.test(line)),
      watch.output(),
    ).toBe(true);
    const calls = cluster.server.requests.slice(before).filter((r) => r.resource === "kadalustorages" || r.subresource === "exec");
    expect(calls.filter((r) => r.subresource === "exec")).toEqual([]);
    expect(calls.filter((r) => r.method === "GET").map((r) => r.verb)).toEqual(["list", "watch"]);
  });

  it("on a terminal: the table is redrawn in place, with a utilisation bar per pool", async () => {
    const watch = watchProcess("script", ["-q", "-f", "-e", "-c", `${process.execPath} ${BIN} storage-list --watch`, "/dev/null"]);
    await until("the first frame", watch.output, /pool1\s+Replica3\s+ready\s+3\/3\s+10\.0 GiB\s+3\.0 GiB\s+\[######··············\]  30%\s+3/);
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", pool("pool1", "ready", 9.5 * GiB, 7).status);
    await until("the redrawn frame", watch.output, /\[###################·\]  95%\s+7/);
    expect(watch.output()).toContain("\u001b[H\u001b[2J");
    expect(watch.output()).toMatch(/NAME\s+TYPE\s+STATE\s+BRICKS\s+CAPACITY\s+PROVISIONED\s+UTILIZATION\s+PVS/);
    watch.child.kill("SIGINT");
    await watch.exit;
  });

  it("refuses the flags it cannot honour while watching: one line, exit 2", async () => {
    for (const flag of ["--status", "--detail", "-o"]) {
      const result = await runBin(["storage-list", "--watch", flag, ...(flag === "-o" ? ["json"] : [])], { KUBECONFIG: cluster.kubeconfig });
      expect(result.stderr).toMatch(/^error: --watch shows the pools' status as a table; it takes no -o, --detail or --status/);
      expect(result.code).toBe(2);
    }
  });

  it("utilisationBar", () => {
    expect(utilisationBar(0)).toBe("[····················]   0%");
    expect(utilisationBar(0.5, 10)).toBe("[#####·····]  50%");
    expect(utilisationBar(1.2, 10)).toBe("[##########] 120%");
    expect(utilisationBar(undefined)).toBe("-");
  });
});
