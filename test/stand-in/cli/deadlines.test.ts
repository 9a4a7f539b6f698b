/**
 * Every request has a deadline: a server that accepts and never answers does not wedge a command; a
 * watch that goes silent past its timeoutSeconds (a dead connection the server never closes) is ended.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../../src/kube/client.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

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

describe("watch silence", () => {
  it("ends a watch whose connection goes dead (no event, no bookmark, no close) after its timeout plus the margin", async () => {
    const kube = await connect({ kubeconfig: cluster.kubeconfig });
    const started = Date.now();
    const ended = new Promise<Error | null>((resolve) => {
      void kube.watch("/api/v1/namespaces/kadalu/configmaps", { timeoutSeconds: "2" }, () => undefined, resolve).then(() => cluster.server.silenceWatches());
    });
    // 2 s of timeout, then the margin (a tenth of it, at least 1 s): the server never closes a silenced watch.
    expect((await ended)?.message).toMatch(/the watch was silent for 3s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(Date.now() - started).toBeLessThan(6000);
  });
});
