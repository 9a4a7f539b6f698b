/**
 * Contract: our volgen renders upstream volgen's sample inputs exactly as volgen's own specs expect
 * (test/fixtures/volgen, copied from kadalu/volgen): clients of upstream's bricks and ours see one graph.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { clientVolfile, shdVolfile, storageUnitVolfile } from "../../../server/volgen.js";

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/volgen/${name}`, import.meta.url), "utf8");
const input = (name: string): any => JSON.parse(fixture(`${name}.json`));

describe("volgen contract (kadalu/volgen spec/sample_output)", () => {
  it.each(["replica2", "dist_replica2", "tiebreaker", "replica3", "dist_replica3", "replica3_arbiter", "disperse", "dist_disperse", "distribute"])(
    "client volfile of %s",
    (name) => {
      expect(clientVolfile(input(name))).toBe(fixture(`${name}.vol`));
    },
  );

  it.each([
    ["replica3", "shd_replica3"],
    ["dist_replica3", "shd_dist_replica3"],
  ])("self-heal daemon volfile of %s", (name, expected) => {
    expect(shdVolfile(input(name))).toBe(fixture(`${expected}.vol`));
  });

  it.each(["storage_unit", "storage_unit_arbiter"])("brick volfile of %s", (name) => {
    expect(storageUnitVolfile(input(name))).toBe(fixture(`${name}.vol`));
  });
});
