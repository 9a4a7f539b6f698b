/** storage-list against the API test server, with pools laid out as upstream lays them. */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { localDirExec } from "../../../harness/apiserver/exec.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, seedServerPod, upstreamQuery, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";
import { parse as parseYaml } from "yaml";
import { encodePvMetadata, pvPrefix } from "../../../src/core/pv-layout.js";
import { StatDb } from "../../../src/statdb/stat-db.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/info/${name}`, import.meta.url), "utf8");
let cluster: TestCluster;
let podRoot: string;
let env: NodeJS.ProcessEnv;
const list = (...args: string[]) => runCli(["storage-list", "--kubeconfig", cluster.kubeconfig, ...args], { env });
const calls = (): string[] => cluster.server.requests.map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}`);

/** A KadaluStorage object as storage-add creates it, with the status the operator would write. */
function seedPool(name: string, status?: Record<string, unknown>, spec: Record<string, unknown> = {}): void {
  cluster.server.seed({
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name, namespace: "kadalu" },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: `/data/${name}` }], ...spec },
  } as never);
  if (status) cluster.server.setStatus("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", name, status);
}

function replica1Info(name: string, node = "kube1"): string {
  return JSON.stringify({
    namespace: "kadalu",
    kadalu_version: "1.2.0",
    volname: name,
    volume_id: `00000000-0000-4000-8000-${String(name.length).padStart(12, "0")}`,
    single_pv_per_pool: false,
    type: "Replica1",
    pvReclaimPolicy: "archive",
    bricks: [
      {
        brick_path: `/bricks/${name}/data/brick`,
        kube_hostname: node,
        node: `server-${name}-0-0.${name}`,
        node_id: "node-0",
        host_brick_path: `/data/${name}`,
        brick_device: "",
        pvc_name: "",
        brick_device_dir: "",
        decommissioned: "",
        brick_index: 0,
      },
    ],
    disperse: { data: 0, redundancy: 0 },
    options: {},
  });
}

beforeEach(async () => {
  cluster = await startCluster();
  podRoot = join(cluster.dir, "provisioner");
  mkdirSync(join(cluster.dir, "tmp"));
  env = { ...process.env, TMPDIR: join(cluster.dir, "tmp") };
  process.env.TMPDIR = env.TMPDIR;
});
afterEach(async () => {
  delete process.env.TMPDIR;
  await cluster.stop();
});

describe("storage-list", () => {
  it("says how to add storage on an empty cluster, exit 0", async () => {
    const result = await list();
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe('No storage pools in namespace "kadalu". Add one with: kubectl kadalu storage-add POOL --path NODE:/DIR\n');
    expect(result.code).toBe(0);
    // Another namespace's advice keeps the namespace.
    expect((await list("-n", "other")).stderr).toBe(
      'No storage pools in namespace "other". Add one with: kubectl kadalu storage-add POOL --path NODE:/DIR -n other\n',
    );
    expect((await list("-o", "json")).stdout).toContain('"pools": []');
  });

  it("lists native and External pools from an upstream kadalu-info, the pool list beside it", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info"), "ext1.info": fixture("ext1.info"), "pool2.info": replica1Info("pool2") });
    cluster.server.clearRequests();
    const result = await list();
    expect(result.stdout).toBe(
      [
        "NAME    TYPE       STATE   STORAGE UNITS                        RECLAIM POLICY   AGE   REASON",
        "ext1    External   -       g1.example.com,g2.example.com:/gv0   delete           -     no KadaluStorage object",
        "pool1   Replica3   -       3                                    delete           -     no KadaluStorage object",
        "pool2   Replica1   -       1                                    archive          -     no KadaluStorage object",
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(0);
    expect(calls().sort()).toEqual(["get configmaps", "list kadalustorages"]);
  });

  it("--status reads every pool's stat.db in one exec and matches upstream's own query", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info"), "pool2.info": replica1Info("pool2"), "ext1.info": fixture("ext1.info") });
    seedProvisioner(cluster.server, podRoot);
    const file = writeUpstreamStatDb(podRoot, "pool1", 100 * GiB, [
      ["pvc-a", GiB],
      ["pvc-b", 2 * GiB],
      ["pvc-c", GiB],
    ]);
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, []);
    writeUpstreamStatDb(podRoot, "ext1", 50 * GiB, [["pvc-x", 5 * GiB]]);
    cluster.server.clearRequests();
    const result = await list("--status");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").map((line) => line.replace(/\s+-\s+no KadaluStorage object$/, ""))).toEqual([
      "NAME    TYPE       STATE   STORAGE UNITS                        RECLAIM POLICY   CAPACITY    PROVISIONED   UTILIZATION   PVS   ARCHIVED   SNAPSHOTS   AGE   REASON",
      "ext1    External   -       g1.example.com,g2.example.com:/gv0   delete           50.0 GiB    5.0 GiB       10.0%         1     0          0",
      "pool1   Replica3   -       3                                    delete           100.0 GiB   4.0 GiB       4.0%          3     0          0",
      "pool2   Replica1   -       1                                    archive          10.0 GiB    0 B           0.0%          0     0          0",
      "",
    ]);
    // The ConfigMap and the pool list go out together; the exec (into the provisioner's known pod) needs both.
    expect(calls().slice(0, 2).sort()).toEqual(["get configmaps", "list kadalustorages"]);
    expect(calls().slice(2)).toEqual(["get pods/exec"]);
    const json = JSON.parse((await list("--status", "--name", "pool1", "-o", "json")).stdout);
    const [size, stats] = upstreamQuery(file).split("\n");
    const [count, sum, min, , max] = stats!.split("|").map(Number);
    expect(json.pools[0].usage).toEqual({
      capacityBytes: Number(size),
      provisionedBytes: sum,
      utilizationPercent: 4,
      pvCount: count,
      minPvBytes: min,
      avgPvBytes: Math.round((4 * GiB) / 3),
      maxPvBytes: max,
      snapshotCount: 0,
      snapshotBytes: 0,
      livePvCount: count,
      archivedPvCount: 0,
      archivedBytes: 0,
      archived: [],
    });
    expect(readdirSync(env.TMPDIR!)).toEqual([]);
  });

  it("costs three requests whatever the number of pools", async () => {
    const entries: Record<string, string> = {};
    for (let i = 0; i < 50; i += 1) {
      entries[`pool${i}.info`] = replica1Info(`pool${i}`);
      writeUpstreamStatDb(podRoot, `pool${i}`, 10 * GiB, [[`pvc-${i}`, GiB]]);
    }
    seedKadaluInfo(cluster.server, entries);
    seedProvisioner(cluster.server, podRoot);
    cluster.server.clearRequests();
    cluster.server.connections = 0;
    const result = await list("--status", "-o", "json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).pools.map((pool: any) => pool.usage.provisionedBytes)).toEqual(Array(50).fill(GiB));
    expect(cluster.server.requests).toHaveLength(3);
    // Two kept-alive connections for the two API calls made side by side, one for the exec WebSocket.
    expect(cluster.server.connections).toBe(3);
    // 50 files written by the independent writer: where Debian's sqlite3 is missing, a WebAssembly one in a process each (~0.5 s).
  }, 120_000);

  it("--name shows the named pool (upstream hid it) and names the existing ones when unknown", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info"), "pool2.info": replica1Info("pool2") });
    expect((await list("--name", "pool2", "--no-headers")).stdout).toBe("pool2   Replica1   -   1   archive   -   no KadaluStorage object\n");
    const unknown = await list("--name", "pool9");
    expect(unknown.stderr).toBe('error: storage pool "pool9" not found in namespace "kadalu"; pools: pool1, pool2\n');
    expect(unknown.code).toBe(1);
  });

  it("--detail adds the volume id, the resource's options and each brick's server pod state", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info") });
    cluster.server.seed({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica3", storage: [], options: [{ key: "performance.quick-read", value: "off" }] },
    });
    seedServerPod(cluster.server, "server-pool1-0-0", "Running", true);
    seedServerPod(cluster.server, "server-pool1-1-0", "Running", false);
    cluster.server.clearRequests();
    const result = await list("--detail");
    expect(result.stdout.split("\n")).toEqual([
      "Name:            pool1",
      "Type:            Replica3",
      "State:           pending",
      "Reason:          the operator has not reconciled this pool yet (is it running? kubectl kadalu doctor)",
      expect.stringMatching(/^Age:             \d+s$/),
      "Volume ID:       4f2c8a52-b4a1-11ee-9c1c-0242ac110002",
      "Reclaim policy:  delete",
      "Options:         performance.quick-read=off",
      "Storage units:",
      "  #   NODE    DEVICE/PATH/PVC   SERVER POD         STATUS",
      "  0   kube1   /dev/vdc          server-pool1-0-0   Running, Ready",
      "  1   kube2   /dev/vdc          server-pool1-1-0   Running, not ready",
      "  2   kube3   /dev/vdc          server-pool1-2-0   Missing, not ready",
      "",
    ]);
    expect(calls().sort()).toEqual(["get configmaps", "list kadalustorages", "list pods"]);
    const yaml = (await list("--detail", "-o", "yaml")).stdout;
    expect(yaml).toContain("podPhase: Missing");
    expect(yaml).toContain('performance.quick-read: "off"');
  });

  it("shows a pool the provisioner has not mounted yet as -, with the reason, keeps the others, exit 0", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info"), "pool2.info": replica1Info("pool2") });
    seedPool("pool1", { state: "ready" });
    seedProvisioner(cluster.server, podRoot);
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [["pvc-a", GiB]]);
    const result = await list("--status");
    expect(result.stdout).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+delete(\s+-){6}\s+\d+s\s+not mounted by the provisioner yet\n/);
    expect(result.stdout).toMatch(/\npool2\s+Replica1\s+-\s+1\s+archive\s+10\.0 GiB\s+1\.0 GiB/);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const json = JSON.parse((await list("pool1", "--status", "-o", "json")).stdout);
    expect(json.pools[0]).toMatchObject({
      state: "ready",
      message: "",
      usage: null,
      usagePending: "not mounted by the provisioner yet (no /mnt/pool1/stat.db in pod kadalu-csi-provisioner-0)",
    });
  });

  it("never prints numbers from a corrupt stat.db", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot);
    const file = writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [["pvc-a", GiB]]);
    const bytes = readFileSync(file);
    bytes.fill(0x41, 4096, 4196); // the b-tree page header of `summary`
    writeFileSync(file, bytes);
    cluster.server.clearRequests();
    const result = await list("--status");
    expect(result.stdout).toMatch(/\npool2\s+Replica1\s+-\s+1\s+archive\s+unavailable/);
    expect(result.stderr).toContain("was torn or corrupt 3 times");
    expect(result.code).toBe(1);
    expect(calls().filter((call) => call.endsWith("exec"))).toHaveLength(3);
  });

  it("fetches again when a copy was torn, and then reports it", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot);
    const file = writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [["pvc-a", GiB]]);
    const good = readFileSync(file);
    const torn = Buffer.from(good);
    torn.fill(0x41, 4096, 4196);
    writeFileSync(file, torn);
    const serve = localDirExec(podRoot);
    let execs = 0;
    cluster.server.onExec("kadalu", "kadalu-csi-provisioner-0", "kadalu-provisioner", async (context) => {
      execs += 1;
      const code = await serve(context);
      writeFileSync(file, good);
      return code;
    });
    const result = await list("--status", "-o", "json");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).pools[0].usage.provisionedBytes).toBe(GiB);
    expect(execs).toBe(2);
  });

  it("rolls back a write caught half way: the copy's hot journal restores what was committed", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot);
    const pvs = Array.from({ length: 300 }, (_, i): [string, number] => [`pvc-${i}-${"x".repeat(60)}`, GiB]);
    const file = writeUpstreamStatDb(podRoot, "pool2", 1000 * GiB, pvs);
    const writer = new Database(file);
    try {
      // A one-page cache makes SQLite spill the open transaction's pages into stat.db itself, the
      // originals saved in stat.db-journal first: what tar copies while the provisioner writes.
      // Read without the journal, that copy is torn (half the rows doubled, an index out of step).
      writer.pragma("cache_size = 1");
      writer.exec("BEGIN");
      writer.exec("UPDATE pv_stats SET size = size * 2");
      expect(readdirSync(join(file, ".."))).toContain("stat.db-journal");
      const result = await list("--status", "-o", "json");
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout).pools[0].usage).toMatchObject({ provisionedBytes: 300 * GiB, pvCount: 300 });
      writer.exec("ROLLBACK");
    } finally {
      writer.close();
    }
  });

  it("names the provisioner pods when none is running", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot, { phase: "Pending" });
    cluster.server.clearRequests();
    const result = await list("--status");
    // The exec into the known pod cannot start: only then are the pods listed, to say which exist.
    expect(calls().slice(2)).toEqual(["get pods/exec", "list pods"]);
    expect(result.stderr).toContain(
      'no running CSI provisioner pod (app.kubernetes.io/name=kadalu-csi-provisioner) in namespace "kadalu"; pods: kadalu-csi-provisioner-0 (Pending)',
    );
    expect(result.code).toBe(1);
  });

  it("falls back to the pod list when the provisioner's first pod is not there, and reads from the one running", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot, { name: "kadalu-csi-provisioner-1" });
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [["pvc-a", GiB]]);
    cluster.server.clearRequests();
    const result = await list("--status", "-o", "json");
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).pools[0].usage.provisionedBytes).toBe(GiB);
    expect(calls().slice(2)).toEqual(["get pods/exec", "list pods", "get pods/exec"]);
  });

  it("lists the good pools when an entry is malformed, naming the pool and key", async () => {
    seedKadaluInfo(cluster.server, {
      "pool1.info": fixture("pool1.info"),
      "bad.info": '{"volname": "bad", "volume_id": "x", "type": "Replica7", "bricks": []}',
    });
    const result = await list();
    expect(result.stdout).toMatch(/^NAME.*\npool1\s+Replica3/);
    expect(result.stderr).toBe('error: pool "bad": type must be one of Replica1, Replica2, Replica3, Disperse, Arbiter, External\n');
    expect(result.code).toBe(1);
  });

  it("reports an API failure in one line", async () => {
    cluster.server.failNext({ verb: "get", resource: "configmaps", code: 500 });
    const result = await list();
    expect(result.stderr).toBe('error: cannot read configmap "kadalu-info" in namespace "kadalu": injected failure (500)\n');
    expect(result.code).toBe(1);
  });

  it("refuses an unknown output format with exit 2", async () => {
    const result = await list("-o", "xml");
    expect(result.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
  });

  it("reads stat.db through the real binary too (one exec, temp files removed)", async () => {
    rmSync(podRoot, { recursive: true, force: true });
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedProvisioner(cluster.server, podRoot);
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [["pvc-a", 3 * GiB]]);
    const { runBin } = await import("../../../harness/helpers/cli.js");
    const result = await runBin(["storage-list", "--status", "-o", "json", "--kubeconfig", cluster.kubeconfig], { TMPDIR: env.TMPDIR });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).pools[0].usage.provisionedBytes).toBe(3 * GiB);
    expect(readdirSync(env.TMPDIR!)).toEqual([]);
  });
});

describe("storage-list tells each pool's state", () => {
  it("shows a pool the operator has not reconciled yet, and why each pool is not ready, in every format", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info") });
    seedPool("pool1", { state: "ready", message: "ready" }, { type: "Replica3" });
    seedPool(
      "pool2",
      { state: "initializing", message: "1/3 brick pods ready", bricks: { ready: 1, total: 3 } },
      {
        type: "Replica3",
        storage: [
          { node: "kube1", path: "/a" },
          { node: "kube2", path: "/a" },
          { node: "kube3", path: "/a" },
        ],
      },
    );
    seedPool("pool3", { state: "blocked", message: "deletion blocked: 2 PersistentVolumes still use the pool (pvc-a, pvc-b); delete their PVCs first" });
    seedPool("pool4");
    const table = await list();
    expect(table.code).toBe(0);
    expect(table.stderr).toBe("");
    expect(table.stdout.replace(/ \d+s /g, " 1s ")).toBe(
      [
        "NAME    TYPE       STATE          STORAGE UNITS   RECLAIM POLICY   AGE   REASON",
        "pool1   Replica3   ready          3               delete           1s    -",
        "pool2   Replica3   initializing   3               delete           1s    1/3 brick pods ready",
        "pool3   Replica1   blocked        1               delete           1s    deletion blocked: 2 PersistentVolumes still use the pool",
        "pool4   Replica1   pending        1               delete           1s    the operator has not reconciled this pool yet",
        "",
      ].join("\n"),
    );
    const wide = await list("-o", "wide");
    expect(wide.stdout.split("\n")[0]).toMatch(/^NAME\s+TYPE\s+STATE\s+STORAGE UNITS\s+RECLAIM POLICY\s+AGE\s+VOLUME ID\s+NODES\s+REASON$/);
    expect(wide.stdout).toMatch(/\npool4\s+Replica1\s+pending\s+1\s+delete\s+\d+s\s+-\s+kube1\s+the operator has not reconciled this pool yet\n/);
    const detail = await list("pool3", "--detail");
    expect(detail.stdout).toContain(
      "State:           blocked\nReason:          deletion blocked: 2 PersistentVolumes still use the pool (pvc-a, pvc-b); delete their PVCs first\n",
    );
    const json = JSON.parse((await list("-o", "json")).stdout);
    expect(json.pools.map((pool: { name: string; state: string; message: string }) => [pool.name, pool.state, pool.message])).toEqual([
      ["pool1", "ready", ""],
      ["pool2", "initializing", "1/3 brick pods ready"],
      ["pool3", "blocked", "deletion blocked: 2 PersistentVolumes still use the pool (pvc-a, pvc-b); delete their PVCs first"],
      ["pool4", "pending", "the operator has not reconciled this pool yet (is it running? kubectl kadalu doctor)"],
    ]);
    expect(json.pools[3]).toMatchObject({ type: "Replica1", storageUnits: [{ index: 0, node: "kube1", path: "/data/pool4", serverPod: "server-pool4-0-0" }] });
    expect(Date.parse(json.pools[3].createdAt)).toBeGreaterThan(Date.now() - 60_000);
    const yaml = (await list("pool2", "-o", "yaml")).stdout;
    expect(yaml).toContain("state: initializing\n");
    expect(yaml).toContain("message: 1/3 brick pods ready\n");
  });

  it("takes the pool as its argument, as --name; refuses two different pools or a bad name with exit 2, sending nothing", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": fixture("pool1.info"), "pool2.info": replica1Info("pool2") });
    const positional = await list("pool2", "--no-headers");
    expect(positional.stdout).toBe("pool2   Replica1   -   1   archive   -   no KadaluStorage object\n");
    expect((await list("pool2", "--name", "pool2", "--no-headers")).stdout).toBe(positional.stdout);
    cluster.server.clearRequests();
    const both = await list("pool1", "--name", "pool2");
    expect(both.stderr).toBe('error: two pools given ("pool1" and "pool2"); name one, as the POOL argument or with --pool\n');
    expect(both.code).toBe(2);
    const bad = await list("../pool1");
    expect(bad.stderr).toMatch(/^error: pool name "\.\.\/pool1" .+\n$/);
    expect(bad.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
    const unknown = await list("pool9");
    expect(unknown.stderr).toBe('error: storage pool "pool9" not found in namespace "kadalu"; pools: pool1, pool2\n');
    expect(unknown.code).toBe(1);
  });

  it("never shows 0 B for a new pool: - and why until the provisioner has measured it, then the real capacity", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedPool("pool2", { state: "ready" });
    seedProvisioner(cluster.server, podRoot);
    // stat.db created, its capacity not recorded yet (the provisioner writes it just after).
    mkdirSync(join(podRoot, "mnt", "pool2"), { recursive: true });
    const fresh = new Database(join(podRoot, "mnt", "pool2", "stat.db"));
    fresh.exec(
      "CREATE TABLE summary (volname VARCHAR PRIMARY KEY, size INTEGER, created_at REAL, updated_at REAL); CREATE TABLE pv_stats (pvname VARCHAR PRIMARY KEY, hash VARCHAR, size INTEGER, created_at REAL, updated_at REAL)",
    );
    fresh.close();
    const early = await list("--status");
    expect(early.stdout).not.toContain("0 B");
    expect(early.stdout).toMatch(/\npool2\s+Replica1\s+ready\s+1\s+archive(\s+-){6}\s+\d+s\s+capacity not measured yet\n/);
    expect(early.code).toBe(0);
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, []);
    const later = await list("--status");
    expect(later.stdout).toMatch(/\npool2\s+Replica1\s+ready\s+1\s+archive\s+10\.0 GiB\s+0 B\s+0\.0%\s+0\s+0\s+0\s+\d+s\s+-\n/);
  });

  it("counts archived PVs apart from live ones and names the PV and claim each was, from the same one exec", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2") });
    seedPool("pool2", { state: "ready" }, { pvReclaimPolicy: "archive" });
    seedProvisioner(cluster.server, podRoot);
    // Archiving renames the PV and its metadata in the original name's hash directories; its row stays.
    writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, [
      ["pvc-live", GiB],
      ["pvc-gone-1", 2 * GiB],
      ["pvc-gone-2", 3 * GiB],
    ]);
    const metadata = (pv: string, file: string, size: number, claim?: { namespace: string; name: string }): void => {
      const dir = join(podRoot, "mnt", "pool2", "info", pvPrefix("subvol", pv));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${file}.json`), encodePvMetadata(size, pvPrefix("subvol", pv), claim));
    };
    metadata("pvc-live", "pvc-live", GiB, { namespace: "shop", name: "data-web-1" });
    // The claim was recorded at create time; pvc-gone-2's create did not name one (upstream's file).
    metadata("pvc-gone-1", "archived-pvc-gone-1", 2 * GiB, { namespace: "shop", name: "data-web-0" });
    metadata("pvc-gone-2", "archived-pvc-gone-2", 3 * GiB);
    cluster.server.clearRequests();
    const result = await list("--status");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\npool2\s+Replica1\s+ready\s+1\s+archive\s+10\.0 GiB\s+6\.0 GiB\s+60\.0%\s+1\s+2\s/);
    expect(calls().filter((call) => call.endsWith("exec"))).toHaveLength(1);
    const detail = await list("pool2", "--detail", "--status");
    expect(detail.stdout).toContain("Usage:           6.0 GiB provisioned of 10.0 GiB (60.0%), 1 PV, 2 archived (5.0 GiB)");
    expect(detail.stdout).toContain(
      [
        "Archived PVs:",
        "  ARCHIVED PV           WAS PV       WAS CLAIM         SIZE",
        "  archived-pvc-gone-1   pvc-gone-1   shop/data-web-0   2.0 GiB",
        "  archived-pvc-gone-2   pvc-gone-2   -                 3.0 GiB",
      ].join("\n"),
    );
    const json = JSON.parse((await list("pool2", "--status", "-o", "json")).stdout);
    expect(json.pools[0].usage).toMatchObject({ pvCount: 3, livePvCount: 1, archivedPvCount: 2, archivedBytes: 5 * GiB });
    expect(json.pools[0].usage.archived).toEqual([
      { name: "archived-pvc-gone-1", pv: "pvc-gone-1", sizeBytes: 2 * GiB, claim: { namespace: "shop", name: "data-web-0" } },
      { name: "archived-pvc-gone-2", pv: "pvc-gone-2", sizeBytes: 3 * GiB },
    ]);
    expect((await list("pool2", "--status", "-o", "yaml")).stdout).toMatch(/claim:\s+namespace: shop\s+name: data-web-0\n/);
  });

  it("counts the snapshots stat.db records, their bytes in provisioned, from the same three requests", async () => {
    seedKadaluInfo(cluster.server, { "pool2.info": replica1Info("pool2"), "pool3.info": replica1Info("pool3") });
    seedPool("pool2", { state: "ready" });
    seedProvisioner(cluster.server, podRoot);
    // pool2 as the provisioner writes it (its own StatDb, snapshot_stats included); pool3 as upstream, without that table.
    mkdirSync(join(podRoot, "mnt", "pool2"), { recursive: true });
    const db = StatDb.open(join(podRoot, "mnt", "pool2", "stat.db"));
    db.upsertSummary("pool2", 10 * GiB);
    db.upsertPv("pvc-a", 2 * GiB);
    db.upsertSnapshot({ snapname: "snap-1", source: "pvc-a", size: 512 * MiB, kind: "full", ready: true });
    db.upsertSnapshot({ snapname: "snap-2", source: "pvc-a", size: 512 * MiB, kind: "full", ready: true });
    db.close();
    writeUpstreamStatDb(podRoot, "pool3", 10 * GiB, [["pvc-b", GiB]]);
    cluster.server.clearRequests();
    const result = await list("--status", "-o", "wide");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(/\sPVS\s+ARCHIVED\s+SNAPSHOTS\s+SNAPSHOT SIZE\s+MIN PV\s/);
    expect(result.stdout).toMatch(
      /\npool2\s+Replica1\s+ready\s+1\s+archive\s+10\.0 GiB\s+3\.0 GiB\s+30\.0%\s+1\s+0\s+2\s+1\.0 GiB\s+2\.0 GiB\s+2\.0 GiB\s+2\.0 GiB\s/,
    );
    expect(result.stdout).toMatch(/\npool3\s+Replica1\s+-\s+1\s+archive\s+10\.0 GiB\s+1\.0 GiB\s+10\.0%\s+1\s+0\s+0\s+0 B\s+1\.0 GiB\s/);
    expect(calls().slice(0, 2).sort()).toEqual(["get configmaps", "list kadalustorages"]);
    expect(calls().slice(2)).toEqual(["get pods/exec"]);
    const detail = await list("pool2", "--detail", "--status");
    expect(detail.stdout).toContain("Usage:           3.0 GiB provisioned of 10.0 GiB (30.0%), 1 PV, 2 snapshots (1.0 GiB)");
    for (const format of ["json", "yaml"]) {
      const out = (await list("pool2", "--status", "-o", format)).stdout;
      const usage = format === "json" ? JSON.parse(out).pools[0].usage : (parseYaml(out) as any).pools[0].usage;
      expect(usage).toMatchObject({ provisionedBytes: 3 * GiB, pvCount: 1, snapshotCount: 2, snapshotBytes: GiB, utilizationPercent: 30 });
    }
  });
});
