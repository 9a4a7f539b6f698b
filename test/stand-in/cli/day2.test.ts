/** Day-2 commands against the API test server: success, refusal and error paths, dry runs, formats. */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { pvPath } from "../../../src/core/pv-layout.js";
import { xxh64Hex } from "../../../src/core/xxh64.js";
import { StatDb } from "../../../src/statdb/stat-db.js";
import { BIN, runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, seedServerPod, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";

const API = "kadalu-operator.storage/v1alpha1";
let cluster: TestCluster;
const cli = (...args: string[]) => runCli([...args, "--kubeconfig", cluster.kubeconfig]);
const seedPool = (name: string, spec: Record<string, unknown> = {}) =>
  cluster.server.seed({
    apiVersion: API,
    kind: "KadaluStorage",
    metadata: { name, namespace: "kadalu" },
    spec: { type: "Replica3", storage: ["kube1", "kube2", "kube3"].map((node) => ({ node, path: `/data/${name}` })), ...spec },
  });
const pool = (name: string) => cluster.server.get(API, "KadaluStorage", "kadalu", name);

function info(name: string, type = "Replica3"): string {
  const bricks = type === "Replica1" ? 1 : 3;
  return JSON.stringify({
    namespace: "kadalu",
    kadalu_version: "1.2.0",
    volname: name,
    volume_id: "v",
    single_pv_per_pool: false,
    type,
    pvReclaimPolicy: "archive",
    bricks: Array.from({ length: bricks }, (_, i) => ({
      brick_path: `/bricks/${name}/data/brick`,
      kube_hostname: `kube${i + 1}`,
      node: `server-${name}-${i}-0.${name}`,
      node_id: `node-${i}`,
      host_brick_path: "/d",
      brick_device: "",
      pvc_name: "",
      brick_device_dir: "",
      decommissioned: "",
      brick_index: i,
    })),
    disperse: { data: 0, redundancy: 0 },
    options: {},
  });
}

beforeEach(async () => {
  cluster = await startCluster({ operator: true });
});
afterEach(async () => {
  await cluster.stop();
});

describe("storage-remove", () => {
  it("names the existing pools when the pool is unknown", async () => {
    seedPool("pool1");
    const result = await cli("storage-remove", "pool9", "--yes");
    expect(result.stderr).toBe('error: storage pool "pool9" not found in namespace "kadalu"; pools: pool1\n');
    expect(result.code).toBe(1);
  });

  it("refuses while PVs use the pool, naming them and what to do, and writes nothing", async () => {
    seedPool("pool1");
    cluster.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-a" },
      spec: { storageClassName: "kadalu.pool1", claimRef: { namespace: "apps", name: "data" } },
    });
    cluster.server.clearRequests();
    const result = await cli("storage-remove", "pool1", "--yes");
    expect(result.stderr).toBe(
      'error: storage pool "pool1" is still used by 1 PersistentVolume: pvc-a (claim apps/data); delete it (kubectl delete pvc -n apps data), then run this again\n',
    );
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    expect(cluster.server.requests.map((r) => `${r.verb} ${r.resource}`)).toEqual(["get kadalustorages", "list persistentvolumes"]);
  });

  it("--dry-run deletes nothing; --yes deletes; --wait follows until it is gone", async () => {
    seedPool("pool1");
    expect((await cli("storage-remove", "pool1", "--dry-run")).stdout).toContain("would be deleted (dry run: nothing was sent)");
    expect(pool("pool1")).toBeDefined();
    expect((await cli("storage-remove", "pool1")).code).toBe(2);
    const removed = await cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "10s");
    expect(removed.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 deleted\n");
    expect(removed.stderr).toContain('storage pool "pool1" removed; its brick data stays on the nodes');
    expect(pool("pool1")).toBeUndefined();
  });

  it("--wait reports an operator that blocks the removal", async () => {
    cluster.server.seed({
      apiVersion: API,
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu", finalizers: ["kadalu-operator.storage/finalizer"] },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
    });
    const done = cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "10s");
    const start = Date.now();
    while (!pool("pool1")?.metadata.deletionTimestamp && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
    // A PV made after the command's own check: the blocked verdict is fresh, and believed.
    cluster.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-x" },
      spec: { storageClassName: "kadalu.pool1", capacity: { storage: "1Gi" } },
    });
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "blocked",
      message: "deletion blocked: 1 PersistentVolume still uses the pool (pvc-x)",
    });
    const result = await done;
    expect(result.stderr).toContain('error: the operator blocked the removal of "pool1": deletion blocked: 1 PersistentVolume still uses the pool (pvc-x)');
    expect(result.code).toBe(1);
  });

  it("--wait does not believe a stale blocked status once no PV uses the pool", async () => {
    cluster.server.seed({
      apiVersion: API,
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu", finalizers: ["kadalu-operator.storage/finalizer"] },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
      status: { state: "blocked", message: "deletion blocked: 1 PersistentVolume still uses the pool (pvc-gone)" },
    } as never);
    const done = cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "10s");
    const start = Date.now();
    while (!pool("pool1")?.metadata.deletionTimestamp && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The operator's fresh verdict: it removes the finalizer, and the pool goes.
    const live = pool("pool1")!;
    cluster.server.objects.commit(
      cluster.server.registry.byKind(API, "KadaluStorage")!,
      live,
      { ...live, metadata: { ...live.metadata, finalizers: [] } },
      undefined,
      { dryRun: false },
    );
    const result = await done;
    expect(result.stderr).toContain('storage pool "pool1" removed');
    expect(result.code).toBe(0);
  });
});

describe("option-set and option-reset", () => {
  it("merges in place, appends new keys, and prints the result", async () => {
    seedPool("pool1", {
      options: [
        { key: "performance.quick-read", value: "off" },
        { key: "performance.io-cache", value: "off" },
      ],
    });
    // KEY VALUE and KEY=VALUE (as storage-list --detail prints options) mix.
    const result = await cli("option-set", "pool1", "performance.io-cache", "on", "performance.read-ahead=on");
    expect(result.stdout).toBe("KEY                      VALUE\nperformance.quick-read   off\nperformance.io-cache     on\nperformance.read-ahead   on\n");
    expect(pool("pool1")!.spec.options).toEqual([
      { key: "performance.quick-read", value: "off" },
      { key: "performance.io-cache", value: "on" },
      { key: "performance.read-ahead", value: "on" },
    ]);
  });

  it("validates pairs and the documented set (exit 2, nothing sent) unless --force", async () => {
    seedPool("pool1");
    cluster.server.clearRequests();
    const odd = await cli("option-set", "pool1", "performance.io-cache");
    expect(odd.stderr).toBe("error: option performance.io-cache has no value; give KEY VALUE or KEY=VALUE, as in: performance.io-cache off\n");
    expect(odd.code).toBe(2);
    const empty = await cli("option-set", "pool1", "performance.io-cache=");
    expect(empty.stderr).toBe('error: option performance.io-cache: the value "" must not be empty or hold spaces or control characters\n');
    expect(empty.code).toBe(2);
    const unknown = await cli("option-set", "pool1", "cluster.eager-lock", "on");
    expect(unknown.stderr).toMatch(
      /^error: "cluster.eager-lock" is not a documented option \(performance.client-io-threads, .*\); pass --force to set it anyway\n$/,
    );
    expect(unknown.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
    const forced = await cli("option-set", "pool1", "cluster.eager-lock", "on", "--force");
    expect(forced.stderr).toContain('warning: "cluster.eager-lock" is not a documented option');
    expect(pool("pool1")!.spec.options).toEqual([{ key: "cluster.eager-lock", value: "on" }]);
  });

  it("--dry-run prints the result and writes nothing", async () => {
    seedPool("pool1");
    cluster.server.clearRequests();
    const result = await cli("option-set", "pool1", "performance.quick-read", "on", "--dry-run");
    expect(result.stdout).toContain("performance.quick-read   on");
    expect(cluster.server.writes()).toEqual([]);
  });

  it("-o json|yaml prints the pool with its resulting options, and nothing else on stdout", async () => {
    seedPool("pool1", { options: [{ key: "performance.io-cache", value: "on" }] });
    const set = await cli("option-set", "pool1", "performance.quick-read", "on", "-o", "json");
    expect(set.code).toBe(0);
    const object = JSON.parse(set.stdout);
    expect(object).toMatchObject({
      kind: "KadaluStorage",
      metadata: { name: "pool1" },
      spec: {
        options: [
          { key: "performance.io-cache", value: "on" },
          { key: "performance.quick-read", value: "on" },
        ],
      },
    });
    expect(object.metadata.resourceVersion).toBe(pool("pool1")!.metadata.resourceVersion);
    const reset = await cli("option-reset", "pool1", "performance.io-cache", "-o", "yaml", "--dry-run");
    expect(parseYaml(reset.stdout).spec.options).toEqual([{ key: "performance.quick-read", value: "on" }]);
    expect(reset.stderr).toContain("nothing was sent");
    expect((await cli("option-set", "pool1", "performance.quick-read", "on", "-o", "table")).stderr).toMatch(
      /^error: option '-o, --output <format>' argument 'table' is invalid. Allowed choices are json, yaml\./,
    );
  });

  it("resets keys or all of them, without crashing on a pool that has none", async () => {
    seedPool("pool1", {
      options: [
        { key: "performance.quick-read", value: "off" },
        { key: "performance.io-cache", value: "on" },
      ],
    });
    const one = await cli("option-reset", "pool1", "performance.quick-read", "performance.nope");
    expect(one.stderr).toContain('note: not set on pool "pool1": performance.nope');
    expect(pool("pool1")!.spec.options).toEqual([{ key: "performance.io-cache", value: "on" }]);
    expect((await cli("option-reset", "pool1", "--all")).code).toBe(2);
    expect((await cli("option-reset", "pool1", "--all", "--yes")).code).toBe(0);
    expect(pool("pool1")!.spec.options).toEqual([]);
    seedPool("bare");
    expect((await cli("option-reset", "bare", "--all", "--yes")).stderr).toContain('pool "bare" has 0 options');
    expect((await cli("option-reset", "bare")).stderr).toBe("error: give the option keys to remove, or --all\n");
  });
});

describe("healinfo", () => {
  it("asks a running server pod of each replicated pool, and says why others have nothing to heal", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1"), "solo.info": info("solo", "Replica1") });
    seedServerPod(cluster.server, "server-pool1-0-0", "Pending", false);
    seedServerPod(cluster.server, "server-pool1-1-0", "Running", true);
    cluster.server.onExec("kadalu", "server-pool1-1-0", "server", async (context) => {
      context.stdout.write(`Brick server-pool1-0-0.pool1:/bricks/pool1/data/brick\nTotal Number of entries: 0 (${context.command.join(" ")})\n`);
      return 0;
    });
    const result = await cli("healinfo");
    expect(result.stdout).toBe(
      [
        "== pool1 (Replica3) ==",
        "Brick server-pool1-0-0.pool1:/bricks/pool1/data/brick",
        "Total Number of entries: 0 (/kadalu/heal-info.sh pool1)",
        "",
        "== solo (Replica1) ==",
        'pool "solo" is Replica1: without replicas there is nothing to heal',
        "",
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(0);
  });

  it("takes the pool as an argument, --pool or upstream's --name, and prints -o json|yaml", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1"), "solo.info": info("solo", "Replica1") });
    seedServerPod(cluster.server, "server-pool1-0-0", "Running", true);
    cluster.server.onExec("kadalu", "server-pool1-0-0", "server", async (context) => {
      context.stdout.write(`Total Number of entries: 0 (${context.command.join(" ")})\n`);
      return 0;
    });
    const expected = '== solo (Replica1) ==\npool "solo" is Replica1: without replicas there is nothing to heal\n\n';
    for (const args of [["solo"], ["--pool", "solo"], ["--name", "solo"]]) expect((await cli("healinfo", ...args)).stdout).toBe(expected);
    const json = JSON.parse((await cli("healinfo", "-o", "json")).stdout);
    expect(json).toEqual({
      pools: [
        { pool: "pool1", type: "Replica3", state: "reported", report: "Total Number of entries: 0 (/kadalu/heal-info.sh pool1)\n" },
        { pool: "solo", type: "Replica1", state: "skipped", message: 'pool "solo" is Replica1: without replicas there is nothing to heal' },
      ],
    });
    expect(parseYaml((await cli("healinfo", "pool1", "-o", "yaml")).stdout)).toEqual({ pools: [json.pools[0]] });
    const two = await cli("healinfo", "pool1", "--pool", "solo");
    expect(two.stderr).toBe('error: two pools given ("pool1" and "solo"); name one, as the POOL argument or with --pool\n');
    expect(two.code).toBe(2);
  });

  it("is an error naming the pods and their phase when none runs", async () => {
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1") });
    seedServerPod(cluster.server, "server-pool1-0-0", "Pending", false);
    const result = await cli("healinfo", "--name", "pool1");
    expect(result.stderr).toBe('error: pool "pool1" has no running server pod to ask; its pods: server-pool1-0-0 (Pending)\n');
    expect(result.code).toBe(1);
  });

  it("--trigger-full-heal looks every file up through the provisioner's mount", async () => {
    const root = join(cluster.dir, "provisioner");
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1") });
    seedProvisioner(cluster.server, root);
    mkdirSync(join(root, "mnt/pool1/subvol/aa/bb/pvc-1"), { recursive: true });
    for (const file of ["a", "b", "c"]) writeFileSync(join(root, "mnt/pool1/subvol/aa/bb/pvc-1", file), file);
    expect((await cli("healinfo", "--trigger-full-heal")).stdout).toContain('looked up 3 files in pool "pool1"');
  });
});

describe("logs and version", () => {
  beforeEach(() => {
    const pod = (name: string, component: string, container: string, version: string, phase: string, nameLabel = name) =>
      cluster.server.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace: "kadalu",
          labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": component, "app.kubernetes.io/name": nameLabel },
        },
        spec: { containers: [{ name: container, image: `docker.io/kadalu/x:${version}`, env: [{ name: "KADALU_VERSION", value: version }] }] },
        status: { phase },
      });
    pod("operator-abc", "operator", "kadalu-operator", "0.0.9", "Running", "kadalu-operator");
    pod("kadalu-csi-provisioner-0", "csi-driver", "kadalu-provisioner", "0.0.0-dev", "Pending", "kadalu-csi-provisioner");
    cluster.server.setPodLogs("kadalu", "operator-abc", "kadalu-operator", "one\ntwo\nthree\n");
    cluster.server.setPodLogs("kadalu", "kadalu-csi-provisioner-0", "kadalu-provisioner", "serving\n");
  });

  it("logs: every Kadalu pod's containers, headed, with --tail", async () => {
    const all = await cli("logs", "--tail", "2");
    expect(all.stdout).toBe("==> kadalu-csi-provisioner-0/kadalu-provisioner <==\nserving\n\n==> operator-abc/kadalu-operator <==\ntwo\nthree\n\n");
    expect((await cli("logs", "operator-abc")).stdout).toBe("==> operator-abc/kadalu-operator <==\none\ntwo\nthree\n\n");
    expect((await cli("logs", "--pod", "operator-abc")).stdout).toBe("==> operator-abc/kadalu-operator <==\none\ntwo\nthree\n\n");
    expect((await cli("logs", "-c", "kadalu-operator")).stderr).toBe("error: -c/--container needs a pod: kubectl kadalu logs POD -c CONTAINER\n");
    expect((await cli("logs", "nope")).code).toBe(2);
  });

  it("logs -p is --previous, as in kubectl logs: the crashed container's lines", async () => {
    cluster.server.setPodLogs("kadalu", "operator-abc", "kadalu-operator", "now\n", "before the crash\n");
    const previous = await cli("logs", "-p", "operator-abc", "-c", "kadalu-operator");
    expect(previous.stdout).toBe("==> operator-abc/kadalu-operator <==\nbefore the crash\n\n");
    expect(previous.code).toBe(0);
    expect((await cli("logs", "operator-abc", "--previous")).stdout).toBe("==> operator-abc/kadalu-operator <==\nbefore the crash\n\n");
    const two = await cli("logs", "operator-abc", "--pod", "kadalu-csi-provisioner-0");
    expect(two.stderr).toBe('error: two pods given ("operator-abc" and "kadalu-csi-provisioner-0"); name one, as the POD argument or with --pod\n');
    expect(two.code).toBe(2);
  });

  it("logs -f through the built binary streams each line, prefixed, until stopped", async () => {
    // The bundle's log stream goes through client-node's lazily loaded fetch: only the binary shows it works.
    const child = spawn(process.execPath, [BIN, "logs", "-f", "operator-abc", "--kubeconfig", cluster.kubeconfig], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      for (const start = Date.now(); !output.includes("three"); await new Promise((resolve) => setTimeout(resolve, 20))) {
        if (Date.now() - start > 15_000 || child.exitCode !== null) throw new Error(`no streamed lines; the command said:\n${output}`);
      }
      expect(output).toBe("[operator-abc/kadalu-operator] one\n[operator-abc/kadalu-operator] two\n[operator-abc/kadalu-operator] three\n");
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("version: components from images and env, the cluster's, and a skew warning", async () => {
    const text = await cli("version");
    expect(text.stdout).toBe(
      [
        "kubectl-kadalu plugin: 0.0.0-dev",
        "Kubernetes: v1.32.0-kadalu-test",
        "COMPONENT                POD                        VERSION     PHASE",
        "kadalu-csi-provisioner   kadalu-csi-provisioner-0   0.0.0-dev   Pending",
        "operator                 operator-abc               0.0.9       Running",
        "",
      ].join("\n"),
    );
    expect(text.stderr).toBe("warning: the operator runs 0.0.9 and this plugin is 0.0.0-dev; align them with: kubectl kadalu install --upgrade\n");
    const json = JSON.parse((await cli("version", "-o", "json")).stdout);
    expect(json).toMatchObject({
      plugin: "0.0.0-dev",
      kubernetes: "v1.32.0-kadalu-test",
      components: [
        { pod: "kadalu-csi-provisioner-0", phase: "Pending" },
        { component: "operator", version: "0.0.9" },
      ],
    });
    const yaml = await cli("version", "-o", "yaml");
    expect(parseYaml(yaml.stdout)).toEqual(json);
    expect(yaml.stdout).toMatch(/^plugin: 0\.0\.0-dev\nkubernetes: v1\.32\.0-kadalu-test\n/);
    expect(cluster.server.requests.filter((r) => r.verb === "create" || r.subresource === "exec")).toEqual([]);
  });

  it("version without a cluster still says its own version", async () => {
    const result = await runCli(["version", "--kubeconfig", join(cluster.dir, "missing")]);
    expect(result.stdout).toBe("kubectl-kadalu plugin: 0.0.0-dev\n");
    expect(result.stderr).toMatch(/^error: --kubeconfig ".*missing": no such file\n$/);
    expect(result.code).toBe(1);
  });
});

describe("remove-archived-pv", () => {
  it("refuses a name without the archived- prefix", async () => {
    const result = await cli("remove-archived-pv", "pool1", "--pvc", "pvc-1");
    expect(result.stderr).toBe('error: --pvc "pvc-1" is not an archived PV: archived PVs are named archived-<pv>\n');
    expect(result.code).toBe(2);
  });

  it("lists, then removes exactly the archived PVs, never a neighbour sharing their hash prefix", async () => {
    const root = join(cluster.dir, "provisioner");
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1") });
    seedProvisioner(cluster.server, root);
    const prefixes = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i += 1) {
      const prefix = xxh64Hex(`pvc-${i}`).slice(0, 4);
      if (prefixes.has(prefix)) pair = [prefixes.get(prefix)!, `pvc-${i}`];
      prefixes.set(prefix, `pvc-${i}`);
    }
    const [archived, neighbour] = pair;
    writeUpstreamStatDb(root, "pool1", 100 * 1024 ** 3, [
      [archived, 1024 ** 3],
      [neighbour, 2 * 1024 ** 3],
    ]);
    const base = join(root, "mnt/pool1");
    const prefix = pvPath("subvol", archived).split("/").slice(0, 3).join("/");
    mkdirSync(join(base, prefix, `archived-${archived}`), { recursive: true });
    mkdirSync(join(base, prefix, neighbour), { recursive: true });
    mkdirSync(join(base, "info", prefix), { recursive: true });
    writeFileSync(join(base, "info", prefix, `archived-${archived}.json`), `{"size": ${1024 ** 3}, "path_prefix": "${prefix}"}`);
    writeFileSync(join(base, "info", prefix, `${neighbour}.json`), `{"size": ${2 * 1024 ** 3}, "path_prefix": "${prefix}"}`);
    const dry = await cli("remove-archived-pv", "pool1", "--dry-run");
    expect(dry.stdout.split("\n").map((line) => line.split(/\s{3,}/))).toEqual([["ARCHIVED PV", "SIZE"], [`archived-${archived}`, "1.0 GiB"], [""]]);
    expect(existsSync(join(base, prefix, `archived-${archived}`))).toBe(true);
    const removed = await cli("remove-archived-pv", "pool1", "--yes");
    expect(removed.stdout).toContain('removed 1 archived PV from pool "pool1", freeing 1.0 GiB');
    expect(existsSync(join(base, prefix, `archived-${archived}`))).toBe(false);
    expect(existsSync(join(base, prefix, neighbour))).toBe(true);
    expect(existsSync(join(base, "info", prefix, `${neighbour}.json`))).toBe(true);
    const db = StatDb.open(join(base, "stat.db"), { readonly: true });
    expect(db.listPvs().map((row) => row.pvname)).toEqual([neighbour]);
    db.close();
    expect((await cli("remove-archived-pv", "pool1", "--yes")).stderr).toBe('No archived PVs in pool "pool1".\n');
    expect(JSON.parse((await cli("remove-archived-pv", "pool1", "-o", "json")).stdout)).toEqual({ pool: "pool1", removed: false, archivedPVs: [] });
  });

  it("-o json|yaml: the one document on stdout (what would go, then what went), the table on stderr", async () => {
    const root = join(cluster.dir, "provisioner");
    seedKadaluInfo(cluster.server, { "pool1.info": info("pool1") });
    seedProvisioner(cluster.server, root);
    writeUpstreamStatDb(root, "pool1", 100 * 1024 ** 3, [["pvc-1", 1024 ** 3]]);
    const prefix = pvPath("subvol", "pvc-1").split("/").slice(0, 3).join("/");
    const base = join(root, "mnt/pool1");
    mkdirSync(join(base, prefix, "archived-pvc-1"), { recursive: true });
    mkdirSync(join(base, "info", prefix), { recursive: true });
    writeFileSync(join(base, "info", prefix, "archived-pvc-1.json"), `{"size": ${1024 ** 3}, "path_prefix": "${prefix}"}`);
    const dry = await cli("remove-archived-pv", "pool1", "--dry-run", "-o", "yaml");
    expect(parseYaml(dry.stdout)).toEqual({ pool: "pool1", removed: false, archivedPVs: [{ name: "archived-pvc-1", size: 1024 ** 3 }] });
    expect(dry.stderr).toContain("archived-pvc-1   1.0 GiB");
    const removed = await cli("remove-archived-pv", "pool1", "--yes", "-o", "json");
    expect(JSON.parse(removed.stdout)).toEqual({ pool: "pool1", removed: true, archivedPVs: [{ name: "archived-pvc-1", size: 1024 ** 3 }] });
    expect(removed.stderr).toContain('removed 1 archived PV from pool "pool1"');
    expect(existsSync(join(base, prefix, "archived-pvc-1"))).toBe(false);
  });
});
