/**
 * The ledger (csi/store/ledger.ts) on its own: a pool's stat.db accounting in memory, committed on the stat.db
 * thread to a real SQLite file, read back by an independent SQLite (harness/helpers/sqlite-cli.ts).
 */
import { copyFileSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ledger } from "../../../csi/store/ledger.js";
import { sqlite3 } from "../../../harness/helpers/sqlite-cli.js";

let dir: string;
let file: string;
const open: Ledger[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-ledger-"));
  file = join(dir, "stat.db");
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((ledger) => ledger.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function ledgerOn(path: string, holdMs = 0): Promise<Ledger> {
  const ledger = await Ledger.open(path, holdMs);
  open.push(ledger);
  return ledger;
}

/** The PV rows the file holds, as `sqlite3` prints them. */
const fileRows = (): string => sqlite3(file, "SELECT pvname, size FROM pv_stats ORDER BY pvname").trim();
const failing = (message: string): Promise<never> => Promise.reject(new Error(message));

/** This process's descriptors (its threads' too) open on stat.db or its journal. */
function descriptors(): string[] {
  const links = readdirSync("/proc/self/fd").map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return "";
    }
  });
  return links.filter((link) => link === file || link.startsWith(`${file}-`) || link.startsWith(`${file} (deleted)`));
}

/** Polls `check` every 20 ms until it holds or 5 s pass; what it last saw. */
async function within5s<T>(read: () => T, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5_000;
  let value = read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = read();
  }
  return value;
}

describe("Ledger", () => {
  it("counts a change in memory at once, and resolves once the file holds it", async () => {
    const ledger = await ledgerOn(file);
    expect(ledger.provisioned()).toEqual({ sum: 0, count: 0 });
    const written = Promise.all([ledger.upsertPv("pvc-a", 10), ledger.upsertPv("pvc-b", 20), ledger.upsertPv("pvc-c", 30)]);
    // Before any commit: the capacity check sums memory.
    expect(ledger.provisioned()).toEqual({ sum: 60, count: 3 });
    await written;
    expect(fileRows()).toBe("pvc-a|10\npvc-b|20\npvc-c|30");
    await Promise.all([ledger.upsertPv("pvc-a", 15), ledger.deletePv("pvc-b"), ledger.upsertSummary("pool1", 1000)]);
    expect(ledger.provisioned()).toEqual({ sum: 45, count: 2 });
    expect(ledger.names().sort()).toEqual(["pvc-a", "pvc-c"]);
    expect(fileRows()).toBe("pvc-a|15\npvc-c|30");
    expect(sqlite3(file, "SELECT volname, size FROM summary").trim()).toBe("pool1|1000");
  });

  it("reads the rows a file already holds when it opens", async () => {
    const first = await ledgerOn(file);
    await Promise.all([first.upsertPv("pvc-a", 10), first.upsertPv("pvc-b", 5)]);
    await first.close();
    open.splice(open.indexOf(first), 1);
    const again = await ledgerOn(file);
    expect(again.rows()).toEqual(
      new Map([
        ["pvc-a", 10],
        ["pvc-b", 5],
      ]),
    );
    expect(again.provisioned()).toEqual({ sum: 15, count: 2 });
  });

  it("puts a row back when the files it accounts for fail: a new one goes, a changed one gets its old size", async () => {
    const ledger = await ledgerOn(file);
    await ledger.upsertPv("pvc-a", 10);
    const created = ledger.upsertPv("pvc-b", 20, failing("mkdir failed"));
    const grown = ledger.upsertPv("pvc-a", 40, failing("setxattr failed"));
    expect(ledger.provisioned()).toEqual({ sum: 60, count: 2 });
    await expect(created).rejects.toThrow("mkdir failed");
    await expect(grown).rejects.toThrow("setxattr failed");
    expect(ledger.rows()).toEqual(new Map([["pvc-a", 10]]));
    expect(fileRows()).toBe("pvc-a|10");
  });

  it("keeps a row whose removal failed", async () => {
    const ledger = await ledgerOn(file);
    await ledger.upsertPv("pvc-a", 10);
    await expect(ledger.deletePv("pvc-a", failing("rmdir failed"))).rejects.toThrow("rmdir failed");
    expect(ledger.has("pvc-a")).toBe(true);
    expect(fileRows()).toBe("pvc-a|10");
  });

  it("after an idle spell, catches up with what another writer put in the file", async () => {
    const ledger = await ledgerOn(file, 50);
    await ledger.upsertPv("pvc-a", 10);
    // The thread lets go of the lock 50 ms after its last work; sqlite3 waits for it (bounded).
    sqlite3(file, "PRAGMA busy_timeout = 5000; INSERT INTO pv_stats (pvname, hash, size) VALUES ('pvc-upstream', 'x', 7);");
    expect(ledger.has("pvc-upstream")).toBe(false);
    const deadline = Date.now() + 5_000;
    while (!ledger.has("pvc-upstream") && Date.now() < deadline) {
      await ledger.fresh();
      if (!ledger.has("pvc-upstream")) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ledger.rows()).toEqual(
      new Map([
        ["pvc-a", 10],
        ["pvc-upstream", 7],
      ]),
    );
    expect(ledger.provisioned()).toEqual({ sum: 17, count: 2 });
  });

  // A descriptor kept across a brick's replacement answers EBADFD on the new brick, and the file would
  // never heal there: the file is open only while the pool is busy.
  it.runIf(process.platform === "linux")("keeps stat.db open while busy and closes it, journal too, once idle for the hold", async () => {
    const ledger = await ledgerOn(file, 300);
    await ledger.upsertPv("pvc-a", 10);
    expect(descriptors().length).toBeGreaterThan(0);
    expect(await within5s(descriptors, (open) => open.length === 0)).toEqual([]);
    // Busy again: opened again, and let go again.
    await ledger.upsertPv("pvc-b", 20);
    expect(descriptors().length).toBeGreaterThan(0);
    expect(await within5s(descriptors, (open) => open.length === 0)).toEqual([]);
    expect(fileRows()).toBe("pvc-a|10\npvc-b|20");
  });

  it.runIf(process.platform === "linux")("with a hold of 0, keeps no descriptor past a commit", async () => {
    const ledger = await ledgerOn(file, 0);
    await ledger.upsertPv("pvc-a", 10);
    expect(await within5s(descriptors, (open) => open.length === 0)).toEqual([]);
    expect(fileRows()).toBe("pvc-a|10");
  });

  it("sees the rows of a file put in stat.db's place while it was idle, as a healed brick's copy is", async () => {
    const ledger = await ledgerOn(file, 50);
    await ledger.upsertPv("pvc-a", 10);
    // Another file, written by another writer, renamed over stat.db: a new inode the old descriptor never sees.
    const other = join(dir, "other.db");
    copyFileSync(file, other);
    sqlite3(other, "INSERT INTO pv_stats (pvname, hash, size) VALUES ('pvc-elsewhere', 'x', 7);");
    await new Promise((resolve) => setTimeout(resolve, 200));
    renameSync(other, file);
    const deadline = Date.now() + 5_000;
    while (!ledger.has("pvc-elsewhere") && Date.now() < deadline) {
      await ledger.fresh();
      if (!ledger.has("pvc-elsewhere")) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect([...ledger.rows()].sort()).toEqual([
      ["pvc-a", 10],
      ["pvc-elsewhere", 7],
    ]);
    // A commit after it lands in the new file, beside the other writer's row.
    await ledger.upsertPv("pvc-b", 5);
    const waited = sqlite3(file, "PRAGMA busy_timeout = 5000; SELECT pvname, size FROM pv_stats ORDER BY pvname").trim().split("\n").slice(1);
    expect(waited).toEqual(["pvc-a|10", "pvc-b|5", "pvc-elsewhere|7"]);
  });
});
