/**
 * storage-expand against the Kubernetes API test server, through the real client library: the spec after,
 * the refusals (with nothing written), the prompt, the dry runs, -o and --wait; and with the real operator,
 * the bricks, distribute group and budget the grown spec turns into.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeInfo } from "../../../src/core/info/codec.js";
import type { KadaluStorage, KadaluStorageSpec, StorageUnit } from "../../../src/core/pool/types.js";
import { configFromEnv } from "../../../operator/config.js";
import { startOperator, type RunningOperator } from "../../../operator/main.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const API = "kadalu-operator.storage/v1alpha1";
const NODES = ["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"];
let cluster: TestCluster;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];
const devices = (nodes: string[], device = "/dev/sdb"): StorageUnit[] => nodes.map((node) => ({ node, device }));
const deviceFlags = (nodes: string[], device = "/dev/sdb"): string[] => nodes.flatMap((node) => ["--device", `${node}:${device}`]);
const seedPool = (name: string, spec: KadaluStorageSpec): void =>
  void cluster.server.seed({ apiVersion: API, kind: "KadaluStorage", metadata: { name, namespace: "kadalu" }, spec });
const stored = (name = "pool1"): KadaluStorage | undefined => cluster.server.get(API, "KadaluStorage", "kadalu", name) as KadaluStorage | undefined;

async function until(condition: () => boolean, what = "the condition", timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeEach(async () => {
  cluster = await startCluster({ nodes: NODES, operator: true });
  seedPool("pool1", { type: "Replica3", storage: devices(["kube1", "kube2", "kube3"]) });
  cluster.server.clearRequests();
});
afterEach(async () => {
  await cluster.stop();
});

describe("storage-expand", () => {
  it("appends a whole group after one read each of the pool, pools, kadalu-info, nodes and nodeplugins, then one patch", async () => {
    const result = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--yes", ...kc()]);
    expect(result.stderr).toContain(
      'Storage pool "pool1" (Replica3) in namespace "kadalu" grows from 3 storage units to 6, by 1 group:\n  group 2: kube4:/dev/sdb, kube5:/dev/sdb, kube6:/dev/sdb\n',
    );
    expect(result.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 expanded to 6 storage units\n");
    expect(result.code).toBe(0);
    expect(stored()?.spec.storage).toEqual(devices(["kube1", "kube2", "kube3", "kube4", "kube5", "kube6"]));
    expect(stored()?.spec.type).toBe("Replica3");
    const requests = cluster.server.requests.map((r) => `${r.verb} ${r.resource}`);
    expect(requests.slice(0, 5).sort()).toEqual(["get configmaps", "get kadalustorages", "list kadalustorages", "list nodes", "list pods"]);
    expect(requests.slice(5)).toEqual(["patch kadalustorages"]);
  });

  it("keeps a Disperse pool's group size, and grows a Replica1 pool one unit at a time", async () => {
    seedPool("ec", { type: "Disperse", disperse: { data: 2, redundancy: 1 }, storage: [1, 2, 3].map((i) => ({ node: `kube${i}`, path: "/data/ec" })) });
    const short = await runCli(["storage-expand", "ec", "--path", "kube4:/data/ec", "--path", "kube5:/data/ec", "--yes", ...kc()]);
    expect(short.stderr).toBe(
      'error: storage pool "ec" is Disperse 2+1: it grows by whole groups of 3 storage units, got 2; give a multiple of 3 (3, 6, ...)\n',
    );
    expect(short.code).toBe(2);
    seedPool("r1", { type: "Replica1", storage: [{ node: "kube1", path: "/data/r1" }] });
    const one = await runCli(["storage-expand", "r1", "--path", "kube2:/data/r1", "--yes", ...kc()]);
    expect(one.code, one.stderr).toBe(0);
    expect(stored("r1")?.spec.storage).toEqual([
      { node: "kube1", path: "/data/r1" },
      { node: "kube2", path: "/data/r1" },
    ]);
  });

  describe("refuses, with nothing written", () => {
    const refused = async (args: string[], stderr: string, code: number): Promise<void> => {
      const result = await runCli(["storage-expand", ...args, "--yes", ...kc()]);
      expect(result.stderr).toBe(stderr);
      expect(result.code).toBe(code);
      expect(cluster.server.writes()).toEqual([]);
      expect(stored()?.spec.storage).toHaveLength(3);
    };

    it("a unit count that is not a whole group of the pool's type", () =>
      refused(
        ["pool1", ...deviceFlags(["kube4", "kube5"])],
        'error: storage pool "pool1" is Replica3: it grows by whole groups of 3 storage units, got 2; give a multiple of 3 (3, 6, ...)\n',
        2,
      ));

    it("a node that does not exist, listing the ones that do", () =>
      refused(["pool1", ...deviceFlags(["kube4", "kube5", "kube9"])], 'error: node "kube9" not found; nodes: kube1, kube2, kube3, kube4, kube5, kube6\n', 1));

    it("a brick of another pool", async () => {
      seedPool("other", { type: "Replica1", storage: [{ node: "kube5", device: "/dev/sdb" }] });
      await refused(
        ["pool1", ...deviceFlags(["kube4", "kube5", "kube6"])],
        'error: storage unit kube5:/dev/sdb is already used by pool "other"; use another device, or remove pool "other" first\n',
        2,
      );
    });

    it("a brick the pool already has, or a directory inside one", async () => {
      await refused(
        ["pool1", ...deviceFlags(["kube4", "kube5", "kube1"])],
        'error: storage unit kube1:/dev/sdb is already storage unit 1 of pool "pool1" (kube1:/dev/sdb); use another device\n',
        2,
      );
      seedPool("dirs", { type: "Replica1", storage: [{ node: "kube1", path: "/data" }] });
      const inside = await runCli(["storage-expand", "dirs", "--path", "kube1:/data/more", "--yes", ...kc()]);
      expect(inside.stderr).toBe('error: storage unit kube1:/data/more lies inside storage unit 1 of pool "dirs" (kube1:/data); use another directory\n');
      expect(inside.code).toBe(2);
    });

    it("two units of one new group on one node, unless --force", async () => {
      await refused(
        ["pool1", ...deviceFlags(["kube4", "kube4", "kube5"], "/dev/sdc").slice(0, 2), ...deviceFlags(["kube4", "kube5"])],
        "error: replica group 2 of pool1 puts 2 of its 3 storage units on node kube4 (kube4:/dev/sdc, kube4:/dev/sdb); use other nodes or pass --force\n",
        2,
      );
      const forced = await runCli(["storage-expand", "pool1", "--device", "kube4:/dev/sdc", ...deviceFlags(["kube4", "kube5"]), "--force", "--yes", ...kc()]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(stored()?.spec.storage).toHaveLength(6);
    });

    it("a pool that does not exist, naming the ones that do", () =>
      refused(["pool9", ...deviceFlags(["kube4"])], 'error: storage pool "pool9" not found in namespace "kadalu"; pools: pool1\n', 1));

    it("an External pool", async () => {
      seedPool("ext", { type: "External", storage: [], details: { gluster_hosts: ["g1"], gluster_volname: "vol" } });
      await refused(
        ["ext", "--path", "kube4:/data"],
        'error: storage pool "ext" is External: it grows in its own Gluster cluster (gluster volume add-brick there), not here\n',
        2,
      );
    });

    it("no units, or a malformed one, before asking the cluster anything", async () => {
      for (const [args, stderr] of [
        [["pool1"], 'error: give the storage units to add to pool "pool1" with --device, --path or --pvc, a whole replica or disperse group of them\n'],
        [["pool1", "--device", "kube4"], 'error: --device "kube4" must be NODE:PATH, as in --device kube1:/dev/sdb\n'],
        [["pool1", "--path", "Kube_4:/data"], 'error: storage unit 1: node name "Kube_4" is not a valid node name\n'],
        [["pool1", "--path", "kube4:/d", "--path", "kube4:/d/"], "error: storage unit 2 (kube4:/d) repeats storage unit 1\n"],
        [
          ["Pool1", "--path", "kube4:/d"],
          "error: pool name \"Pool1\" must consist of lower case letters, digits and '-', and start and end with a letter or digit\n",
        ],
      ] as const) {
        const result = await runCli(["storage-expand", ...args, "--yes", ...kc()]);
        expect(result.stderr).toBe(stderr);
        expect(result.code).toBe(2);
      }
      expect(cluster.server.requests).toEqual([]);
    });

    it("without a terminal and without --yes", async () => {
      const result = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), ...kc()]);
      expect(result.stderr).toContain("grows from 3 storage units to 6");
      expect(result.stderr).toMatch(/\nerror: refusing to proceed without confirmation.*pass --yes to confirm\n$/);
      expect(result.code).toBe(2);
      expect(cluster.server.writes()).toEqual([]);
    });
  });

  it("asks on a terminal and respects the answer", async () => {
    const args = ["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), ...kc()];
    const declined = await runCli(args, { interactive: true, answers: [false] });
    expect(declined.prompts).toEqual(['Add 3 storage units to pool "pool1"?']);
    expect(declined.stderr).toContain("cancelled: nothing was changed\n");
    expect(declined.code).toBe(0);
    expect(cluster.server.writes()).toEqual([]);
    const accepted = await runCli(args, { interactive: true, answers: [true] });
    expect(accepted.code).toBe(0);
    expect(stored()?.spec.storage).toHaveLength(6);
  });

  it("--dry-run prints the grown object and changes nothing; =server lets the API server check it", async () => {
    const client = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--dry-run", "-o", "json", ...kc()]);
    expect(client.code, client.stderr).toBe(0);
    expect(JSON.parse(client.stdout).spec.storage).toHaveLength(6);
    // The devices are said to be unchecked (no nodeplugin answers here), not refused.
    expect(client.stderr).toBe(
      [4, 5, 6].map((i) => `note: device /dev/sdb on node kube${i} was not checked: no ready CSI nodeplugin pod there\n`).join("") +
        'dry run: pool "pool1" would have 6 storage units; nothing was changed\n',
    );
    const server = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--dry-run=server", ...kc()]);
    expect(server.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 expanded to 6 storage units (server dry run)\n");
    expect(server.code).toBe(0);
    expect(cluster.server.requests.filter((r) => r.verb === "patch")).toHaveLength(1);
    expect(stored()?.spec.storage).toHaveLength(3);
  });

  it("-o yaml prints only the object the server stored", async () => {
    const result = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--yes", "-o", "yaml", ...kc()]);
    const { parse } = await import("yaml");
    const object = parse(result.stdout);
    expect(object.metadata.generation).toBe(2);
    expect(object.spec.storage.map((unit: StorageUnit) => unit.node)).toEqual(NODES);
    expect(result.stderr).not.toContain("grows from");
  });

  it("--wait lasts until the operator saw the change, every brick is ready and the capacity grew", async () => {
    const usage = (capacityBytes: number) => ({ capacityBytes, provisionedBytes: 0, pvCount: 0, updatedAt: "2026-01-01T00:00:00Z" });
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "ready",
      observedGeneration: 1,
      bricks: { ready: 3, total: 3 },
      usage: usage(10 * 1024 ** 3),
    });
    const done = runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--yes", "--wait", "--timeout", "20s", ...kc()]);
    await until(() => stored()?.metadata.generation === 2 && cluster.server.store.watchers.size > 0, "the patch and the watch");
    // Still generation 1's status, then the new bricks starting, then ready before the provisioner saw the new groups.
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "initializing",
      observedGeneration: 2,
      bricks: { ready: 4, total: 6 },
      usage: usage(10 * 1024 ** 3),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "ready",
      observedGeneration: 2,
      bricks: { ready: 6, total: 6 },
      usage: usage(10 * 1024 ** 3),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "ready",
      observedGeneration: 2,
      bricks: { ready: 6, total: 6 },
      usage: usage(20 * 1024 ** 3),
    });
    const result = await done;
    expect(result.stderr).toContain("waiting for its capacity (10.0 GiB) to grow");
    expect(result.stderr).toContain('storage pool "pool1" is ready (6/6 bricks ready, capacity 10.0 GiB -> 20.0 GiB)');
    expect(result.code).toBe(0);
  });

  it("--wait reports the operator's refusal", async () => {
    const done = runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--yes", "--wait", ...kc()]);
    await until(() => stored()?.metadata.generation === 2 && cluster.server.store.watchers.size > 0, "the patch and the watch");
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", { state: "error", observedGeneration: 2, message: "storage unit 2 changed" });
    const result = await done;
    expect(result.stderr).toContain('error: storage pool "pool1" failed to grow: storage unit 2 changed\n');
    expect(result.code).toBe(1);
  });
});

describe("storage-expand with the real operator", () => {
  let operator: RunningOperator | undefined;
  afterEach(async () => {
    await operator?.stop();
  });

  it("turns the grown spec into a brick StatefulSet per new unit, a second distribute group and its budget", async () => {
    const config = {
      ...configFromEnv({}),
      namespace: "kadalu",
      kadaluVersion: "1.2.0",
      serverImage: "docker.io/kadalu/kadalu-server:1.2.0",
      resyncMs: 600_000,
      hostCheckTimeoutMs: 500,
      metricsPort: 0,
    };
    operator = await startOperator({ kubeconfig: cluster.kubeconfig, config, log: () => undefined, health: false });
    const get = (apiVersion: string, kind: string, name: string) => cluster.server.get(apiVersion, kind, "kadalu", name);
    await until(() => get("apps/v1", "StatefulSet", "server-pool1-2") !== undefined, "the first group's bricks");
    const result = await runCli(["storage-expand", "pool1", ...deviceFlags(["kube4", "kube5", "kube6"]), "--yes", ...kc()]);
    expect(result.code, result.stderr).toBe(0);
    await until(() => get("policy/v1", "PodDisruptionBudget", "server-pool1-group-1") !== undefined, "the second group's budget");
    for (const index of [3, 4, 5]) expect(get("apps/v1", "StatefulSet", `server-pool1-${index}`), `brick ${index}`).toBeDefined();
    const text = (get("v1", "ConfigMap", "kadalu-info") as unknown as { data: Record<string, string> }).data["pool1.info"]!;
    const { info } = decodeInfo("pool1", text);
    const bricks = (info as { bricks: { kube_hostname: string; brick_index: number }[] }).bricks;
    expect(bricks.map((brick) => `${brick.brick_index}:${brick.kube_hostname}`)).toEqual(NODES.map((node, index) => `${index}:${node}`));
    // The units already there keep their bricks: the first group's StatefulSets are the same objects.
    expect(get("apps/v1", "StatefulSet", "server-pool1-0")!.metadata.generation).toBe(1);
  });
});
