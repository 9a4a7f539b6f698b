/** A watch that goes silent past its timeoutSeconds (a dead connection the server never closes) is ended as failed. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect } from "../../src/kube/client.js";
import { startCluster, type TestCluster } from "../helpers/cluster.js";

let cluster: TestCluster;
beforeEach(async () => {
  cluster = await startCluster();
});
afterEach(async () => {
  await cluster.stop();
});

describe("watch silence", () => {
  it("ends a watch that delivers nothing, not even a bookmark, for longer than its timeout plus the margin", async () => {
    const kube = await connect({ kubeconfig: cluster.kubeconfig });
    // The server would end this watch after 5 s; allowing only 1 s of silence stands in for a connection
    // that died without the server's close ever arriving.
    kube.watchSilenceMarginMs = -4000;
    const started = Date.now();
    const ended = await new Promise<Error | null>((resolve) => {
      void kube.watch("/api/v1/namespaces/kadalu/configmaps", { timeoutSeconds: "5" }, () => undefined, resolve);
    });
    expect(ended?.message).toMatch(/the watch was silent for 1s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(4500);
  });
});
