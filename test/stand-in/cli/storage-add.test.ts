/** storage-add against the Kubernetes API test server, through the real client library. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildNativeInfo, encodeInfo, infoKey } from "../../../src/core/info/codec.js";
import type { KadaluStorage, StorageUnit } from "../../../src/core/pool/types.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const API = "kadalu-operator.storage/v1alpha1";
let cluster: TestCluster;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];
const replica3 = ["--type", "Replica3", "--device", "kube1:/dev/sdb", "--device", "kube2:/dev/sdb", "--device", "kube3:/dev/sdb"];

beforeEach(async () => {
  cluster = await startCluster({ operator: true });
});
afterEach(async () => {
  await cluster.stop();
});

describe("storage-add against a cluster", () => {
  it("creates the pool in the Kadalu namespace after one read each of nodes, pools and kadalu-info", async () => {
    const result = await runCli(["storage-add", "pool1", ...replica3, "--yes", ...kc()]);
    expect(result.stderr).toContain('Storage pool to create in namespace "kadalu"');
    expect(result.stdout).toContain("kadalustorage.kadalu-operator.storage/pool1 created");
    expect(result.code).toBe(0);
    const stored = cluster.server.get(API, "KadaluStorage", "kadalu", "pool1");
    expect(stored?.spec.type).toBe("Replica3");
    expect(stored?.spec.storage).toEqual([
      { node: "kube1", device: "/dev/sdb" },
      { node: "kube2", device: "/dev/sdb" },
      { node: "kube3", device: "/dev/sdb" },
    ]);
    // The five reads (the nodeplugin pods, for --device) go out together; the create comes after all of them.
    const requests = cluster.server.requests.map((r) => `${r.verb} ${r.resource}`);
    expect(requests.slice(0, 5).sort()).toEqual(["get configmaps", "get deployments", "list kadalustorages", "list nodes", "list pods"]);
    expect(requests.slice(5)).toEqual(["create kadalustorages"]);
    // No nodeplugin answers here: the devices are said to be unchecked, not refused.
    expect(result.stderr).toContain("note: device /dev/sdb on node kube1 was not checked: no ready CSI nodeplugin pod there\n");
  });

  it("honours -n and --script-mode", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "storage" } });
    const refused = await runCli(["storage-add", "pool1", "--path", "kube1:/data", "--script-mode", "-n", "storage", ...kc()]);
    // Kadalu is installed in "kadalu", not in "storage": a pool there would never be served.
    expect(refused.stderr).toBe(
      'error: Kadalu is not installed in namespace "storage" (no operator Deployment), so nothing would serve the pool; run: kubectl kadalu install -n storage\n',
    );
    expect(refused.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    cluster.server.seed({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "operator", namespace: "storage" }, spec: {} });
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/data", "--script-mode", "-n", "storage", ...kc()]);
    expect(result.code).toBe(0);
    expect(cluster.server.get(API, "KadaluStorage", "storage", "pool1")).toBeDefined();
  });

  it("names a missing node and lists the real ones, and writes nothing", async () => {
    const result = await runCli([
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--path",
      "kube1:/d",
      "--path",
      "kube2:/d",
      "--path",
      "kube9:/d",
      "--yes",
      ...kc(),
    ]);
    expect(result.stderr).toBe('error: node "kube9" not found; nodes: kube1, kube2, kube3\n');
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("checks --pvc names in the namespace with one list", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick1", namespace: "kadalu" }, spec: {} });
    const missing = await runCli(["storage-add", "pool1", "--type", "Replica2", "--pvc", "brick1", "--pvc", "brick2", "--yes", ...kc()]);
    expect(missing.stderr).toBe('error: PVC "brick2" not found in namespace "kadalu"; PVCs there: brick1\n');
    expect(missing.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    const ok = await runCli(["storage-add", "pool1", "--pvc", "brick1", "--yes", ...kc()]);
    expect(ok.code).toBe(0);
    expect(cluster.server.requests.filter((r) => r.resource === "nodes")).toEqual([]);
  });

  it("never contacts the cluster for invalid input", async () => {
    const result = await runCli(["storage-add", "pool1", "--type", "Replica3", "--path", "kube1:/d", "--yes", ...kc()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: Replica3 takes storage units in groups of 3, got 1/);
    expect(cluster.server.requests).toEqual([]);
  });

  it("refuses to overwrite an existing pool", async () => {
    expect((await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", ...kc()])).code).toBe(0);
    const again = await runCli(["storage-add", "pool1", "--path", "kube2:/b", "--yes", ...kc()]);
    expect(again.stderr).toContain('error: storage pool "pool1" already exists in namespace "kadalu"');
    expect(again.stderr).toContain("kubectl kadalu storage-remove pool1");
    expect(again.code).toBe(1);
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")?.spec.storage).toEqual([{ node: "kube1", path: "/a" }]);
  });

  it("refuses without a terminal and without --yes, before writing", async () => {
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", ...kc()]);
    expect(result.stderr).toMatch(/error: refusing to proceed without confirmation.*pass --yes/);
    expect(result.code).toBe(2);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("asks on a terminal and respects the answer", async () => {
    const declined = await runCli(["storage-add", "pool1", "--path", "kube1:/a", ...kc()], { interactive: true, answers: [false] });
    expect(declined.prompts).toEqual(["Create this storage pool?"]);
    expect(declined.stderr).toContain("cancelled: nothing was created");
    expect(declined.code).toBe(0);
    expect(cluster.server.writes()).toEqual([]);
    const accepted = await runCli(["storage-add", "pool1", "--path", "kube1:/a", ...kc()], { interactive: true, answers: [true] });
    expect(accepted.code).toBe(0);
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")).toBeDefined();
  });

  it("--dry-run=server submits with dryRun=All and persists nothing", async () => {
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--dry-run=server", ...kc()]);
    expect(result.stdout).toContain("created (server dry run)");
    expect(result.code).toBe(0);
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")).toBeUndefined();
    expect(cluster.server.requests.map((r) => r.verb).sort()).toEqual(["create", "get", "get", "list", "list"]);
  });

  it("-o json prints only the object the server stored", async () => {
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "-o", "json", ...kc()]);
    const object = JSON.parse(result.stdout);
    expect(object.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(object.spec.pvReclaimPolicy).toBe("delete");
  });

  it("--dry-run needs no cluster at all", async () => {
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--dry-run", "--kubeconfig", "/nonexistent"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("name: pool1");
  });

  it("prints pools that YAML 1.1 (kubectl) and 1.2 read back the same, whatever the names and options", async () => {
    // A node called "no", a path like an octal number, an option value "on": strings, for every reader.
    const result = await runCli(["storage-add", "pool1", "--path", "no:/0755", "--dry-run", "--kubeconfig", "/nonexistent"]);
    expect(result.code, result.stderr).toBe(0);
    const { parse } = await import("yaml");
    const read11 = parse(result.stdout, { version: "1.1" });
    expect(read11).toEqual(parse(result.stdout, { version: "1.2" }));
    expect(read11.spec.storage[0]).toEqual({ node: "no", path: "/0755" });
  });

  it("--wait follows the status until the operator reports ready", async () => {
    const done = runCli(["storage-add", "pool1", ...replica3, "--yes", "--wait", "--timeout", "20s", ...kc()]);
    await until(() => cluster.server.get(API, "KadaluStorage", "kadalu", "pool1") !== undefined);
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { state: "initializing", bricks: { ready: 1, total: 3 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { state: "ready", bricks: { ready: 3, total: 3 } });
    // Ready bricks are not enough: a PVC needs the provisioner's mount, which it reports with the usage.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")?.status?.usage).toBeUndefined();
    const usage = { capacityBytes: 10 * 1024 ** 3, provisionedBytes: 0, pvCount: 0, updatedAt: "2026-01-01T00:00:00Z" };
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { state: "ready", bricks: { ready: 3, total: 3 }, usage });
    const result = await done;
    expect(result.stderr).toContain("waiting for the CSI provisioner to mount it and read its stat.db");
    expect(result.stderr).toContain('storage pool "pool1" is ready (3/3 bricks ready)');
    expect(result.code).toBe(0);
  });

  it("--wait resumes after the watch is closed", async () => {
    const done = runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--wait", "--timeout", "20s", ...kc()]);
    await until(() => cluster.server.store.watchers.size > 0);
    cluster.server.closeWatches();
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "ready",
      usage: { capacityBytes: 1, provisionedBytes: 0, pvCount: 0, updatedAt: "2026-01-01T00:00:00Z" },
    });
    expect((await done).code).toBe(0);
  });

  it("--wait reports an operator error with its message", async () => {
    const done = runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--wait", ...kc()]);
    await until(() => cluster.server.store.watchers.size > 0);
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { state: "error", message: "brick path /a is not a directory" });
    const result = await done;
    expect(result.stderr).toContain('error: storage pool "pool1" failed: brick path /a is not a directory');
    expect(result.code).toBe(1);
  });

  it("--wait times out saying what it waited for", async () => {
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--wait", "--timeout", "1s", ...kc()]);
    expect(result.stderr).toContain('error: timed out after 1s waiting for pool "pool1": waiting for the operator to report on pool "pool1"');
    expect(result.code).toBe(1);
  });
});

describe("storage-add places replicas on separate nodes", () => {
  const stored = (): StorageUnit[] | undefined => cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")?.spec.storage;

  it("keeps the command-line order across --path, --device and --pvc: the order makes the groups", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick1", namespace: "kadalu" }, spec: {} });
    const result = await runCli([
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--path",
      "kube1:/a",
      "--device",
      "kube2:/dev/sdb",
      "--pvc",
      "brick1",
      "--device",
      "kube1:/dev/sdb",
      "--path",
      "kube2:/a",
      "--path=kube3:/a",
      "--yes",
      ...kc(),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(stored()).toEqual([
      { node: "kube1", path: "/a" },
      { node: "kube2", device: "/dev/sdb" },
      { pvc: "brick1" },
      { node: "kube1", device: "/dev/sdb" },
      { node: "kube2", path: "/a" },
      { node: "kube3", path: "/a" },
    ]);
  });

  it("refuses two members of one replica group on one node, naming the group, and sends nothing", async () => {
    const result = await runCli([
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--path",
      "kube1:/a",
      "--device",
      "kube2:/dev/sdb",
      "--path",
      "kube2:/a",
      "--yes",
      ...kc(),
    ]);
    expect(result.stderr).toBe(
      "error: replica group 1 of pool1 puts 2 of its 3 storage units on node kube2 (kube2:/dev/sdb, kube2:/a); use other nodes or pass --force\n",
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(cluster.server.requests).toEqual([]);
  });

  it("refuses a disperse group on one node; PVC units have no node and are not counted", async () => {
    const disperse = ["--type", "Disperse", "--data", "2", "--redundancy", "1"];
    const refused = await runCli(["storage-add", "pool1", ...disperse, "--path", "kube1:/a", "--path", "kube1:/b", "--pvc", "brick1", "--yes", ...kc()]);
    expect(refused.stderr).toBe(
      "error: disperse group 1 of pool1 puts 2 of its 3 storage units on node kube1 (kube1:/a, kube1:/b); use other nodes or pass --force\n",
    );
    expect(refused.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick1", namespace: "kadalu" }, spec: {} });
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick2", namespace: "kadalu" }, spec: {} });
    const pvcs = await runCli(["storage-add", "pool1", ...disperse, "--path", "kube1:/a", "--pvc", "brick1", "--pvc", "brick2", "--yes", ...kc()]);
    expect(pvcs.code, pvcs.stderr).toBe(0);
  });

  it("--force creates the pool as given", async () => {
    const result = await runCli(["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/a", "--path", "kube1:/b", "--force", "--yes", ...kc()]);
    expect(result.code, result.stderr).toBe(0);
    expect(stored()).toEqual([
      { node: "kube1", path: "/a" },
      { node: "kube1", path: "/b" },
    ]);
  });

  const seedPool = (name: string, storage: StorageUnit[]): KadaluStorage => {
    const pool: KadaluStorage = { apiVersion: API, kind: "KadaluStorage", metadata: { name, namespace: "kadalu" }, spec: { type: "Replica1", storage } };
    cluster.server.seed(pool as never);
    return pool;
  };

  it.each([
    [
      [{ node: "kube1", path: "/a" }],
      ["--path", "kube1://a/"],
      'storage unit kube1:/a is already used by pool "pool0"; use another directory, or remove pool "pool0" first',
    ],
    [[{ node: "kube1", path: "/a" }], ["--path", "kube1:/a/b"], 'storage unit kube1:/a/b is inside kube1:/a, used by pool "pool0"'],
    [[{ node: "kube1", path: "/a/b" }], ["--path", "kube1:/a"], 'storage unit kube1:/a holds kube1:/a/b, used by pool "pool0"'],
    [
      [{ node: "kube2", device: "/dev/sdb" }],
      ["--device", "kube2:/dev/sdb"],
      'storage unit kube2:/dev/sdb is already used by pool "pool0"; use another device',
    ],
    [[{ pvc: "brick1" }], ["--pvc", "brick1"], 'storage unit pvc brick1 is already used by pool "pool0"; use another PVC'],
  ])("refuses a unit another pool's KadaluStorage holds (%j, %j), naming that pool", async (units, args, message) => {
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick1", namespace: "kadalu" }, spec: {} });
    seedPool("pool0", units);
    cluster.server.clearRequests();
    const result = await runCli(["storage-add", "pool1", ...args, "--yes", ...kc()]);
    expect(result.stderr).toMatch(new RegExp(`^error: ${message.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(result.code).toBe(2);
    expect(cluster.server.writes()).toEqual([]);
    expect(cluster.server.get(API, "KadaluStorage", "kadalu", "pool1")).toBeUndefined();
  });

  it("refuses a unit only kadalu-info knows, and leaves a neighbouring directory alone", async () => {
    const old = {
      apiVersion: API,
      kind: "KadaluStorage",
      metadata: { name: "legacy", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube3", path: "/srv/legacy" }] },
    } as KadaluStorage;
    const info = encodeInfo(buildNativeInfo(old, { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002" }));
    cluster.server.seed({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kadalu-info", namespace: "kadalu" },
      data: { [infoKey("legacy")]: info },
    } as never);
    const refused = await runCli(["storage-add", "pool1", "--path", "kube3:/srv/legacy", "--yes", ...kc()]);
    expect(refused.stderr).toBe(
      'error: storage unit kube3:/srv/legacy is already used by pool "legacy"; use another directory, or remove pool "legacy" first\n',
    );
    expect(refused.code).toBe(2);
    expect(cluster.server.writes()).toEqual([]);
    const neighbour = await runCli(["storage-add", "pool1", "--path", "kube3:/srv/legacy2", "--yes", ...kc()]);
    expect(neighbour.code, neighbour.stderr).toBe(0);
  });

  it("refuses a pool of the same name before the preview and the question, writing nothing", async () => {
    seedPool("pool1", [{ node: "kube1", path: "/a" }]);
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", ...kc()]);
    expect(result.stderr).toBe(
      'error: storage pool "pool1" already exists in namespace "kadalu"; choose another name, grow it by a whole group of units with: kubectl kadalu storage-expand pool1 --path NODE:/DIR; or remove it first with: kubectl kadalu storage-remove pool1\n',
    );
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
  });
});

describe("cluster connection", () => {
  it("reports an unreachable API server in one line", async () => {
    const url = cluster.server.url;
    await cluster.server.stop();
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", ...kc()]);
    expect(result.stderr).toBe(`error: cannot reach the cluster at ${url}: connection refused\n`);
    expect(result.code).toBe(1);
  });

  it("turns API failures into one line naming the object", async () => {
    cluster.server.failNext({ verb: "create", resource: "kadalustorages", code: 503 });
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", ...kc()]);
    expect(result.stderr.split("\n").filter((line) => line.startsWith("error:"))).toEqual([
      'error: cannot create kadalustorage "pool1" in namespace "kadalu": injected failure (503)',
    ]);
    expect(result.code).toBe(1);
  });

  it("reports rejected credentials", async () => {
    const bad = join(cluster.dir, "bad-token");
    writeFileSync(bad, cluster.server.writeKubeconfig(bad) && (await import("node:fs")).readFileSync(bad, "utf8").replace(cluster.server.token, "wrong"));
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--kubeconfig", bad]);
    expect(result.stderr).toBe("error: cannot list nodes: the credentials in the kubeconfig were rejected (401 Unauthorized)\n");
    expect(result.code).toBe(1);
  });

  it("merges KUBECONFIG paths and selects --context (and its upstream alias)", async () => {
    const other = join(cluster.dir, "other");
    writeFileSync(other, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
    const second = cluster.server.writeKubeconfig(join(cluster.dir, "second"), { context: "lab" });
    const env = { ...process.env, KUBECONFIG: `${other}:${second}` };
    expect((await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes", "--context", "lab"], { env })).code).toBe(0);
    expect((await runCli(["storage-add", "pool2", "--path", "kube1:/b", "--yes", "--kubectl-context", "lab"], { env })).code).toBe(0);
    const unknown = await runCli(["storage-add", "pool3", "--path", "kube1:/a", "--yes", "--context", "prod"], { env });
    expect(unknown.stderr).toBe('error: context "prod" not found in the kubeconfig; contexts: lab\n');
    expect(unknown.code).toBe(2);
  });

  it("says when no cluster is configured", async () => {
    const env = { PATH: process.env.PATH, HOME: cluster.dir };
    const result = await runCli(["storage-add", "pool1", "--path", "kube1:/a", "--yes"], { env });
    expect(result.stderr).toBe("error: no cluster configured: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config\n");
    expect(result.code).toBe(1);
    // KUBECONFIG naming a file that is gone (a stopped sandbox's): it says which.
    const gone = await runCli(["storage-list"], { env: { ...env, KUBECONFIG: "/nonexistent/kubeconfig" } });
    expect(gone.stderr).toBe("error: KUBECONFIG names no file that exists (/nonexistent/kubeconfig): fix it, or pass --kubeconfig FILE\n");
    expect(gone.code).toBe(1);
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
