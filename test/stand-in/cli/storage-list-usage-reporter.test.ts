/**
 * The provisioner's usage reports, against the API test server: it reports every mounted pool on each
 * pass (what storage-list, kubectl get kds and doctor read), so an unchanged usage must not become a
 * status write every pass.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { UsageReporter } from "../../../csi/jobs/usage-reporter.js";
import { connect } from "../../../src/kube/client.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster();
  cluster.server.seed({
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool1", namespace: "kadalu" },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: "/a" }] },
  } as never);
});
afterEach(async () => {
  await cluster.stop();
});

it("writes a pool's usage once while it does not change, and at once when it does", async () => {
  const reporter = new UsageReporter(await connect({ kubeconfig: cluster.kubeconfig }), (message) => expect.fail(message), 0);
  const patches = (): number => cluster.server.requests.filter((r) => r.verb === "patch" && r.subresource === "status").length;
  const usage = { capacityBytes: 10 * 1024 ** 3, provisionedBytes: 0, pvCount: 0 };
  cluster.server.clearRequests();
  for (let pass = 0; pass < 3; pass += 1) {
    reporter.report("pool1", usage);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reporter.flush();
  }
  expect(patches()).toBe(1);
  reporter.report("pool1", { ...usage, pvCount: 1, provisionedBytes: 1024 ** 3 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await reporter.flush();
  expect(patches()).toBe(2);
  expect(cluster.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")!.status.usage).toMatchObject({
    pvCount: 1,
    provisioned: "1.0 GiB",
    capacity: "10.0 GiB",
  });
});

it("writes the same usage at once for a pool added again under its name (a new volume id)", async () => {
  const reporter = new UsageReporter(await connect({ kubeconfig: cluster.kubeconfig }), (message) => expect.fail(message), 0);
  const patches = (): number => cluster.server.requests.filter((r) => r.verb === "patch" && r.subresource === "status").length;
  const usage = { capacityBytes: 10 * 1024 ** 3, provisionedBytes: 0, pvCount: 0 };
  cluster.server.clearRequests();
  for (const volumeId of ["11111111-0000-4000-8000-000000000000", "11111111-0000-4000-8000-000000000000", "22222222-0000-4000-8000-000000000000"]) {
    reporter.report("pool1", usage, volumeId);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reporter.flush();
  }
  expect(patches()).toBe(2);
});
