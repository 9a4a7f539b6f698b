/** Every request has a deadline: a server that accepts and never answers does not wedge a command. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { startCluster, type TestCluster } from "../helpers/cluster.js";

let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster();
});
afterEach(async () => {
  await cluster.stop();
});

describe("request deadlines", () => {
  it.each([
    ["storage-list", { resource: "configmaps" }],
    ["storage-list --status", { resource: "configmaps" }],
    ["storage-remove pool1 --yes", { resource: "kadalustorages" }],
    ["install --no-wait", { resource: "deployments" }],
  ])("%s fails within --request-timeout when the API server never answers", async (command, match) => {
    cluster.server.hangNext({ ...match, count: 10 });
    const started = Date.now();
    const result = await runCli([...command.split(" "), "--request-timeout", "1s", "--kubeconfig", cluster.kubeconfig]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no answer from the API server within 1s/);
  });

  it("refuses a --request-timeout that is not a duration, before connecting", async () => {
    cluster.server.clearRequests();
    const result = await runCli(["storage-list", "--request-timeout", "soon", "--kubeconfig", cluster.kubeconfig]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --request-timeout "soon" is not a duration; use a number with a unit, as in 90s, 5m or 1h\n');
    expect(cluster.server.requests).toEqual([]);
  });
});
