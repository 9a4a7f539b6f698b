import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../src/core/duration.js";
import { brickDnsName, brickHostName, poolNameError, serverPodName, storageClassName } from "../../../src/core/naming.js";
import { parseGlusterSyntax } from "../../../src/core/pool/gluster-syntax.js";
import { resolveSinglePvPerPool, type KadaluStorage, type KadaluStorageSpec } from "../../../src/core/pool/types.js";
import { validatePool } from "../../../src/core/pool/validate.js";

const pool = (spec: Partial<KadaluStorageSpec>, name = "pool1"): KadaluStorage => ({
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name },
  spec: spec as KadaluStorageSpec,
});
const messages = (spec: Partial<KadaluStorageSpec>, name?: string): string[] => validatePool(pool(spec, name)).map((p) => p.message);

describe("naming", () => {
  it("derives brick names as upstream does", () => {
    expect(brickDnsName("pool-1")).toBe("pool-1");
    expect(brickDnsName("a.b_c")).toBe("ab-c");
    expect(serverPodName("pool1", 2)).toBe("server-pool1-2-0");
    expect(brickHostName("pool1", 0)).toBe("server-pool1-0-0.pool1");
    expect(storageClassName("pool1")).toBe("kadalu.pool1");
  });

  it("refuses names whose derived objects would be invalid", () => {
    expect(poolNameError("pool1")).toBeUndefined();
    expect(poolNameError("Pool1")).toMatch(/lower case/);
    // server-<name>-<i> plus the 11-character revision suffix must fit in a 63-character label.
    expect(poolNameError("a".repeat(43))).toBeUndefined();
    expect(poolNameError("a".repeat(44))).toMatch(/too long.*at most 43 characters/);
    expect(poolNameError("a".repeat(42), 11)).toBeUndefined();
    expect(poolNameError("a".repeat(43), 11)).toMatch(/at most 42 characters/);
  });
});

describe("single_pv_per_pool resolution (upstream's shared helper)", () => {
  it.each([
    [{}, false],
    [{ single_pv_per_pool: true }, true],
    [{ single_pv_per_pool: "True" }, true],
    [{ single_pv_per_pool: "false" }, false],
    [{ kadalu_format: "native", single_pv_per_pool: true }, false],
    [{ kadalu_format: "non-native" }, true],
    [{ kadalu_format: "NATIVE" }, false],
  ])("%j -> %s", (source, expected) => {
    expect(resolveSinglePvPerPool(source)).toBe(expected);
  });
});

describe("validatePool: operator rules beyond the CLI's flags", () => {
  const three = [
    { node: "n1", path: "/a" },
    { node: "n2", path: "/a" },
    { node: "n3", path: "/a" },
  ];

  it("accepts a valid Replica3 pool", () => {
    expect(messages({ type: "Replica3", storage: three })).toEqual([]);
  });

  it("requires a known type and says which are valid", () => {
    expect(messages({ storage: three })).toEqual([expect.stringMatching(/pool type is missing; use one of Replica1/)]);
    expect(messages({ type: "Replica9" as never, storage: three })[0]).toMatch(/"Replica9" is not valid/);
  });

  it("requires the same decommissioned value across a group", () => {
    const units = three.map((unit, index) => ({ ...unit, decommissioned: index === 0 ? "yes" : "" }));
    expect(messages({ type: "Replica3", storage: units })[0]).toMatch(/units 1-3 form one group/);
  });

  it("treats an option with either half missing as invalid (upstream only caught both)", () => {
    expect(messages({ type: "Replica3", storage: three, options: [{ key: "performance.quick-read", value: "" }] })[0]).toMatch(/option 1 needs both/);
  });

  it("requires hosts and a volume name for External (upstream crashed on hosts without volname)", () => {
    expect(messages({ type: "External", storage: [], details: { gluster_hosts: ["g1"] } })).toEqual(["an External pool needs the Gluster volume name"]);
    expect(messages({ type: "External", storage: [], details: { gluster_host: "g1", gluster_volname: "v" } })).toEqual([]);
    expect(messages({ type: "External", storage: [] })[0]).toMatch(/needs its Gluster hosts/);
  });

  it("requires node and path on a tiebreaker", () => {
    expect(messages({ type: "Replica2", storage: three.slice(0, 2), tiebreaker: { node: "t" } })[0]).toMatch(/needs a node and a path/);
  });

  it("reports every problem, each naming its field", () => {
    const problems = validatePool(pool({ type: "Replica3", storage: [{ node: "n1" }, { path: "/x" }, { pvc: "Bad_Name" }], pvReclaimPolicy: "keep" as never }));
    expect(problems.map((p) => p.field)).toEqual(["spec.pvReclaimPolicy", "spec.storage[0]", "spec.storage[1].node", "spec.storage[2].pvc"]);
  });

  it("refuses path traversal in brick paths", () => {
    expect(messages({ type: "Replica1", storage: [{ node: "n1", path: "/data/../etc" }] })[0]).toMatch(/must not contain/);
  });
});

describe("gluster-style syntax", () => {
  it("terminates on every keyword/number/unit sequence of length <= 5", () => {
    const alphabet = ["replica", "mirror", "arbiter", "disperse", "disperse-data", "redundancy", "external", "3", "1", "u"];
    const seqs: string[][] = [[]];
    for (let length = 1; length <= 5; length += 1) {
      for (const prefix of seqs.filter((s) => s.length === length - 1)) for (const token of alphabet) seqs.push([...prefix, token]);
    }
    let parsed = 0;
    for (const seq of seqs) {
      try {
        parseGlusterSyntax(seq.map((t, i) => (t === "u" ? `n${i}:/d` : t)));
        parsed += 1;
      } catch (error) {
        expect((error as Error).name).toBe("UsageError");
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});

describe("durations", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
  ])("%s", (text, ms) => {
    expect(parseDuration("--timeout", text)).toBe(ms);
  });
  it("refuses unit-less numbers", () => {
    expect(() => parseDuration("--timeout", "90")).toThrow(/is not a duration/);
  });
});
