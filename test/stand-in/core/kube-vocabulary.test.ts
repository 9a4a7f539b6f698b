/** The pools' REST paths, built in one place for every program. */
import { describe, expect, it } from "vitest";
import { poolPath, poolsPath } from "../../../src/core/kube-vocabulary.js";

describe("pool paths", () => {
  it("name the collection in every namespace or in one, a pool, and its status", () => {
    expect(poolsPath()).toBe("/apis/kadalu-operator.storage/v1alpha1/kadalustorages");
    expect(poolsPath("kadalu")).toBe("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages");
    const pool = { metadata: { name: "pool1", namespace: "team-a" } };
    expect(poolPath(pool)).toBe("/apis/kadalu-operator.storage/v1alpha1/namespaces/team-a/kadalustorages/pool1");
    expect(poolPath(pool, "status")).toBe("/apis/kadalu-operator.storage/v1alpha1/namespaces/team-a/kadalustorages/pool1/status");
  });

  it("refuse a pool without its namespace rather than build a wrong path", () => {
    expect(() => poolPath({ metadata: { name: "pool1" } })).toThrow('kadalustorage "pool1" has no namespace');
  });
});
