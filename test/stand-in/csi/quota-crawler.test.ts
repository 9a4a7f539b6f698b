/**
 * The provisioner's quota crawler on a real local pool (PVs made by the PoolStore, real statfs and
 * xattrs): what it writes, what it skips, its pace, and how it backs off where simple-quota is missing.
 * Local filesystems have no glusterfs.* xattr namespace: the writes are checked under a user.* name,
 * and the real name gives the "not supported" answer Debian's Gluster gives (also checked on the real tier).
 */
import { getAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PoolStore } from "../../../csi/pool-store.js";
import { DEFAULT_CRAWLER, QuotaCrawler, type CrawlerOptions } from "../../../csi/quota-crawler.js";

const ROOT = process.getuid?.() === 0;
const USAGE = "user.kadalu-test.total-usage";

let dir: string;
let store: PoolStore;
let logged: string[];

function userXattrs(path: string): boolean {
  try {
    setAttributeSync(path, "user.kadalu-probe", "1");
    return true;
  } catch {
    return false;
  }
}

const probe = mkdtempSync(join(tmpdir(), "kadalu-xattr-probe-"));
const noUserXattrs = userXattrs(probe) ? undefined : `${tmpdir()} takes no user.* xattrs`;
rmSync(probe, { recursive: true, force: true });

const crawler = (options: Partial<CrawlerOptions> = {}): QuotaCrawler =>
  new QuotaCrawler("pool1", () => store.pvDirectories(), (message) => logged.push(message), { ...DEFAULT_CRAWLER, ratePerSecond: 10_000, usageAttribute: USAGE, ...options });
const usedNow = (): string => {
  const fs = statfsSync(dir);
  return String((fs.blocks - fs.bfree) * fs.bsize);
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-crawler-"));
  mkdirSync(join(dir, "pool1"));
  store = new PoolStore("pool1", join(dir, "pool1"), () => undefined, 0);
  await store.open();
  for (const name of ["pvc-a", "pvc-b", "pvc-c"]) await store.create(name, 1024 ** 2);
  logged = [];
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(noUserXattrs)("quota crawler", () => {
  it("writes each PV directory's df used bytes, and everything again every refreshSweeps-th sweep", async () => {
    let crawl = crawler({ refreshSweeps: 1000 });
    expect(await crawl.sweep()).toEqual({ visited: 3, written: 3, namespacesSet: 0, unsupported: false });
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, USAGE)?.toString()).toMatch(/^\d+$/);
    // (Writing only what changed cannot be pinned here: each usage write moves this shared filesystem's
    // used bytes by a block; the bench shows it, a second sweep over 10k unchanged PVs writing none.)
    crawl = crawler({ refreshSweeps: 3 });
    await crawl.sweep();
    await crawl.sweep();
    await crawl.sweep();
    // The fourth sweep is a refresh: every PV is written whatever it holds.
    expect((await crawl.sweep()).written).toBe(3);
    const first = store.pvDirectories()[0]!;
    expect(Number(getAttributeSync(first, USAGE)!.toString())).toBeGreaterThan(0);
    expect(Math.abs(Number(getAttributeSync(first, USAGE)!.toString()) - Number(usedNow()))).toBeLessThan(64 * 1024 ** 2);
  });

  it("skips a PV deleted under it and a name with no directory (a block PV's), and lists new PVs from stat.db's rows", async () => {
    const crawl = crawler();
    await store.delete((await store.find("pvc-b"))!, "delete");
    await store.createBlock("pvc-raw", 1024 ** 2, "rawblock");
    rmSync(join(dir, "pool1", (await store.find("pvc-a"))!.path), { recursive: true, force: true });
    await store.create("pvc-d", 1024 ** 2);
    const result = await crawl.sweep();
    // pvc-a (its directory gone), pvc-c, pvc-raw (no directory), pvc-d: the two directories are written.
    expect(result).toEqual({ visited: 4, written: 2, namespacesSet: 0, unsupported: false });
    expect(getAttributeSync(join(dir, "pool1", (await store.find("pvc-d"))!.path), USAGE)).toBeDefined();
  });

  it("keeps its pace: no more PVs per second than ratePerSecond", async () => {
    const started = performance.now();
    const result = await crawler({ ratePerSecond: 20 }).sweep();
    // Three PVs at 20/s: the third is visited no sooner than 100 ms into the sweep.
    expect(result.visited).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
  });

  it("stops at the first refusal where the pool has no simple-quota, says so once, and waits probeMs before asking again", async () => {
    const crawl = crawler({ usageAttribute: "glusterfs.quota.total-usage", pauseMs: 10, probeMs: 60_000 });
    expect(await crawl.sweep()).toEqual({ visited: 1, written: 0, namespacesSet: 0, unsupported: true });
    crawl.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await crawl.stop();
    expect(logged).toEqual(["pool pool1: its Gluster has no simple-quota (glusterfs.quota.total-usage is not supported); PV usage is not crawled, asked again every 1 min"]);
  });

  it("stop() ends a paced sweep at once", async () => {
    const crawl = crawler({ ratePerSecond: 1 }).start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await crawl.stop();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it.skipIf(!ROOT)("sets trusted.glusterfs.namespace again where the usage write fails otherwise (upstream's fix after a brick restart)", async () => {
    // A name longer than the kernel allows: refused with ERANGE, as a write without its namespace is refused by simple-quota.
    const result = await crawler({ usageAttribute: `user.${"x".repeat(300)}` }).sweep();
    expect(result).toEqual({ visited: 3, written: 0, namespacesSet: 3, unsupported: false });
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, "trusted.glusterfs.namespace")?.toString()).toBe("true");
  });
});

describe("--quota-crawl-rate", () => {
  const args = ["--endpoint", "unix:///tmp/x.sock", "--role", "provisioner"];
  it("defaults to 100 PVs per second, 0 turns the crawler off, and anything else is refused with the flag's name", async () => {
    const { parseArgs } = await import("../../../csi/main.js");
    expect(parseArgs(args, {}).quotaCrawlRate).toBe(100);
    expect(parseArgs([...args, "--quota-crawl-rate", "0"], {}).quotaCrawlRate).toBe(0);
    expect(() => parseArgs([...args, "--quota-crawl-rate=fast"], {})).toThrow('--quota-crawl-rate must be a number of PVs per second (0 turns the crawler off), not "fast"');
  });
});
