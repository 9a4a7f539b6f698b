/** kadalu-info's 1 MiB: a pool whose entry would push the ConfigMap past it is refused, with a status that says so. */
import { describe, expect, it } from "vitest";
import { configFromEnv, type OperatorConfig } from "../../../operator/config.js";
import { plan, type Observed } from "../../../operator/plan.js";
import { INFO_MAX_BYTES, infoDataBytes, infoKey } from "../../../src/core/info/codec.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";

const config: OperatorConfig = { ...configFromEnv({}), namespace: "kadalu", kadaluVersion: "1.2.0", serverImage: "docker.io/kadalu/kadalu-server:1.2.0" };
const pool: KadaluStorage = {
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name: "pool501", namespace: "kadalu", uid: "uid-pool501", generation: 1, resourceVersion: "1" },
  spec: { type: "Replica3", storage: ["kube1", "kube2", "kube3"].map((node) => ({ node, device: "/dev/vdc" })) },
};
const observe = (more: Partial<Observed>): Observed => ({
  pool,
  pods: [],
  events: [],
  live: new Map(),
  freshVolumeId: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002",
  now: "2026-12-06T00:00:00Z",
  ...more,
});

describe("kadalu-info's size", () => {
  it("counts every key and value in UTF-8 bytes, leaving out the entry about to be written", () => {
    expect(infoDataBytes({ "a.info": "xyz", uid: "é" }, undefined)).toBe(6 + 3 + 3 + 2);
    expect(infoDataBytes({ "a.info": "xyz", uid: "é" }, "a.info")).toBe(5);
    expect(infoDataBytes(undefined)).toBe(0);
  });

  it("writes a new pool's entry while the ConfigMap has room", () => {
    const steps = plan(observe({ infoOthersBytes: 600 * 1024 }), config);
    expect(steps.info).toContain('"volname": "pool501"');
    expect(steps.apply.map((o) => o.kind)).toContain("StorageClass");
    expect(steps.status?.state).not.toBe("error");
  });

  it("refuses a new pool whose entry would take kadalu-info past 1 MiB: nothing written or applied, the status and an Event say why", () => {
    const steps = plan(observe({ infoOthersBytes: INFO_MAX_BYTES - 100 }), config);
    expect(steps.info).toBeUndefined();
    expect(steps.apply).toEqual([]);
    expect(steps.status?.state).toBe("error");
    expect(steps.status?.message).toMatch(
      /^ConfigMap kadalu-info would hold \d+ bytes with this pool's entry, over the 1048576 a ConfigMap may hold; remove pools/,
    );
    expect(steps.status?.conditions?.find((c) => c.type === "Valid")).toMatchObject({ status: "False", reason: "KadaluInfoFull" });
    expect(steps.events).toEqual([expect.objectContaining({ type: "Warning", reason: "KadaluInfoFull" })]);
  });

  it("keeps a pool whose entry is already there and unchanged, however full the ConfigMap", () => {
    const first = plan(observe({ infoOthersBytes: 0 }), config);
    const steps = plan(observe({ infoText: first.info!, infoOthersBytes: INFO_MAX_BYTES - infoKey("pool501").length - first.info!.length }), config);
    expect(steps.status?.state).not.toBe("error");
    expect(steps.apply.map((o) => o.kind)).toContain("StorageClass");
  });
});
