/**
 * storage-expand on the real tier: a real kube-apiserver (its validation, server dry run, resourceVersion,
 * merge patch), the real StatefulSet and disruption controllers, and the operator with its own RBAC. A
 * Replica3 pool grows by a second group: the refusals change nothing; the growth brings three more bricks,
 * a second group's budget, kadalu-info with six bricks, and the pool ready again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeInfo } from "../../src/core/info/codec.js";
import { CONTROLLERS, startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { kadalu, startOperator } from "../../harness/real/kadalu.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { waitUntil, type Started } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

const NODES = ["kube1", "kube2", "kube3"];
const POOL = "/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1";
const units = (dir: string): string[] => NODES.flatMap((node) => ["--path", `${node}:${dir}`]);

describe.skipIf(noKubernetes)("storage-expand against a real apiserver", () => {
  let cluster: RealCluster;
  let agent: NodeAgent;
  let operator: Started;
  const cli = (...args: string[]) => kadalu(cluster.adminKubeconfig, args);

  beforeAll(async () => {
    cluster = await startRealCluster(kubernetes!, { controllers: [...CONTROLLERS, "disruption"] });
    agent = await NodeAgent.start(cluster.admin, NODES);
  });
  afterAll(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("refuses bad growth with nothing changed, then grows by a group that the operator turns into bricks", async () => {
    expect((await cli("install", "--wait", "--timeout", "90s")).code).toBe(0);
    operator = await startOperator(cluster);
    const add = await cli("storage-add", "pool1", "--type", "Replica3", ...units("/data/pool1"), "--yes");
    expect(add.code, add.stderr).toBe(0);
    // storage-add --wait also waits for the CSI provisioner's mount, which this tier does not run.
    await waitUntil(`pool1 ready\n${operator.tail()}`, async () => (await cluster.admin.get(POOL)).status?.state === "ready" || undefined, 90_000, 200);
    expect((await cli("storage-add", "other", "--path", "kube2:/data/other", "--yes")).code).toBe(0);
    const before = await cluster.admin.get(POOL);

    const refusals: [string[], RegExp, number][] = [
      [
        ["--path", "kube1:/data/b", "--path", "kube2:/data/b"],
        /^error: storage pool "pool1" is Replica3: it grows by whole groups of 3 storage units, got 2/,
        2,
      ],
      [["--path", "kube1:/data/b", "--path", "kube2:/data/b", "--path", "kube9:/data/b"], /^error: node "kube9" not found; nodes: kube1, kube2, kube3\n$/, 1],
      [
        ["--path", "kube1:/data/b", "--path", "kube2:/data/other", "--path", "kube3:/data/b"],
        /^error: storage unit kube2:\/data\/other is already used by pool "other"/,
        2,
      ],
      [
        ["--path", "kube1:/data/b", "--path", "kube1:/data/c", "--path", "kube3:/data/b"],
        /^error: replica group 2 of pool1 puts 2 of its 3 storage units on node kube1/,
        2,
      ],
    ];
    for (const [args, stderr, code] of refusals) {
      const result = await cli("storage-expand", "pool1", ...args, "--yes");
      expect(result.stderr).toMatch(stderr);
      expect(result.code).toBe(code);
    }
    const server = await cli("storage-expand", "pool1", ...units("/data/pool1-b"), "--dry-run=server");
    expect(server.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 expanded to 6 storage units (server dry run)\n");
    // The real apiserver persisted nothing of the refusals and the dry run.
    expect((await cluster.admin.get(POOL)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    const grown = await cli("storage-expand", "pool1", ...units("/data/pool1-b"), "--yes", "--wait", "--timeout", "90s");
    expect(grown.code, `${grown.stderr}\n${operator.tail()}`).toBe(0);
    expect(grown.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 expanded to 6 storage units\n");
    // No CSI provisioner here measures capacity: ready with every brick is what --wait can see.
    expect(grown.stderr).toContain('storage pool "pool1" is ready (6/6 bricks ready)');
    const pool = await cluster.admin.get(POOL);
    expect(pool.metadata.generation).toBe(before.metadata.generation + 1);
    expect(pool.spec.storage.slice(0, 3)).toEqual(before.spec.storage);
    for (const index of [3, 4, 5])
      expect(await cluster.admin.find(`/apis/apps/v1/namespaces/kadalu/statefulsets/server-pool1-${index}`), `brick ${index}`).toBeDefined();
    const info = decodeInfo("pool1", (await cluster.admin.get("/api/v1/namespaces/kadalu/configmaps/kadalu-info")).data["pool1.info"]).info as {
      bricks: { host_brick_path: string }[];
    };
    expect(info.bricks.map((brick) => brick.host_brick_path)).toEqual([...Array(3).fill("/data/pool1"), ...Array(3).fill("/data/pool1-b")]);
    const budget = await waitUntil(
      "the second group's budget",
      () =>
        cluster.admin.find<{ spec: { selector: { matchExpressions: { values: string[] }[] } } }>(
          "/apis/policy/v1/namespaces/kadalu/poddisruptionbudgets/server-pool1-group-1",
        ),
      30_000,
      200,
    );
    expect(budget.spec.selector.matchExpressions[0]!.values).toEqual(["server-pool1-3-0", "server-pool1-4-0", "server-pool1-5-0"]);
  });
});
