/**
 * The provisioner's quota crawler on a real local pool (PVs made by the PoolStore, real statfs and
 * xattrs): what it writes, what it skips, its pace, and how it backs off where simple-quota is missing.
 * Local filesystems have no glusterfs.* xattr namespace: the writes are checked under a user.* name,
 * and the real name gives the "not supported" answer Debian's Gluster gives (also checked on the real tier).
 */
import { getAttributeSync, removeAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PoolStore } from "../../../csi/store/pool-store.js";
import { DEFAULT_CRAWLER, poolQuota, QuotaCrawler, type CrawlerOptions, type PoolQuota } from "../../../csi/jobs/quota-crawler.js";

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

const crawler = (options: Partial<CrawlerOptions> = {}, quota?: PoolQuota): QuotaCrawler =>
  new QuotaCrawler(
    "pool1",
    () => store.pvDirectories(),
    (message) => logged.push(message),
    { ...DEFAULT_CRAWLER, ratePerSecond: 10_000, usageAttribute: USAGE, ...options },
    quota,
  );
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
    expect(await crawl.sweep()).toEqual({ visited: 3, written: 3, namespacesSet: 0, unsupported: false, limitsSet: 0, bricksAway: 0 });
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
    expect(result).toEqual({ visited: 4, written: 2, namespacesSet: 0, unsupported: false, limitsSet: 0, bricksAway: 0 });
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
    expect(await crawl.sweep()).toEqual({ visited: 1, written: 0, namespacesSet: 0, unsupported: true, limitsSet: 0, bricksAway: 0 });
    crawl.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await crawl.stop();
    expect(logged).toEqual([
      "pool pool1: its Gluster has no simple-quota (glusterfs.quota.total-usage is not supported); PV sizes are not enforced, asked again every 1 min",
    ]);
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
    expect(result).toEqual({ visited: 3, written: 0, namespacesSet: 3, unsupported: false, limitsSet: 0, bricksAway: 0 });
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, "trusted.glusterfs.namespace")?.toString()).toBe("true");
  });
});

describe.skipIf(noUserXattrs || !ROOT)("quota crawler on a pool of bricks", () => {
  const LIMIT = "trusted.gfs.squota.limit";
  let away: number | undefined;
  const quota = (distributed: boolean): PoolQuota => ({ distributed, limits: () => store.pvLimits(), bricksAway: async () => away });
  /** Each PV's limit by its name (the store lists PVs in no set order: as stat.db's rows were last read). */
  const limits = (): Record<string, string | undefined> =>
    Object.fromEntries(store.pvDirectories().map((path) => [basename(path), getAttributeSync(path, LIMIT)?.toString()]));

  beforeEach(() => {
    away = 0;
  });

  it("writes no usage where one brick or one replica set counts every write (simple-quota would stop counting its own)", async () => {
    // A local filesystem's df shows all of it, not a PV's size: what a Gluster without simple-quota shows.
    expect(await crawler({}, quota(false)).sweep()).toEqual({ visited: 0, written: 0, namespacesSet: 0, unsupported: true, limitsSet: 0, bricksAway: 0 });
    const told = crawler({ pauseMs: 10, probeMs: 60_000 }, quota(false)).start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await told.stop();
    expect(logged).toEqual([
      expect.stringMatching(
        /^pool pool1: its Gluster has no simple-quota \(df in \S+pvc-a shows \d+ bytes, not its size 1048576\); PV sizes are not enforced, asked again every 1 min$/,
      ),
    ]);
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, USAGE)).toBeNull();
    expect((await crawler({}, quota(true)).sweep()).written).toBe(3);
  });

  it("writes nothing while a brick is away; once every brick answers, sets every PV's namespace and limit from stat.db, on that sweep and the next", async () => {
    const crawl = crawler({}, quota(true));
    away = 1;
    expect(await crawl.sweep()).toEqual({ visited: 0, written: 0, namespacesSet: 0, unsupported: false, limitsSet: 0, bricksAway: 1 });
    expect(logged).toEqual(["pool pool1: 1 brick(s) not reached; no quota xattr is written until every brick answers"]);
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, USAGE)).toBeNull();
    await store.expand((await store.find("pvc-b"))!, 3 * 1024 ** 2);
    for (const path of store.pvDirectories()) removeAttributeSync(path, LIMIT);
    away = 0;
    const back = await crawl.sweep();
    expect(back).toMatchObject({ limitsSet: 3, written: 3, bricksAway: 0 });
    expect(logged[1]).toBe("pool pool1: every brick answers again; setting every PV's quota limit again");
    expect(limits()).toEqual({ "pvc-a": "1048576", "pvc-b": "3145728", "pvc-c": "1048576" });
    for (const path of store.pvDirectories()) expect(getAttributeSync(path, "trusted.glusterfs.namespace")?.toString()).toBe("true");
    expect((await crawl.sweep()).limitsSet).toBe(3);
    expect((await crawl.sweep()).limitsSet).toBe(0);
  });

  it("sets every limit again every limitRefreshMs, and skips a block PV's name", async () => {
    await store.createBlock("pvc-raw", 1024 ** 2, "rawblock");
    const crawl = crawler({ limitRefreshMs: 0 }, quota(false));
    expect((await crawl.sweep()).limitsSet).toBe(3);
    expect(logged).toEqual([]);
  });

  it("knows a pool's layout from kadalu-info: External pools and local directories have no bricks to ask", () => {
    const brick = (index: number): object => ({
      brick_path: `/b/${index}`,
      kube_hostname: "n",
      node: "n",
      node_id: `node-${index}`,
      host_brick_path: "",
      brick_device: "",
      pvc_name: "",
      brick_device_dir: "",
      decommissioned: "",
      brick_index: index,
    });
    const native = (type: string, count: number): any => ({
      namespace: "kadalu",
      kadalu_version: "x",
      volname: "p",
      volume_id: "v",
      single_pv_per_pool: false,
      type,
      pvReclaimPolicy: "delete",
      bricks: Array.from({ length: count }, (_, i) => brick(i)),
      disperse: { data: 0, redundancy: 0 },
      options: {},
    });
    expect(poolQuota(native("Replica1", 1), dir, () => [])?.distributed).toBe(false);
    expect(poolQuota(native("Replica1", 2), dir, () => [])?.distributed).toBe(true);
    expect(poolQuota(native("Replica3", 3), dir, () => [])?.distributed).toBe(false);
    expect(poolQuota(native("Replica3", 6), dir, () => [])?.distributed).toBe(true);
    expect(poolQuota(native("Replica1", 0), dir, () => [])).toBeUndefined();
    expect(
      poolQuota(
        {
          volname: "e",
          volume_id: "v",
          type: "External",
          pvReclaimPolicy: "delete",
          single_pv_per_pool: false,
          gluster_hosts: "h",
          gluster_volname: "g",
          gluster_options: "",
        },
        dir,
        () => [],
      ),
    ).toBeUndefined();
  });

  it("a local directory cannot tell which bricks it reaches: the mount's answer is undefined, not a brick away", async () => {
    const layout = poolQuota(
      {
        namespace: "kadalu",
        kadalu_version: "x",
        volname: "p",
        volume_id: "v",
        single_pv_per_pool: false,
        type: "Replica3",
        pvReclaimPolicy: "delete",
        bricks: [0, 1, 2].map((index) => ({
          brick_path: `/b/${index}`,
          kube_hostname: "n",
          node: "n",
          node_id: `node-${index}`,
          host_brick_path: "",
          brick_device: "",
          pvc_name: "",
          brick_device_dir: "",
          decommissioned: "",
          brick_index: index,
        })),
        disperse: { data: 0, redundancy: 0 },
        options: {},
      },
      dir,
      () => [],
    );
    expect(await layout!.bricksAway()).toBeUndefined();
  });
});

describe("--quota-crawl-rate", () => {
  const args = ["--endpoint", "unix:///tmp/x.sock", "--role", "provisioner"];
  it("defaults to 100 PVs per second, 0 turns the crawler off, and anything else is refused with the flag's name", async () => {
    const { parseArgs } = await import("../../../csi/main.js");
    expect(parseArgs(args, {}).quotaCrawlRate).toBe(100);
    expect(parseArgs([...args, "--quota-crawl-rate", "0"], {}).quotaCrawlRate).toBe(0);
    expect(() => parseArgs([...args, "--quota-crawl-rate=fast"], {})).toThrow(
      '--quota-crawl-rate must be a number of PVs per second (0 turns the crawler off), not "fast"',
    );
  });
});
