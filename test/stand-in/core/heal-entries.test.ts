/** Heal report entries -> PVs: the report captured from GlusterFS, and the path rules of pv-layout.ts. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { entriesByPv, entryGfid, healEntries, pvOfPath } from "../../../src/core/heal-entries.js";
import { pvMetadataPath, pvPath } from "../../../src/core/pv-layout.js";

const REPORT = readFileSync(new URL("../../fixtures/heal/replica3-one-brick-down.txt", import.meta.url), "utf8");
const PV_A = "pvc-6f1c2a4e-0d4b-4c55-9a53-3b2f1e7d9c01";

describe("heal entries", () => {
  it("reads each brick's entries from the captured report, the stopped brick with none", () => {
    const bricks = healEntries(REPORT);
    expect(bricks.map((brick) => [brick.brick, brick.entries.length])).toEqual([
      ["server-pool1-0-0.pool1:/bricks/pool1/data/brick", 9],
      ["server-pool1-1-0.pool1:/bricks/pool1/data/brick", 9],
      ["server-pool1-2-0.pool1:/bricks/pool1/data/brick", 0],
    ]);
    expect(bricks[0]!.entries).toContain(`/subvol/5f/93/${PV_A}/new-file`);
    expect(healEntries("Giving heal summary of volume: pool1\nTotal Number of entries: 0\n")).toEqual([]);
  });

  it("maps a path to its PV only where the hash directories are the name's", () => {
    expect(pvOfPath(`/${pvPath("subvol", PV_A)}`)).toBe(PV_A);
    expect(pvOfPath(`/${pvPath("subvol", PV_A)}/deep/file`)).toBe(PV_A);
    expect(pvOfPath(`/${pvMetadataPath("subvol", PV_A)}`)).toBe(PV_A);
    expect(pvOfPath(`/${pvPath("rawblock", "pvc-b")}`)).toBe("pvc-b");
    expect(pvOfPath(`/subvol/00/00/${PV_A}/file`)).toBeUndefined();
    expect(pvOfPath("/subvol/5f/93")).toBeUndefined();
    expect(pvOfPath("/stat.db")).toBeUndefined();
    expect(pvOfPath(`/info/${pvPath("subvol", PV_A)}.json/x`)).toBeUndefined();
  });

  it("counts distinct entries per PV across bricks, gfids by the paths the bricks gave", () => {
    expect(entriesByPv(healEntries(REPORT))).toEqual({
      pvs: [
        { pv: PV_A, entries: 4 },
        { pv: "pvc-a03e5b77-8f21-4f0e-b6d4-52c9e8a1f2b3", entries: 3 },
      ],
      other: 2,
      unresolved: 0,
    });
    const gfid = "0b5c3a90-1e1f-4c59-a5e4-0d9f4f7e2a11";
    expect(entryGfid(`<gfid:${gfid}>`)).toBe(gfid);
    expect(entryGfid(`<gfid:${gfid}>/name`)).toBe(gfid);
    expect(entryGfid("/stat.db")).toBeUndefined();
    const bricks = [
      { brick: "b0", entries: [`<gfid:${gfid}>`, `<gfid:${gfid}>/x`, "<gfid:ffffffff-0000-4000-8000-000000000000>"] },
      { brick: "b1", entries: [`/${pvPath("subvol", PV_A)}/a`] },
    ];
    expect(entriesByPv(bricks, new Map([[gfid, `/${pvPath("subvol", PV_A)}/a`]]))).toEqual({ pvs: [{ pv: PV_A, entries: 2 }], other: 0, unresolved: 1 });
  });
});
