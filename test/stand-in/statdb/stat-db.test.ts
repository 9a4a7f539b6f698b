import { sqlite3 } from "../../../harness/helpers/sqlite-cli.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { summarizeUsage, fitsInPool } from "../../../src/core/stats/usage.js";
import { StatDb } from "../../../src/statdb/stat-db.js";
import { upstreamQuery, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "statdb-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sql = (file: string, query: string): string => sqlite3(file, query).trim();

describe("stat.db", () => {
  it("creates upstream's schema in rollback-journal mode", () => {
    const file = join(dir, "stat.db");
    const db = StatDb.open(file);
    expect(db.journalMode()).toBe("delete");
    db.close();
    expect(sql(file, ".schema")).toContain(
      "CREATE TABLE summary (volname VARCHAR PRIMARY KEY, size INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL)",
    );
    expect(sql(file, "PRAGMA journal_mode")).toBe("delete");
  });

  it("turns a file left in WAL mode back to a rollback journal", () => {
    const file = join(dir, "stat.db");
    sql(file, "PRAGMA journal_mode=WAL; CREATE TABLE t(x);");
    const db = StatDb.open(file);
    expect(db.journalMode()).toBe("delete");
    db.close();
  });

  it("upserts keeping created_at, with the xxh64 hash, and deletes idempotently", () => {
    const file = join(dir, "stat.db");
    const db = StatDb.open(file);
    db.upsertPv("pvc-1", 1024);
    sql(file, "UPDATE pv_stats SET created_at = '2020-01-01 00:00:00'");
    db.upsertPv("pvc-1", 2048);
    expect(db.getPv("pvc-1")).toMatchObject({ pvname: "pvc-1", hash: "d3d368531b48c1bb", size: 2048, created_at: "2020-01-01 00:00:00" });
    expect(db.getPv("pvc-1")!.updated_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(db.deletePv("pvc-1")).toBe(true);
    expect(db.deletePv("pvc-1")).toBe(false);
    db.close();
  });

  it("reads a stat.db written by sqlite3 with upstream's SQL, giving upstream's numbers", () => {
    const pvs: [string, number][] = [
      ["pvc-a", 1073741824],
      ["pvc-b", 2147483648],
      ["pvc-c", 1073741824],
    ];
    const file = writeUpstreamStatDb(dir, "pool1", 107374182400, pvs);
    const db = StatDb.open(file, { readonly: true });
    const usage = summarizeUsage(db.capacity(), db.totals());
    db.close();
    const [size, stats] = upstreamQuery(file).split("\n");
    const [count, sum, min, avg, max] = stats!.split("|");
    expect(usage).toEqual({
      capacityBytes: Number(size),
      provisionedBytes: Number(sum),
      pvCount: Number(count),
      minPvBytes: Number(min),
      avgPvBytes: Math.round(Number(avg)),
      maxPvBytes: Number(max),
      utilizationPercent: Math.round((Number(sum) * 1000) / Number(size)) / 10,
      snapshotCount: 0,
      snapshotBytes: 0,
    });
    expect(usage.utilizationPercent).toBe(4);
  });

  it("reports an empty pool as zero PVs, without sizes", () => {
    const file = writeUpstreamStatDb(dir, "pool1", 1000, []);
    const db = StatDb.open(file, { readonly: true });
    expect(summarizeUsage(db.capacity(), db.totals())).toMatchObject({ pvCount: 0, provisionedBytes: 0, minPvBytes: null, avgPvBytes: null });
    db.close();
  });

  it("applies upstream's capacity rule (below 90% of the free space)", () => {
    expect(fitsInPool(89, 100, 0)).toBe(true);
    expect(fitsInPool(90, 100, 0)).toBe(false);
    expect(fitsInPool(44, 100, 50)).toBe(true);
    expect(fitsInPool(45, 100, 50)).toBe(false);
  });
});
