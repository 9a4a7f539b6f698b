/**
 * Drain on the real tier: the operator (with its own ServiceAccount's RBAC) applies a PodDisruptionBudget
 * per replica group, the real disruption controller computes it, and the real eviction API (what `kubectl
 * drain` calls) refuses a second brick of one group with 429 until the first is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../harness/real/api.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { kadalu, startOperator } from "../../harness/real/kadalu.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { waitUntil, type Started } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

const NODES = ["kube1", "kube2", "kube3"];
const BUDGET = "/apis/policy/v1/namespaces/kadalu/poddisruptionbudgets/server-pool1-group-0";

describe.skipIf(noKubernetes)("drain against a real apiserver and disruption controller", () => {
  let cluster: RealCluster;
  let agent: NodeAgent;
  let operator: Started;
  const cli = (...args: string[]) => kadalu(cluster.adminKubeconfig, args);
  const evict = (pod: string) =>
    cluster.admin.post(`/api/v1/namespaces/kadalu/pods/${pod}/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: pod, namespace: "kadalu" },
    });
  const allowed = async (count: number) => {
    let last: any;
    return waitUntil(
      `the budget to allow ${count} disruption(s)`,
      async () => {
        last = await cluster.admin.find(BUDGET);
        return last?.status?.expectedPods === 3 && last.status.currentHealthy === 3 && last.status.disruptionsAllowed === count ? last : undefined;
      },
      60_000,
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the budget: ${JSON.stringify(last)}\n${operator?.tail()}`);
    });
  };

  beforeAll(async () => {
    cluster = await startRealCluster(kubernetes!);
    agent = await NodeAgent.start(cluster.admin, NODES);
  });
  afterAll(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  it("a second brick of one replica group cannot be evicted (429) until the first is back; the budget goes with the pool", async () => {
    const install = await cli("install", "--wait", "--timeout", "90s");
    expect(install.code, install.stderr).toBe(0);
    operator = await startOperator(cluster);
    const add = await cli("storage-add", "pool1", "--type", "Replica3", ...NODES.flatMap((node) => ["--path", `${node}:/data/pool1`]), "--yes");
    expect(add.code, add.stderr).toBe(0);
    const budget = await allowed(1);
    expect(budget.spec).toMatchObject({
      maxUnavailable: 1,
      selector: {
        matchExpressions: [{ key: "statefulset.kubernetes.io/pod-name", operator: "In", values: ["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"] }],
      },
    });

    // What `kubectl drain kube1` and then `kubectl drain kube2` send, one right after the other.
    await evict("server-pool1-0-0");
    const refused = await evict("server-pool1-1-0").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect(JSON.stringify((refused as ApiError).body)).toContain("Cannot evict pod as it would violate the pod's disruption budget");
    expect(await cluster.admin.find("/api/v1/namespaces/kadalu/pods/server-pool1-1-0")).toMatchObject({ status: { phase: "Running" } });

    // The StatefulSet brings the first brick back; the group is whole and the drain goes on.
    await allowed(1);
    await evict("server-pool1-1-0");

    const remove = await cli("storage-remove", "pool1", "--yes");
    expect(remove.code, remove.stderr).toBe(0);
    await waitUntil(`the budget to go with the pool\n${operator.tail()}`, async () => ((await cluster.admin.find(BUDGET)) ? undefined : true), 60_000, 200);
    // The operator's requests, with its own ServiceAccount's token, were all allowed: its RBAC suffices.
    const operatorDenied = cluster
      .audit()
      .filter((event) => event.user.username === "system:serviceaccount:kadalu:kadalu-operator" && event.responseStatus?.code === 403);
    expect(operatorDenied.map((event) => event.requestURI)).toEqual([]);
  });
});
