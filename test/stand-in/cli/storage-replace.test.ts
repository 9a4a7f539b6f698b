/**
 * storage-replace against the Kubernetes API test server, through the real client library: the spec after,
 * the refusals (bad input, another pool's unit, quorum, pending heals) with nothing written, the prompt,
 * the dry runs, -o, and --wait following the brick pod, the heal mark and the heal counts.
 */
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ExecContext } from "../../../harness/apiserver/exec.js";
import type { KadaluStorage, KadaluStorageSpec, StorageUnit } from "../../../src/core/pool/types.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { connect } from "../../../src/kube/client.js";

const API = "kadalu-operator.storage/v1alpha1";
const NODES = ["kube1", "kube2", "kube3", "kube4", "kube5"];
const ONE_DOWN = readFileSync(new URL("../../fixtures/heal/replica3-one-brick-down.txt", import.meta.url), "utf8");
let cluster: TestCluster;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];
const paths = (nodes: string[], path = "/data/p"): StorageUnit[] => nodes.map((node) => ({ node, path }));
const seedPool = (name: string, spec: KadaluStorageSpec): void =>
  void cluster.server.seed({ apiVersion: API, kind: "KadaluStorage", metadata: { name, namespace: "kadalu" }, spec });
const stored = (name = "pool1"): KadaluStorage | undefined => cluster.server.get(API, "KadaluStorage", "kadalu", name) as KadaluStorage | undefined;

/** glfsheal's info-summary as heal-info.sh prints it: a count per brick, "-" for one not connected. */
const summary = (pool: string, counts: (number | "-")[]): string =>
  [
    `Giving heal summary of volume: ${pool}`,
    ...counts.map((count, i) =>
      [
        `Brick server-${pool}-${i}-0.${pool}:/bricks/${pool}/data/brick`,
        `Status: ${count === "-" ? "Transport endpoint is not connected" : "Connected"}`,
        `Total Number of entries: ${count}`,
        `Number of entries in heal pending: ${count}`,
        "Number of entries in split-brain: 0",
        "Number of entries possibly healing: 0",
        "",
      ].join("\n"),
    ),
    "",
  ].join("\n");

/** A brick pod of pool1 on `node`, serving /data/p there, as its StatefulSet renders it (the parts storage-replace reads). */
const brickPod = (index: number, node: string, ready: boolean, pool = "pool1") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: `server-${pool}-${index}-0`,
    namespace: "kadalu",
    labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", "app.kubernetes.io/name": "server" },
  },
  spec: { nodeName: node, containers: [{ name: "server" }], volumes: [{ name: "glusterfsd-mountdir", hostPath: { path: "/data/p" } }] },
  status: { phase: ready ? "Running" : "Pending", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

/** Brick pod `index` of pool1, ready or not; its heal-info answers with what `report()` says at the time. */
function brick(index: number, ready: boolean, report: () => string, onOther?: (context: ExecContext) => number, pool = "pool1"): void {
  const name = `server-${pool}-${index}-0`;
  if (cluster.server.get("v1", "Pod", "kadalu", name)) cluster.server.setStatus("v1", "Pod", "kadalu", name, brickPod(index, "", ready).status);
  else cluster.server.seed(brickPod(index, `kube${index + 1}`, ready, pool) as never);
  cluster.server.onExec("kadalu", name, "server", async (context) => {
    if (context.command[0] === "/kadalu/heal-info.sh") {
      context.stdout.write(report());
      return 0;
    }
    return onOther ? onOther(context) : 127;
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeEach(async () => {
  cluster = await startCluster({ nodes: NODES, operator: true });
  seedPool("pool1", { type: "Replica3", storage: paths(["kube1", "kube2", "kube3"]) });
  for (const index of [0, 1, 2]) brick(index, true, () => summary("pool1", [0, 0, 0]));
  cluster.server.clearRequests();
});
afterEach(async () => {
  await cluster.stop();
});

describe("storage-replace", () => {
  it("changes the one unit in place after reading the pool, pools, kadalu-info, nodes, brick pods and the heal counts", async () => {
    const result = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", "--yes", ...kc()]);
    expect(result.stderr).toBe(
      [
        'Storage pool "pool1" (Replica3) in namespace "kadalu": storage unit 3 of replica group 1 moves',
        "  from kube3:/data/p",
        "  to   kube4:/data/p",
        "Its brick (server-pool1-2-0) restarts on the new unit, empty, and heals from the other 2 of its group;",
        "the data on kube3:/data/p is left as it is (see README.md#storage-replace).",
        "",
      ].join("\n"),
    );
    expect(result.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 storage unit 3 replaced: kube3:/data/p -> kube4:/data/p\n");
    expect(result.code).toBe(0);
    expect(stored()?.spec.storage).toEqual(paths(["kube1", "kube2", "kube4"]));
    const requests = cluster.server.requests.map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ""}`);
    expect(requests.slice(0, 5).sort()).toEqual(["get configmaps", "get kadalustorages", "list kadalustorages", "list nodes", "list pods"]);
    expect(requests.slice(5)).toEqual(["get pods/exec", "patch kadalustorages"]);
  });

  it("takes the unit by its device or PVC, and keeps a group's decommissioned mark", async () => {
    seedPool("devs", {
      type: "Replica2",
      storage: [
        { node: "kube1", device: "/dev/sdb", decommissioned: "x" },
        { node: "kube2", device: "/dev/sdb", decommissioned: "x" },
      ],
    });
    brick(1, true, () => summary("devs", ["-", 0]), undefined, "devs");
    const byDevice = await runCli(["storage-replace", "devs", "kube1:/dev/sdb", "--device", "kube3:/dev/sdc", "--yes", ...kc()]);
    expect(byDevice.code, byDevice.stderr).toBe(0);
    expect(stored("devs")?.spec.storage[0]).toEqual({ node: "kube3", device: "/dev/sdc", decommissioned: "x" });
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "b3", namespace: "kadalu" }, spec: {} } as never);
    seedPool("claims", { type: "Replica2", storage: [{ pvc: "b1" }, { pvc: "b2" }] });
    brick(0, true, () => summary("claims", [0, 0]), undefined, "claims");
    const byPvc = await runCli(["storage-replace", "claims", "b2", "--pvc", "b3", "--yes", ...kc()]);
    expect(byPvc.code, byPvc.stderr).toBe(0);
    expect(stored("claims")?.spec.storage).toEqual([{ pvc: "b1" }, { pvc: "b3" }]);
  });

  describe("refuses, with nothing written", () => {
    const refused = async (args: string[], stderr: string, code: number): Promise<void> => {
      const result = await runCli(["storage-replace", ...args, "--yes", ...kc()]);
      expect(result.stderr).toBe(stderr);
      expect(result.code).toBe(code);
      expect(cluster.server.writes()).toEqual([]);
      expect(stored()?.spec.storage).toEqual(paths(["kube1", "kube2", "kube3"]));
    };

    it("a unit the pool does not have, listing the ones it does", () =>
      refused(
        ["pool1", "kube5:/data/p", "--path", "kube4:/data/p"],
        'error: storage pool "pool1" has no storage unit "kube5:/data/p"; its units: 1: kube1:/data/p, 2: kube2:/data/p, 3: kube3:/data/p\n',
        2,
      ));

    it("a node that does not exist, listing the ones that do", () =>
      refused(["pool1", "kube3:/data/p", "--path", "kube9:/data/p"], 'error: node "kube9" not found; nodes: kube1, kube2, kube3, kube4, kube5\n', 1));

    it("a unit of another pool", async () => {
      seedPool("other", { type: "Replica1", storage: [{ node: "kube4", path: "/data/o" }] });
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube4:/data/o/sub"],
        'error: storage unit kube4:/data/o/sub is inside kube4:/data/o, used by pool "other"; use another directory, or remove pool "other" first\n',
        2,
      );
    });

    it("a unit the pool already has, or the same unit again", async () => {
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube1:/data/p"],
        'error: storage unit kube1:/data/p is already storage unit 1 of pool "pool1" (kube1:/data/p); replace it with another directory\n',
        2,
      );
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube3:/data/p/"],
        'error: storage unit kube3:/data/p is already storage unit 3 of pool "pool1" (kube3:/data/p); replace it with another directory\n',
        2,
      );
    });

    it("a second unit of the group on one node, unless --force", async () => {
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube2:/data/q"],
        "error: replica group 1 of pool1 puts 2 of its 3 storage units on node kube2 (kube2:/data/p, kube2:/data/q); use other nodes or pass --force\n",
        2,
      );
      const forced = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube2:/data/q", "--force", "--yes", ...kc()]);
      expect(forced.code, forced.stderr).toBe(0);
    });

    it("another brick of the group down: the group would fall below quorum", async () => {
      brick(0, false, () => summary("pool1", ["-", 0, 0]));
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube4:/data/p"],
        'error: storage unit 1 (kube1:/data/p) of pool "pool1" is not ready: replacing storage unit 3 now would leave replica group 1 with 1 of its 3 bricks, below the 2 it needs; bring it back first\n',
        1,
      );
    });

    it("the group still healing (a report captured from GlusterFS), though the replaced brick itself may be down", async () => {
      brick(2, false, () => ONE_DOWN);
      brick(0, true, () => ONE_DOWN);
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube4:/data/p"],
        'error: pool "pool1" is still healing: storage unit 1 (kube1:/data/p) has 9 entries, storage unit 2 (kube2:/data/p) has 9 entries to heal; replacing storage unit 3 now could drop the only good copy of a file; wait until this shows none pending: kubectl kadalu healinfo pool1\n',
        1,
      );
    });

    it("the replaced unit itself still healing: named as it is now, not as it would become", async () => {
      for (const index of [0, 1, 2]) brick(index, true, () => summary("pool1", [0, 0, 4]));
      await refused(
        ["pool1", "kube3:/data/p", "--path", "kube4:/data/p"],
        'error: pool "pool1" is still healing: storage unit 3 (kube3:/data/p) has 4 entries to heal; replacing storage unit 3 now could drop the only good copy of a file; wait until this shows none pending: kubectl kadalu healinfo pool1\n',
        1,
      );
    });

    it("a Replica1 pool, an External pool, a pool that does not exist", async () => {
      seedPool("r1", { type: "Replica1", storage: [{ node: "kube1", path: "/data/r1" }] });
      await refused(
        ["r1", "kube1:/data/r1", "--path", "kube2:/data/r1"],
        'error: storage pool "r1" is Replica1: no other copy could heal a new storage unit, so its data would be lost; grow the pool with storage-expand and move the PVs instead\n',
        2,
      );
      seedPool("ext", { type: "External", storage: [], details: { gluster_hosts: ["g1"], gluster_volname: "vol" } });
      await refused(
        ["ext", "g1:/b", "--path", "kube4:/data"],
        'error: storage pool "ext" is External: its bricks are replaced in its own Gluster cluster (gluster volume replace-brick there), not here\n',
        2,
      );
      await refused(
        ["pool9", "kube1:/data/p", "--path", "kube4:/data"],
        'error: storage pool "pool9" not found in namespace "kadalu"; pools: ext, pool1, r1\n',
        1,
      );
    });

    it("no new unit, two of them, or a malformed one, before asking the cluster anything", async () => {
      for (const [args, stderr] of [
        [["pool1", "kube3:/data/p"], "error: give the one storage unit that replaces kube3:/data/p with --device, --path or --pvc\n"],
        [
          ["pool1", "kube3:/data/p", "--path", "kube4:/a", "--path", "kube5:/a"],
          "error: give the one storage unit that replaces kube3:/data/p with --device, --path or --pvc (got 2)\n",
        ],
        [["pool1", "kube3:/data/p", "--device", "kube4"], 'error: --device "kube4" must be NODE:PATH, as in --device kube1:/dev/sdb\n'],
        [["pool1", "kube3:/data/p", "--path", "Kube_4:/data"], 'error: storage unit 1: node name "Kube_4" is not a valid node name\n'],
        [
          ["pool1", "Not A Unit", "--path", "kube4:/data"],
          'error: storage unit "Not A Unit" must be NODE:PATH (a directory or device of the pool) or the name of a PVC it uses\n',
        ],
        [
          ["Pool1", "kube3:/data/p", "--path", "kube4:/d"],
          "error: pool name \"Pool1\" must consist of lower case letters, digits and '-', and start and end with a letter or digit\n",
        ],
      ] as const) {
        const result = await runCli(["storage-replace", ...args, "--yes", ...kc()]);
        expect(result.stderr).toBe(stderr);
        expect(result.code).toBe(2);
      }
      expect(cluster.server.requests).toEqual([]);
    });

    it("without a terminal and without --yes", async () => {
      const result = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", ...kc()]);
      expect(result.stderr).toContain("storage unit 3 of replica group 1 moves");
      expect(result.stderr).toMatch(/\nerror: refusing to proceed without confirmation.*pass --yes to confirm\n$/);
      expect(result.code).toBe(2);
    });
  });

  it("asks on a terminal and respects the answer", async () => {
    const args = ["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", ...kc()];
    const declined = await runCli(args, { interactive: true, answers: [false] });
    expect(declined.prompts).toEqual(['Replace storage unit 3 of pool "pool1"?']);
    expect(declined.stderr).toContain("cancelled: nothing was changed\n");
    expect(cluster.server.writes()).toEqual([]);
    const accepted = await runCli(args, { interactive: true, answers: [true] });
    expect(accepted.code).toBe(0);
    expect(stored()?.spec.storage[2]).toEqual({ node: "kube4", path: "/data/p" });
  });

  it("--dry-run prints the changed object and changes nothing; =server lets the API server check it; -o yaml prints only the object", async () => {
    const client = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", "--dry-run", "-o", "json", ...kc()]);
    expect(client.code, client.stderr).toBe(0);
    expect(JSON.parse(client.stdout).spec.storage).toEqual(paths(["kube1", "kube2", "kube4"]));
    expect(client.stderr).toBe('dry run: storage unit 3 of pool "pool1" would move from kube3:/data/p to kube4:/data/p; nothing was changed\n');
    const server = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", "--dry-run=server", ...kc()]);
    expect(server.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 storage unit 3 replaced: kube3:/data/p -> kube4:/data/p (server dry run)\n");
    expect(stored()?.spec.storage).toEqual(paths(["kube1", "kube2", "kube3"]));
    const yaml = await runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", "--yes", "-o", "yaml", ...kc()]);
    const { parse } = await import("yaml");
    expect(parse(yaml.stdout).spec.storage[2]).toEqual({ node: "kube4", path: "/data/p" });
    expect(yaml.stderr).not.toContain("moves");
  });

  it("--wait follows the pod onto the new unit, marks the brick for a full heal, starts the group's self-heal daemons and shows the heal counts fall to none", async () => {
    // Before the mark nothing is pending; after it, each heal report a step further.
    const reports: (number | "-")[][] = [[0, 0, 0]];
    const marks: string[][] = [];
    const heals: string[] = [];
    const healNow =
      (pod: number) =>
      (context: ExecContext): number => {
        if (context.command.join(" ") !== "node /kadalu/bin/kadalu-server heal-now pool1") return 127;
        heals.push(`server-pool1-${pod}-0`);
        return 0;
      };
    for (const index of [0, 1]) brick(index, true, () => summary("pool1", [0, 0, 0]), healNow(index));
    const mark = (context: ExecContext): number => {
      if (context.command[2] === "heal-now") return healNow(2)(context);
      marks.push(context.command);
      reports.splice(0, 1, ["-", 0, 0], [3, 3, 0], [1, 1, 0], [0, 0, 0]);
      return 0;
    };
    brick(2, true, () => summary("pool1", reports.length > 1 ? reports.shift()! : reports[0]!), mark);
    const done = runCli(["storage-replace", "pool1", "kube3:/data/p", "--path", "kube4:/data/p", "--yes", "--wait", "--timeout", "30s", ...kc()]);
    await until(() => stored()?.metadata.generation === 2, "the patch");
    // The operator's part, as the real one does it: status for generation 2 while the pod is still on kube3, then the pod again on kube4.
    cluster.server.setStatus(API, "KadaluStorage", "kadalu", "pool1", {
      state: "initializing",
      observedGeneration: 2,
      message: "2/3 brick pods ready; storage unit 3 (kube4:/data/p): restarting server-pool1-2-0 on the new unit",
    });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(marks).toEqual([]);
    const kube = await connect({ kubeconfig: cluster.kubeconfig });
    await kube.deleteObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "server-pool1-2-0", namespace: "kadalu" } });
    cluster.server.seed(brickPod(2, "kube4", true) as never);
    const result = await done;
    expect(marks).toEqual([["node", "/kadalu/bin/kadalu-server", "mark-replaced", "pool1", "2"]]);
    // Each report with entries pending starts the index heal in every pod of the group.
    expect(heals.sort()).toEqual([0, 0, 1, 1, 2, 2].map((index) => `server-pool1-${index}-0`));
    expect(result.stderr).toContain('healing storage unit 3 of pool "pool1": brick 1 is not connected yet\n');
    expect(result.stderr).toContain('healing storage unit 3 of pool "pool1": 6 entries pending\nhealing storage unit 3 of pool "pool1": 2 entries pending\n');
    expect(result.stderr).toContain('storage unit 3 of pool "pool1" is healed: no entries pending in its group');
    expect(result.code, result.stderr).toBe(0);
  }, 40_000);
});
