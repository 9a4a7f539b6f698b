/**
 * storage-replace on the real tier: a real kube-apiserver (validation, server dry run, JSON patch test), the
 * real StatefulSet and disruption controllers, and the operator with its own RBAC (it now deletes a brick pod).
 * A Replica3 pool's third unit moves to a fourth node: the refusals change nothing; the operator rewrites
 * kadalu-info and the StatefulSet, deletes the pod still on the old node only once the StatefulSet names the
 * new one, and the StatefulSet controller starts it again there; `--wait` runs the heal mark and heal-info in
 * that pod (the node agent answers the execs as the server image would) until nothing is pending.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeInfo } from "../../src/core/info/codec.js";
import { CONTROLLERS, startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { kadalu, startOperator } from "../../harness/real/kadalu.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { waitUntil, type Started } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

const NODES = ["kube1", "kube2", "kube3", "kube4"];
const POOL = "/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1";
const PODS = "/api/v1/namespaces/kadalu/pods";

/** heal-info's summary for pool1's three bricks. */
const summary = (counts: (number | "-")[]): string =>
  [
    `Giving heal summary of volume: pool1`,
    ...counts.map((count, i) =>
      [
        `Brick server-pool1-${i}-0.pool1:/bricks/pool1/data/brick`,
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

describe.skipIf(noKubernetes)("storage-replace against a real apiserver", () => {
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

  it("refuses with nothing changed, then moves a brick to another node and follows it until healed", async () => {
    expect((await cli("install", "--wait", "--timeout", "90s")).code).toBe(0);
    operator = await startOperator(cluster);
    const add = await cli(
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      ...["kube1", "kube2", "kube3"].flatMap((node) => ["--path", `${node}:/data/pool1`]),
      "--yes",
    );
    expect(add.code, add.stderr).toBe(0);
    await waitUntil(`pool1 ready\n${operator.tail()}`, async () => (await cluster.admin.get(POOL)).status?.state === "ready" || undefined, 90_000, 200);
    // The server image's tools, as the node agent answers them in each brick pod: heal-info, and the mark.
    let reports: (number | "-")[][] = [[0, 0, 0]];
    const marked: string[][] = [];
    for (const index of [0, 1, 2]) {
      agent.onExec("kadalu", `server-pool1-${index}-0`, "server", async (context) => {
        if (context.command[0] === "/kadalu/heal-info.sh") {
          context.stdout.write(summary(reports.length > 1 ? reports.shift()! : reports[0]!));
          return 0;
        }
        if (context.command.join(" ") === "node /kadalu/bin/kadalu-server heal-now pool1") return 0;
        if (context.command.join(" ") !== `node /kadalu/bin/kadalu-server mark-replaced pool1 ${index}`) return 127;
        marked.push(context.command);
        reports = [
          [3, 3, 0],
          [0, 0, 0],
        ];
        return 0;
      });
    }
    const before = await cluster.admin.get(POOL);
    const oldPod = await cluster.admin.get(`${PODS}/server-pool1-2-0`);
    expect(oldPod.spec.nodeName).toBe("kube3");

    const refusals: [string[], RegExp, number][] = [
      [
        ["kube9:/data/pool1", "--path", "kube4:/data/pool1"],
        /^error: storage pool "pool1" has no storage unit "kube9:\/data\/pool1"; its units: 1: kube1:\/data\/pool1/,
        2,
      ],
      [["kube3:/data/pool1", "--path", "kube9:/data/pool1"], /^error: node "kube9" not found; nodes: kube1, kube2, kube3, kube4\n$/, 1],
      [["kube3:/data/pool1", "--path", "kube1:/data/b"], /^error: replica group 1 of pool1 puts 2 of its 3 storage units on node kube1/, 2],
    ];
    for (const [args, stderr, code] of refusals) {
      const result = await cli("storage-replace", "pool1", ...args, "--yes");
      expect(result.stderr).toMatch(stderr);
      expect(result.code).toBe(code);
    }
    reports = [[9, 9, "-"]];
    const healing = await cli("storage-replace", "pool1", "kube3:/data/pool1", "--path", "kube4:/data/pool1", "--yes");
    expect(healing.stderr).toMatch(
      /^error: pool "pool1" is still healing: storage unit 1 \(kube1:\/data\/pool1\) has 9 entries, storage unit 2 \(kube2:\/data\/pool1\) has 9 entries to heal/m,
    );
    expect(healing.code).toBe(1);
    reports = [[0, 0, 0]];
    const server = await cli("storage-replace", "pool1", "kube3:/data/pool1", "--path", "kube4:/data/pool1", "--dry-run=server");
    expect(server.stdout).toBe(
      "kadalustorage.kadalu-operator.storage/pool1 storage unit 3 replaced: kube3:/data/pool1 -> kube4:/data/pool1 (server dry run)\n",
    );
    // The real apiserver persisted nothing of the refusals and the dry run.
    expect((await cluster.admin.get(POOL)).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    const t0 = Date.now();
    const replaced = await cli("storage-replace", "pool1", "kube3:/data/pool1", "--path", "kube4:/data/pool1", "--yes", "--wait", "--timeout", "90s");
    console.log(`real tier: storage-replace --wait (operator, StatefulSet controller, mark, heal counts): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(replaced.code, `${replaced.stderr}\n${operator.tail()}`).toBe(0);
    expect(replaced.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 storage unit 3 replaced: kube3:/data/pool1 -> kube4:/data/pool1\n");
    expect(replaced.stderr).toContain('healing storage unit 3 of pool "pool1": 6 entries pending');
    expect(replaced.stderr).toContain('storage unit 3 of pool "pool1" is healed: no entries pending in its group');
    expect(marked).toEqual([["node", "/kadalu/bin/kadalu-server", "mark-replaced", "pool1", "2"]]);

    // Same brick, same place: the StatefulSet and host name stay; the pod is a new one, on kube4.
    const pod = await cluster.admin.get(`${PODS}/server-pool1-2-0`);
    expect(pod.metadata.uid).not.toBe(oldPod.metadata.uid);
    expect(pod.spec.nodeName).toBe("kube4");
    for (const index of [0, 1]) expect((await cluster.admin.get(`${PODS}/server-pool1-${index}-0`)).metadata.uid, `brick ${index} untouched`).toBeDefined();
    const info = decodeInfo("pool1", (await cluster.admin.get("/api/v1/namespaces/kadalu/configmaps/kadalu-info")).data["pool1.info"]).info as {
      bricks: Record<string, unknown>[];
    };
    expect(info.bricks[2]).toMatchObject({
      brick_index: 2,
      kube_hostname: "kube4",
      host_brick_path: "/data/pool1",
      node: "server-pool1-2-0.pool1",
      node_id: "node-2",
    });
    const pool = await waitUntil(
      "pool1 ready again",
      async () => {
        const now = await cluster.admin.get(POOL);
        return now.status?.state === "ready" && now.status.observedGeneration === before.metadata.generation + 1 ? now : undefined;
      },
      30_000,
      200,
    );
    expect(pool.spec.storage[2]).toEqual({ node: "kube4", path: "/data/pool1" });
    const budget = await cluster.admin.get<{ spec: { selector: { matchExpressions: { values: string[] }[] } } }>(
      "/apis/policy/v1/namespaces/kadalu/poddisruptionbudgets/server-pool1-group-0",
    );
    expect(budget.spec.selector.matchExpressions[0]!.values).toEqual(["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"]);
  });
});
