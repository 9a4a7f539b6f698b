/** The CSI driver over a real unix socket, with local-directory pools, real files, xattrs and SQLite. */
import { execFileSync } from "node:child_process";
import { getAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { status as Status } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildNativeInfo, encodeInfo } from "../../../src/core/info/codec.js";
import { pvMetadataPath, pvPath, pvPrefix } from "../../../src/core/pv-layout.js";
import type { KadaluStorage, ReclaimPolicy } from "../../../src/core/pool/types.js";
import { xxh64Hex } from "../../../src/core/xxh64.js";
import { StatDb } from "../../../src/statdb/stat-db.js";
import { startCsi, type RunningCsi } from "../../../csi/main.js";
import { GlusterMounter } from "../../../csi/os/mounter.js";
import { CallError, csiClient, type CsiClient } from "../../../harness/helpers/csi-client.js";
import { expectCode } from "../../../harness/helpers/csi-expect.js";
import { which } from "../../../harness/real/components.js";
import { volumeDirectories, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";

const GiB = 1024 ** 3;
const ROOT = process.getuid?.() === 0;
/** virtblock formats with XFS: without xfsprogs (apt-get install xfsprogs) that test says so and skips. */
const MKFS_XFS = which("mkfs.xfs");
if (ROOT && !MKFS_XFS) console.log("csi: virtblock test skipped: mkfs.xfs is not installed (apt-get install xfsprogs)");
const MOUNT = { mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } };
let dir: string;
let csi: RunningCsi;
let client: CsiClient;
const pools = ["pool1", "pool2", "pool3"];
const root = (pool: string): string => join(dir, "pools", pool);
const MiB = 1024 ** 2;
const ONE_NODE_MOUNT = { mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };

/** A 320 MiB virtblock PV (XFS inside) in pool1: its CreateVolume answer and its file in the pool. */
async function createVirtblock(name: string): Promise<{ volume: any; file: string }> {
  const { volume } = await client.controller("CreateVolume", {
    name,
    capacity_range: { required_bytes: 320 * MiB },
    volume_capabilities: [ONE_NODE_MOUNT],
    parameters: { storage_name: "pool1", pv_type: "Block" },
  });
  return { volume, file: join(root("pool1"), pvPath("virtblock", name)) };
}

function writeInfo(pool: string, policy: ReclaimPolicy = "delete"): void {
  const resource: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: pool },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: `/data/${pool}` }], pvReclaimPolicy: policy },
  };
  writeFileSync(
    join(dir, "info", `${pool}.info`),
    encodeInfo(buildNativeInfo(resource, { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "00000000-0000-4000-8000-000000000001" })),
  );
}

async function start(role: "provisioner" | "nodeplugin" = "provisioner"): Promise<void> {
  csi = await startCsi(
    {
      endpoint: `unix://${join(dir, "csi.sock")}`,
      nodeId: "kube1",
      role,
      infoDir: join(dir, "info"),
      mountRoot: join(dir, "mnt"),
      // The tests read stat.db from this same thread: a lock held past each transaction would wait on itself.
      poolDirs: new Map(pools.map((pool) => [pool, root(pool)])),
      kubeletDir: join(dir, "kubelet"),
      statDbHoldMs: 0,
    },
    () => undefined,
  );
  client = csiClient(`unix://${join(dir, "csi.sock")}`);
}

const create = (name: string, bytes: number, parameters: Record<string, string> = { storage_name: "pool1" }) =>
  client.controller("CreateVolume", { name, capacity_range: { required_bytes: bytes }, volume_capabilities: [MOUNT], parameters });

function statDb(pool: string): StatDb {
  return StatDb.open(join(root(pool), "stat.db"), { readonly: true });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-csi-"));
  mkdirSync(join(dir, "info"));
  for (const pool of pools) writeInfo(pool);
  await start();
});
afterEach(async () => {
  client.close();
  await csi.stop();
  // A test that failed half way may leave its loop mounts and devices: they go before the directory does.
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((path) => path.startsWith(`${dir}/`));
  for (const path of mounts.reverse()) execFileSync("umount", ["-l", path]);
  if (ROOT)
    for (const loop of execFileSync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], { encoding: "utf8" }).split("\n"))
      if (loop.includes(dir)) execFileSync("losetup", ["--detach", loop.split(/\s+/)[0]!]);
  rmSync(dir, { recursive: true, force: true });
});

describe("identity", () => {
  it("names the driver, its capabilities, and is ready when pool information is readable", async () => {
    expect(await client.identity("GetPluginInfo")).toEqual({ name: "kadalu", vendor_version: "0.0.0-dev", manifest: {} });
    expect((await client.identity("GetPluginCapabilities")).capabilities).toEqual([
      { service: { type: "CONTROLLER_SERVICE" }, type: "service" },
      { volume_expansion: { type: "ONLINE" }, type: "volume_expansion" },
    ]);
    expect((await client.identity("Probe")).ready).toEqual({ value: true });
    expect((await client.controller("ControllerGetCapabilities")).capabilities.map((c: any) => c.rpc.type)).toEqual([
      "CREATE_DELETE_VOLUME",
      "LIST_VOLUMES",
      "GET_CAPACITY",
      "EXPAND_VOLUME",
      "CREATE_DELETE_SNAPSHOT",
      "LIST_SNAPSHOTS",
      "CLONE_VOLUME",
      "SINGLE_NODE_MULTI_WRITER",
    ]);
  });

  it("answers UNIMPLEMENTED for what it does not serve", async () => {
    for (const path of ["/csi.v1.GroupController/CreateVolumeGroupSnapshot", "/csi.v1.Controller/ControllerPublishVolume"]) {
      expect((await client.raw(path)).code).toBe(Status.UNIMPLEMENTED);
    }
  });
});

describe("CreateVolume", () => {
  it("carves a subdirectory PV in upstream's layout, with metadata, stat.db row and quota xattrs", async () => {
    const { volume } = await create("pvc-1", GiB);
    expect(volume).toEqual({
      volume_id: "pvc-1",
      capacity_bytes: GiB,
      content_source: null,
      accessible_topology: [],
      volume_context: { type: "Replica1", hostvol: "pool1", pvtype: "subvol", path: "subvol/d3/d3/pvc-1", fstype: "xfs", single_pv_per_pool: "False" },
    });
    expect(pvPath("subvol", "pvc-1")).toBe("subvol/d3/d3/pvc-1");
    expect(lstatSync(join(root("pool1"), "subvol/d3/d3/pvc-1")).isDirectory()).toBe(true);
    expect(readFileSync(join(root("pool1"), pvMetadataPath("subvol", "pvc-1")), "utf8")).toBe('{"size": 1073741824, "path_prefix": "subvol/d3/d3"}');
    const db = statDb("pool1");
    expect(db.getPv("pvc-1")).toMatchObject({ size: GiB, hash: xxh64Hex("pvc-1") });
    expect(db.journalMode()).toBe("delete");
    db.close();
    // trusted.* xattrs need root (CAP_SYS_ADMIN); elsewhere they are logged, not set (the next test file checks that).
    const xattr = (name: string) => getAttributeSync(join(root("pool1"), "subvol/d3/d3/pvc-1"), name)?.toString("utf8");
    expect(xattr("trusted.glusterfs.namespace")).toBe(ROOT ? "true" : undefined);
    expect(xattr("trusted.gfs.squota.limit")).toBe(ROOT ? String(GiB) : undefined);
  });

  it("is idempotent: the same name returns the same volume without counting it twice", async () => {
    const first = await create("pvc-1", GiB, {});
    const again = await create("pvc-1", GiB, {});
    expect(again).toEqual(first);
    const totals = pools.map((pool) => {
      const db = statDb(pool);
      const t = db.totals();
      db.close();
      return t.count;
    });
    expect(totals.reduce((a, b) => a + b, 0)).toBe(1);
    await expectCode(create("pvc-1", 2 * GiB, {}), Status.ALREADY_EXISTS, /already exists with 1073741824 bytes/);
  });

  it("completes a create that a crash interrupted", async () => {
    mkdirSync(join(root("pool1"), "subvol/d3/d3/pvc-1"), { recursive: true });
    mkdirSync(join(root("pool1"), "info/subvol/d3/d3"), { recursive: true });
    writeFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), '{"size": 1073741824, "path_prefix": "subvol/d3/d3"}');
    await create("pvc-1", GiB);
    const db = statDb("pool1");
    expect(db.getPv("pvc-1")?.size).toBe(GiB);
    db.close();
  });

  it("finds a volume that stat.db does not know yet: another size is refused and its quota stays as it was", async () => {
    // What this driver's ledger cannot know: metadata and a directory written after it opened the pool
    // (and repaired it), without a row.
    expect((await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } })).available_capacity).toBeGreaterThan(0);
    const dirPath = join(root("pool1"), "subvol/d3/d3/pvc-1");
    mkdirSync(dirPath, { recursive: true });
    if (ROOT) setAttributeSync(dirPath, "trusted.gfs.squota.limit", Buffer.from(String(2 * GiB)));
    mkdirSync(join(root("pool1"), "info/subvol/d3/d3"), { recursive: true });
    writeFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), '{"size": 2147483648, "path_prefix": "subvol/d3/d3"}');
    const refused = client.controller("CreateVolume", {
      name: "pvc-1",
      capacity_range: { required_bytes: GiB, limit_bytes: GiB },
      volume_capabilities: [MOUNT],
      parameters: { storage_name: "pool1" },
    });
    await expectCode(refused, Status.ALREADY_EXISTS, /already exists with 2147483648 bytes/);
    expect(readFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), "utf8")).toBe('{"size": 2147483648, "path_prefix": "subvol/d3/d3"}');
    if (ROOT) expect(getAttributeSync(dirPath, "trusted.gfs.squota.limit")?.toString()).toBe(String(2 * GiB));
    const db = statDb("pool1");
    expect(db.getPv("pvc-1")).toBeUndefined();
    db.close();
    // Within the range: the volume as it is, now counted.
    expect((await create("pvc-1", GiB)).volume.capacity_bytes).toBe(2 * GiB);
    const after = statDb("pool1");
    expect(after.getPv("pvc-1")?.size).toBe(2 * GiB);
    after.close();
  });

  it.each([
    [{ name: "" }, Status.INVALID_ARGUMENT, /name missing/],
    [{ name: "../etc" }, Status.INVALID_ARGUMENT, /may hold only letters/],
    [{ name: "a/b" }, Status.INVALID_ARGUMENT, /may hold only letters/],
    [{ name: "x\u0000y" }, Status.INVALID_ARGUMENT, /may hold only letters/],
    [{ name: "x".repeat(254) }, Status.INVALID_ARGUMENT, /at most 253/],
    [{ name: "pvc-1", volume_capabilities: [] }, Status.INVALID_ARGUMENT, /volume_capabilities missing/],
    [
      { name: "pvc-1", volume_capabilities: [{ block: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }] },
      Status.INVALID_ARGUMENT,
      /a rawblock PV is one node's: only the access modes SINGLE_NODE_WRITER \(ReadWriteOnce\), SINGLE_NODE_SINGLE_WRITER and SINGLE_NODE_MULTI_WRITER/,
    ],
    [
      { name: "pvc-1", volume_capabilities: [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }], parameters: { pv_type: "Block" } },
      Status.INVALID_ARGUMENT,
      /a virtblock PV is one node's/,
    ],
    [
      {
        name: "pvc-1",
        capacity_range: { required_bytes: 100 * 1024 ** 2 },
        volume_capabilities: [{ mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
        parameters: { pv_type: "block" },
      },
      Status.OUT_OF_RANGE,
      /XFS filesystem, which needs at least 300/,
    ],
    [{ name: "pvc-1", capacity_range: { required_bytes: 2 * GiB, limit_bytes: GiB } }, Status.OUT_OF_RANGE, /exceeds limit_bytes/],
    // The archive prefix is reserved: such a volume could not be deleted, and removing it would drop pvc-1's row.
    [{ name: "archived-pvc-1", parameters: { storage_name: "pool1" } }, Status.INVALID_ARGUMENT, /the prefix archived- is reserved for archived volumes/],
    // A pool not in kadalu-info (yet): retryable, the operator may be writing it now.
    [{ name: "pvc-1", parameters: { storage_name: "nope" } }, Status.UNAVAILABLE, /pool nope is not in kadalu-info yet; pools: pool1, pool2, pool3/],
    [{ name: "pvc-1", parameters: { storage_name: "pool1", hostvol_type: "Replica3" } }, Status.INVALID_ARGUMENT, /no pool matches/],
    [{ name: "pvc-1", capacity_range: { required_bytes: 2 ** 52 } }, Status.RESOURCE_EXHAUSTED, /no pool has room for 4\.0 PiB/],
  ])("%j -> %s", async (request, code, details) => {
    await expectCode(client.controller("CreateVolume", { volume_capabilities: [MOUNT], capacity_range: { required_bytes: GiB }, ...request }), code, details);
    expect(volumeDirectories(root("pool1")), "no volume directory").toEqual([]);
  });

  it("admits concurrent creates only while they fit: space is reserved as each one is admitted", async () => {
    const fs = statfsSync(root("pool1"));
    const capacity = fs.blocks * fs.bsize;
    // 40% of the pool: the first fits (< 90% of all), the second too (< 90% of the 60% left), no third.
    const size = Math.floor(capacity * 0.4);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => create(`pvc-big-${i}`, size)));
    const admitted = results.filter((result) => result.status === "fulfilled");
    expect(admitted).toHaveLength(2);
    for (const result of results.filter((r): r is PromiseRejectedResult => r.status === "rejected"))
      expect(Status[(result.reason as CallError).code]).toBe("RESOURCE_EXHAUSTED");
    const db = statDb("pool1");
    expect(db.totals()).toMatchObject({ count: 2, sum: 2 * size });
    db.close();
    expect(volumeDirectories(root("pool1"))).toHaveLength(2);
  });

  it("redoes a create whose metadata file was left torn (killed between creating and writing it)", async () => {
    mkdirSync(join(root("pool1"), "info/subvol/d3/d3"), { recursive: true });
    writeFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), '{"size": 10');
    const { volume } = await create("pvc-1", GiB);
    expect(volume.capacity_bytes).toBe(GiB);
    expect(readFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), "utf8")).toBe(`{"size": ${GiB}, "path_prefix": "subvol/d3/d3"}`);
  });

  it("keeps stat.db exact under 50 concurrent creates across 3 pools", async () => {
    const sizes = Array.from({ length: 50 }, (_, i) => (i + 1) * 1024 * 1024);
    const results = await Promise.all(sizes.map((size, i) => create(`pvc-${i}`, size, { storage_name: pools[i % 3]! })));
    const byPool = new Map<string, number[]>();
    for (const [i, result] of results.entries())
      byPool.set(result.volume.volume_context.hostvol, [...(byPool.get(result.volume.volume_context.hostvol) ?? []), sizes[i]!]);
    expect([...byPool.keys()].sort()).toEqual(pools);
    let count = 0;
    for (const pool of pools) {
      const db = statDb(pool);
      const totals = db.totals();
      const expected = byPool.get(pool) ?? [];
      expect(totals.count).toBe(expected.length);
      expect(totals.sum).toBe(expected.reduce((a, b) => a + b, 0));
      for (const row of db.listPvs()) expect(existsSync(join(root(pool), pvPath("subvol", row.pvname)))).toBe(true);
      count += totals.count;
      db.close();
    }
    expect(count).toBe(50);
  });
});

describe("stat.db on a thread of its own", () => {
  it("keeps answering other calls while a create's commit waits for stat.db's lock, and acknowledges it once the row is in", async () => {
    await create("pvc-first", GiB);
    const freeBefore = Number((await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } })).available_capacity);
    // Another writer (upstream's sqlite3, say) holds the file: the driver's commit waits on its busy timeout.
    const holder = new Database(join(root("pool1"), "stat.db"), { timeout: 0 });
    holder.exec("BEGIN EXCLUSIVE");
    let acknowledged = false;
    const creating = create("pvc-waits", GiB).then(() => (acknowledged = true));
    try {
      for (let i = 0; i < 5; i += 1) {
        expect((await client.identity("Probe")).ready).toEqual({ value: true });
        expect(Number((await client.controller("GetCapacity", { parameters: { storage_name: "pool2" } })).available_capacity)).toBeGreaterThan(0);
      }
      // The space is reserved at once, but nothing is acknowledged while the row is not durable.
      expect(Number((await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } })).available_capacity)).toBeLessThan(freeBefore);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(acknowledged).toBe(false);
    } finally {
      holder.exec("COMMIT");
      holder.close();
    }
    await creating;
    const db = statDb("pool1");
    expect(db.getPv("pvc-waits")?.size).toBe(GiB);
    db.close();
  });

  it("takes the row back when the files of a create fail after the row went in: nothing counted, nothing left in stat.db", async () => {
    await create("pvc-first", GiB);
    const capacity = async (): Promise<number> =>
      Number((await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } })).available_capacity);
    const freeBefore = await capacity();
    // A file where the PV's hash directory should be: its directory cannot be made.
    const name = "pvc-blocked";
    mkdirSync(join(root("pool1"), pvPrefix("subvol", name), ".."), { recursive: true });
    writeFileSync(join(root("pool1"), pvPrefix("subvol", name)), "");
    await expectCode(create(name, GiB), Status.INTERNAL, /ENOTDIR|not a directory/);
    expect(await capacity()).toBe(freeBefore);
    const db = statDb("pool1");
    expect(db.getPv(name)).toBeUndefined();
    expect(db.getPv("pvc-first")?.size).toBe(GiB);
    db.close();
  });
});

describe("DeleteVolume, ControllerExpandVolume and the reclaim policies", () => {
  it("deletes the directory, metadata and stat.db row (the hash directories stay for the next PV); a missing volume is fine", async () => {
    await create("pvc-1", GiB);
    await client.controller("DeleteVolume", { volume_id: "pvc-1" });
    expect(readdirSync(join(root("pool1"), pvPath("subvol", "pvc-1"), ".."))).toEqual([]);
    expect(readdirSync(join(root("pool1"), pvPath("subvol", "pvc-1").replace(/^/, "info/"), ".."))).toEqual([]);
    const db = statDb("pool1");
    expect(db.totals().count).toBe(0);
    db.close();
    expect(await client.controller("DeleteVolume", { volume_id: "pvc-1" })).toEqual({});
    await expectCode(client.controller("DeleteVolume", {}), Status.INVALID_ARGUMENT, /volume_id missing/);
  });

  it("archives in place without touching a neighbour that shares the hash prefix", async () => {
    writeInfo("pool1", "archive");
    const prefixes = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i += 1) {
      const name = `pvc-${i}`;
      const prefix = xxh64Hex(name).slice(0, 4);
      if (prefixes.has(prefix)) pair = [prefixes.get(prefix)!, name];
      prefixes.set(prefix, name);
    }
    const [doomed, neighbour] = pair;
    await create(doomed, GiB);
    await create(neighbour, 2 * GiB);
    writeFileSync(join(root("pool1"), pvPath("subvol", neighbour), "data.txt"), "keep me");
    await client.controller("DeleteVolume", { volume_id: doomed });
    const prefix = pvPath("subvol", doomed).split("/").slice(0, 3).join("/");
    expect(existsSync(join(root("pool1"), prefix, `archived-${doomed}`))).toBe(true);
    expect(existsSync(join(root("pool1"), "info", prefix, `archived-${doomed}.json`))).toBe(true);
    expect(readFileSync(join(root("pool1"), pvPath("subvol", neighbour), "data.txt"), "utf8")).toBe("keep me");
    const db = statDb("pool1");
    expect(
      db
        .listPvs()
        .map((row) => row.pvname)
        .sort(),
    ).toEqual([doomed, neighbour].sort());
    db.close();
    const listed = (await client.controller("ListVolumes", {})).entries.map((e: any) => e.volume.volume_id);
    expect(listed).toContain(`archived-${doomed}`);
  });

  it("keeps an archived volume's row when its delete is repeated after the pool switched to the delete policy", async () => {
    writeInfo("pool1", "archive");
    await create("pvc-1", GiB);
    await client.controller("DeleteVolume", { volume_id: "pvc-1" });
    writeInfo("pool1", "delete");
    expect(await client.controller("DeleteVolume", { volume_id: "pvc-1" })).toEqual({});
    const db = statDb("pool1");
    expect(db.getPv("pvc-1")?.size).toBe(GiB);
    db.close();
    const archived = (await client.controller("ListVolumes", {})).entries.map((e: any) => [e.volume.volume_id, e.volume.capacity_bytes]);
    expect(archived).toEqual([["archived-pvc-1", GiB]]);
    // The archived volume itself goes with its row.
    await client.controller("DeleteVolume", { volume_id: "archived-pvc-1" });
    const after = statDb("pool1");
    expect(after.getPv("pvc-1")).toBeUndefined();
    after.close();
  });

  it("records the claim the provisioner names in the metadata; expansion and archiving keep it", async () => {
    writeInfo("pool1", "archive");
    const claimOf = (name: string, namespace: string) => ({
      storage_name: "pool1",
      "csi.storage.k8s.io/pvc/name": name,
      "csi.storage.k8s.io/pvc/namespace": namespace,
    });
    await create("pvc-1", GiB, claimOf("data-web-0", "shop"));
    const file = join(root("pool1"), "info/subvol/d3/d3/pvc-1.json");
    expect(readFileSync(file, "utf8")).toBe(`{"size": ${GiB}, "path_prefix": "subvol/d3/d3", "pvc_name": "data-web-0", "pvc_namespace": "shop"}`);
    await client.controller("ControllerExpandVolume", { volume_id: "pvc-1", capacity_range: { required_bytes: 2 * GiB } });
    expect(readFileSync(file, "utf8")).toBe(`{"size": ${2 * GiB}, "path_prefix": "subvol/d3/d3", "pvc_name": "data-web-0", "pvc_namespace": "shop"}`);
    await client.controller("DeleteVolume", { volume_id: "pvc-1" });
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(join(root("pool1"), "info/subvol/d3/d3/archived-pvc-1.json"), "utf8")).toBe(
      `{"size": ${2 * GiB}, "path_prefix": "subvol/d3/d3", "pvc_name": "data-web-0", "pvc_namespace": "shop"}`,
    );
    // A name Kubernetes could not have given (here a terminal escape) is not recorded: upstream's text, unchanged.
    await create("pvc-2", GiB, claimOf("x\u001b[2J", "shop"));
    expect(readFileSync(join(root("pool1"), pvMetadataPath("subvol", "pvc-2")), "utf8")).toBe(
      `{"size": ${GiB}, "path_prefix": "${pvPrefix("subvol", "pvc-2")}"}`,
    );
  });

  it("retains everything with the retain policy", async () => {
    writeInfo("pool1", "retain");
    await create("pvc-1", GiB);
    await client.controller("DeleteVolume", { volume_id: "pvc-1" });
    expect(existsSync(join(root("pool1"), "subvol/d3/d3/pvc-1"))).toBe(true);
  });

  it("expands metadata, quota and stat.db; refuses growth beyond the capacity rule", async () => {
    await create("pvc-1", GiB);
    expect(await client.controller("ControllerExpandVolume", { volume_id: "pvc-1", capacity_range: { required_bytes: 3 * GiB } })).toEqual({
      capacity_bytes: 3 * GiB,
      node_expansion_required: false,
    });
    expect(readFileSync(join(root("pool1"), "info/subvol/d3/d3/pvc-1.json"), "utf8")).toBe(`{"size": ${3 * GiB}, "path_prefix": "subvol/d3/d3"}`);
    expect(getAttributeSync(join(root("pool1"), "subvol/d3/d3/pvc-1"), "trusted.gfs.squota.limit")?.toString("utf8")).toBe(ROOT ? String(3 * GiB) : undefined);
    const db = statDb("pool1");
    expect(db.getPv("pvc-1")?.size).toBe(3 * GiB);
    db.close();
    expect((await client.controller("ControllerExpandVolume", { volume_id: "pvc-1", capacity_range: { required_bytes: GiB } })).capacity_bytes).toBe(3 * GiB);
    await expectCode(
      client.controller("ControllerExpandVolume", { volume_id: "pvc-1", capacity_range: { required_bytes: 2 ** 52 } }),
      Status.RESOURCE_EXHAUSTED,
      /no room to grow pvc-1/,
    );
    await expectCode(client.controller("ControllerExpandVolume", { volume_id: "pvc-9", capacity_range: { required_bytes: GiB } }), Status.NOT_FOUND);
    await expectCode(client.controller("ControllerExpandVolume", { volume_id: "pvc-1" }), Status.INVALID_ARGUMENT, /capacity_range missing/);
  });
});

describe("pool selection by StorageClass parameters", () => {
  it("honours single_pv_per_pool, node_affinity and External pools' parameters", async () => {
    const single = await create("pvc-s", GiB, { storage_name: "pool2", single_pv_per_pool: "True" });
    expect(single.volume.volume_context).toEqual({ type: "Replica1", hostvol: "pool2", pvtype: "subvol", fstype: "xfs", single_pv_per_pool: "True" });
    expect(volumeDirectories(root("pool2"))).toEqual([]);
    expect((await create("pvc-n", GiB, { node_affinity: "kube1", storage_name: "pool3" })).volume.volume_context.hostvol).toBe("pool3");
    await expectCode(create("pvc-m", GiB, { node_affinity: "kube9" }), Status.INVALID_ARGUMENT, /no pool matches/);
    writeFileSync(
      join(dir, "info", "ext1.info"),
      '{"volname": "ext1", "volume_id": "v", "type": "External", "pvReclaimPolicy": "delete", "single_pv_per_pool": false, "gluster_hosts": "g1,g2", "gluster_volname": "gv0", "gluster_options": ""}',
    );
    client.close();
    await csi.stop();
    pools.push("ext1");
    try {
      await start();
      const external = await create("pvc-e", GiB, { hostvol_type: "External", gluster_hosts: "g1,g2", gluster_volname: "gv0", single_pv_per_pool: "False" });
      expect(external.volume.volume_context).toMatchObject({
        type: "External",
        hostvol: "ext1",
        gvolname: "gv0",
        gserver: "g1,g2",
        path: pvPath("subvol", "pvc-e"),
      });
      const db = statDb("ext1");
      expect(db.getPv("pvc-e")?.size).toBe(GiB);
      db.close();
      await expectCode(
        create("pvc-f", GiB, { hostvol_type: "External", gluster_hosts: "other", gluster_volname: "gv0" }),
        Status.INVALID_ARGUMENT,
        /no pool matches/,
      );
    } finally {
      pools.pop();
    }
  });

  it("is not ready while no pool information is readable", async () => {
    client.close();
    await csi.stop();
    csi = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "kube1",
        role: "provisioner",
        infoDir: join(dir, "nowhere"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map(),
      },
      () => undefined,
    );
    client = csiClient(`unix://${join(dir, "csi.sock")}`);
    expect((await client.identity("Probe")).ready).toEqual({ value: false });
  });
});

describe("ListVolumes, GetCapacity, ValidateVolumeCapabilities", () => {
  it("pages with stateless tokens and refuses a forged one", async () => {
    for (const i of [3, 1, 4, 2, 5]) await create(`pvc-${i}`, GiB, {});
    const first = await client.controller("ListVolumes", { max_entries: 2 });
    expect(first.entries.map((e: any) => e.volume.volume_id)).toEqual(["pvc-1", "pvc-2"]);
    const second = await client.controller("ListVolumes", { max_entries: 2, starting_token: first.next_token });
    expect(second.entries.map((e: any) => e.volume.volume_id)).toEqual(["pvc-3", "pvc-4"]);
    const last = await client.controller("ListVolumes", { max_entries: 2, starting_token: second.next_token });
    expect(last.entries.map((e: any) => e.volume.volume_id)).toEqual(["pvc-5"]);
    expect(last.next_token).toBe("");
    await expectCode(
      client.controller("ListVolumes", { starting_token: `${Buffer.from("pvc-2").toString("base64url")}.000000000000` }),
      Status.ABORTED,
      /not valid/,
    );
  });

  it("reports 90% of the best pool's free space", async () => {
    const { available_capacity } = await client.controller("GetCapacity", { parameters: { storage_name: "pool2" } });
    const fs = (await import("node:fs")).statfsSync(root("pool2"));
    expect(Math.abs(available_capacity - fs.blocks * fs.bsize * 0.9)).toBeLessThan(fs.blocks * fs.bsize * 0.01);
  });

  it("confirms mount capabilities of an existing volume", async () => {
    await create("pvc-1", GiB);
    expect(
      (await client.controller("ValidateVolumeCapabilities", { volume_id: "pvc-1", volume_capabilities: [MOUNT] })).confirmed.volume_capabilities,
    ).toHaveLength(1);
    expect(
      (
        await client.controller("ValidateVolumeCapabilities", {
          volume_id: "pvc-1",
          volume_capabilities: [{ block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
        })
      ).message,
    ).toMatch(/is a subvol PV: only volumeMode Filesystem fits it/);
    await expectCode(client.controller("ValidateVolumeCapabilities", { volume_id: "pvc-9", volume_capabilities: [MOUNT] }), Status.NOT_FOUND);
  });
});

describe("a pool laid out by upstream", () => {
  it("is served unchanged: listed, expanded and deleted", async () => {
    const name = "pvc-5b0f0f0e-1111-2222-3333-444455556666";
    writeUpstreamStatDb(join(dir, "upstream"), "pool3", 100 * GiB, [[name, GiB, xxh64Hex(name)]]);
    rmSync(root("pool3"), { recursive: true, force: true });
    mkdirSync(join(dir, "pools"), { recursive: true });
    execFileSync("mv", [join(dir, "upstream/mnt/pool3"), root("pool3")]);
    mkdirSync(join(root("pool3"), "subvol/c3/c0", name), { recursive: true });
    mkdirSync(join(root("pool3"), "info/subvol/c3/c0"), { recursive: true });
    writeFileSync(join(root("pool3"), "info/subvol/c3/c0", `${name}.json`), '{"size": 1073741824, "path_prefix": "subvol/c3/c0"}');
    const listed = await client.controller("ListVolumes", {});
    expect(listed.entries.map((e: any) => [e.volume.volume_id, e.volume.capacity_bytes, e.volume.volume_context.path])).toEqual([
      [name, GiB, `subvol/c3/c0/${name}`],
    ]);
    expect((await create(name, GiB, { storage_name: "pool3" })).volume.volume_context.hostvol).toBe("pool3");
    await client.controller("ControllerExpandVolume", { volume_id: name, capacity_range: { required_bytes: 2 * GiB } });
    await client.controller("DeleteVolume", { volume_id: name });
    const db = statDb("pool3");
    expect(db.totals().count).toBe(0);
    expect(db.capacity()).toBeGreaterThan(0);
    db.close();
  });
});

describe("block PVs (virtblock, rawblock) in upstream's layout", () => {
  // virtblock: StorageClass parameter pv_type: block, an XFS filesystem in a sparse file, loop-mounted at the
  // target; rawblock: volumeMode Block, the file attached as a loop device, bound over the target file.
  const BLOCK = { block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };
  const loopsOf = (file: string): string => execFileSync("losetup", ["--associated", file], { encoding: "utf8" }).trim();

  function upstreamBlockPv(pool: string, pvtype: "virtblock" | "rawblock", name: string, size: number): string {
    const file = join(root(pool), pvPath(pvtype, name));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "");
    execFileSync("truncate", ["-s", String(size), file]);
    mkdirSync(join(root(pool), pvMetadataPath(pvtype, name), ".."), { recursive: true });
    writeFileSync(join(root(pool), pvMetadataPath(pvtype, name)), `{"size": ${size}, "path_prefix": "${pvPrefix(pvtype, name)}"}`);
    return file;
  }

  it("finds and lists upstream's, and deletes or archives file, metadata and row", async () => {
    client.close();
    await csi.stop();
    writeInfo("pool2", "archive");
    const virt = upstreamBlockPv("pool1", "virtblock", "pvc-virt", GiB);
    const raw = upstreamBlockPv("pool2", "rawblock", "pvc-raw", 2 * GiB);
    for (const [pool, name, size] of [
      ["pool1", "pvc-virt", GiB],
      ["pool2", "pvc-raw", 2 * GiB],
    ] as const) {
      const db = StatDb.open(join(root(pool), "stat.db"));
      db.upsertPv(name, size);
      db.close();
    }
    await start();
    const listed = await client.controller("ListVolumes", {});
    expect(listed.entries.map((e: any) => [e.volume.volume_id, e.volume.capacity_bytes, e.volume.volume_context.pvtype, e.volume.volume_context.path])).toEqual(
      [
        ["pvc-raw", 2 * GiB, "rawblock", pvPath("rawblock", "pvc-raw")],
        ["pvc-virt", GiB, "virtblock", pvPath("virtblock", "pvc-virt")],
      ],
    );
    await expectCode(create("pvc-virt", GiB), Status.ALREADY_EXISTS, /already exists as a virtblock PV in pool pool1, not subvol/);
    expect((await client.controller("ValidateVolumeCapabilities", { volume_id: "pvc-raw", volume_capabilities: [MOUNT] })).message).toMatch(
      /is a rawblock PV: only volumeMode Block fits it/,
    );
    await client.controller("DeleteVolume", { volume_id: "pvc-virt" });
    expect(existsSync(virt)).toBe(false);
    expect(existsSync(join(root("pool1"), pvMetadataPath("virtblock", "pvc-virt")))).toBe(false);
    const db = statDb("pool1");
    expect(db.getPv("pvc-virt")).toBeUndefined();
    db.close();
    // pool2 archives: the file and its metadata are renamed in place, the row stays (as upstream keeps it).
    await client.controller("DeleteVolume", { volume_id: "pvc-raw" });
    expect(existsSync(raw)).toBe(false);
    expect(statSync(join(raw, "..", "archived-pvc-raw")).size).toBe(2 * GiB);
    expect(existsSync(join(root("pool2"), pvMetadataPath("rawblock", "pvc-raw"), "..", "archived-pvc-raw.json"))).toBe(true);
    expect((await client.controller("ListVolumes", {})).entries.map((e: any) => e.volume.volume_id)).toEqual(["archived-pvc-raw"]);
  });

  it.skipIf(!ROOT)("rawblock: a sparse file attached as a real loop device at the target; grown on the node; detached and deleted", async () => {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-raw",
      capacity_range: { required_bytes: 64 * MiB },
      volume_capabilities: [BLOCK],
      parameters: { storage_name: "pool1" },
    });
    expect(volume.volume_context).toMatchObject({ pvtype: "rawblock", path: pvPath("rawblock", "pvc-raw") });
    const file = join(root("pool1"), pvPath("rawblock", "pvc-raw"));
    expect(statSync(file).size).toBe(64 * MiB);
    expect(statSync(file).blocks).toBe(0); // sparse
    const target = join(dir, "kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-raw/pod-uid");
    await client.node("NodePublishVolume", { volume_id: "pvc-raw", target_path: target, volume_capability: BLOCK, volume_context: volume.volume_context });
    await client.node("NodePublishVolume", { volume_id: "pvc-raw", target_path: target, volume_capability: BLOCK, volume_context: volume.volume_context });
    expect(statSync(target).isBlockDevice()).toBe(true);
    expect(loopsOf(file).split("\n")).toHaveLength(1);
    // What the pod writes to the device lands in the pool's file.
    const device = openSync(target, "r+");
    writeSync(device, Buffer.from("kadalu raw block"), 0, 16, 4096);
    fsyncSync(device);
    closeSync(device);
    expect(readFileSync(file).subarray(4096, 4112).toString()).toBe("kadalu raw block");
    expect((await client.node("NodeGetVolumeStats", { volume_id: "pvc-raw", volume_path: target })).usage).toEqual([
      { unit: "BYTES", total: 64 * MiB, available: 0, used: 0 },
    ]);
    expect(await client.controller("ControllerExpandVolume", { volume_id: "pvc-raw", capacity_range: { required_bytes: 96 * MiB } })).toEqual({
      capacity_bytes: 96 * MiB,
      node_expansion_required: true,
    });
    await client.node("NodeExpandVolume", { volume_id: "pvc-raw", volume_path: target, capacity_range: { required_bytes: 96 * MiB } });
    expect((await client.node("NodeGetVolumeStats", { volume_id: "pvc-raw", volume_path: target })).usage[0].total).toBe(96 * MiB);
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-raw", target_path: target });
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-raw", target_path: target });
    expect(existsSync(target)).toBe(false);
    expect(loopsOf(file)).toBe("");
    const db = statDb("pool1");
    expect(db.getPv("pvc-raw")?.size).toBe(96 * MiB);
    db.close();
    await client.controller("DeleteVolume", { volume_id: "pvc-raw" });
    expect(existsSync(file)).toBe(false);
  });

  describe("rawblock published at several targets on one node", () => {
    const targetOf = (pod: string): string => join(dir, `kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-shared/${pod}`);
    let context: Record<string, string>;
    let file: string;
    const publish = (pod: string) =>
      client.node("NodePublishVolume", { volume_id: "pvc-shared", target_path: targetOf(pod), volume_capability: BLOCK, volume_context: context });
    const unpublish = (pod: string) => client.node("NodeUnpublishVolume", { volume_id: "pvc-shared", target_path: targetOf(pod) });
    const deviceOf = (pod: string): bigint => statSync(targetOf(pod), { bigint: true }).rdev;
    const readAt = (fd: number, position: number, length: number): string => {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, position);
      return buffer.toString();
    };

    beforeEach(async () => {
      if (!ROOT) return;
      const { volume } = await client.controller("CreateVolume", {
        name: "pvc-shared",
        capacity_range: { required_bytes: 16 * MiB },
        volume_capabilities: [BLOCK],
        parameters: { storage_name: "pool1" },
      });
      context = volume.volume_context;
      file = join(root("pool1"), pvPath("rawblock", "pvc-shared"));
    });

    it.skipIf(!ROOT)("share one loop device, which stays until the last target goes, also across a driver restart", async () => {
      await publish("pod-a");
      await publish("pod-b");
      expect(deviceOf("pod-a")).toBe(deviceOf("pod-b"));
      expect(loopsOf(file).split("\n")).toHaveLength(1);
      // Pod b holds its device open and has read the block before pod a writes it: it must see the write
      // without reopening (two loop devices would each answer from their own page cache).
      const a = openSync(targetOf("pod-a"), "r+");
      const b = openSync(targetOf("pod-b"), "r+");
      try {
        expect(readAt(b, 8192, 12)).toBe("\0".repeat(12));
        writeSync(a, Buffer.from("from pod a.."), 0, 12, 8192);
        fsyncSync(a);
        expect(readAt(b, 8192, 12)).toBe("from pod a..");
      } finally {
        closeSync(a);
        closeSync(b);
      }
      await unpublish("pod-a");
      expect(existsSync(targetOf("pod-a"))).toBe(false);
      expect(loopsOf(file).split("\n")).toHaveLength(1);
      const still = openSync(targetOf("pod-b"), "r+");
      writeSync(still, Buffer.from("pod b alone."), 0, 12, 8192);
      fsyncSync(still);
      closeSync(still);
      expect(readFileSync(file).subarray(8192, 8204).toString()).toBe("pod b alone.");
      // A restarted driver remembers nothing: it shares and counts from the loop devices and the mount table.
      client.close();
      await csi.stop();
      await start();
      await publish("pod-c");
      expect(deviceOf("pod-c")).toBe(deviceOf("pod-b"));
      await unpublish("pod-b");
      expect(loopsOf(file).split("\n")).toHaveLength(1);
      await unpublish("pod-c");
      expect(loopsOf(file)).toBe("");
      expect(existsSync(targetOf("pod-c"))).toBe(false);
    });

    it.skipIf(!ROOT)("never share a device over another file at the same path (the pool mounted again after a restart)", async () => {
      // The previous nodeplugin's device stays over the file of its dead FUSE mount, which the new mount covers.
      const stale = execFileSync("losetup", ["--find", "--show", file], { encoding: "utf8" }).trim();
      const remounted = join(dir, "remounted");
      mkdirSync(remounted);
      execFileSync("truncate", ["-s", String(16 * MiB), join(remounted, basename(file))]);
      execFileSync("mount", ["--bind", remounted, dirname(file)]);
      expect(readFileSync(`/sys/block/${basename(stale)}/loop/backing_file`, "utf8").trim()).toBe(file);
      await publish("pod-a");
      expect(deviceOf("pod-a")).not.toBe(statSync(stale, { bigint: true }).rdev);
      await unpublish("pod-a");
      expect(loopsOf(file)).toBe("");
      execFileSync("umount", [dirname(file)]);
      execFileSync("losetup", ["--detach", stale]);
    });

    it.skipIf(!ROOT)("attach one loop device when published at two targets at once", async () => {
      await Promise.all([publish("pod-a"), publish("pod-b")]);
      expect(deviceOf("pod-a")).toBe(deviceOf("pod-b"));
      expect(loopsOf(file).split("\n")).toHaveLength(1);
      await Promise.all([unpublish("pod-a"), unpublish("pod-b")]);
      expect(loopsOf(file)).toBe("");
    });
  });

  it.skipIf(!ROOT || !MKFS_XFS)(
    "virtblock: an XFS filesystem in the file, loop-mounted; data survives republishing; the filesystem grows on the node",
    async () => {
      const { volume, file } = await createVirtblock("pvc-virt");
      expect(volume.volume_context).toMatchObject({ pvtype: "virtblock", path: pvPath("virtblock", "pvc-virt") });
      expect(execFileSync("file", ["-b", file], { encoding: "utf8" })).toMatch(/XFS filesystem/);
      const target = join(dir, "kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-virt/mount");
      const publish = () =>
        client.node("NodePublishVolume", {
          volume_id: "pvc-virt",
          target_path: target,
          volume_capability: ONE_NODE_MOUNT,
          volume_context: volume.volume_context,
        });
      await publish();
      expect(readFileSync("/proc/self/mounts", "utf8")).toMatch(new RegExp(`^/dev/loop\\d+ ${target} xfs `, "m"));
      writeFileSync(join(target, "data"), "kept");
      await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: target });
      expect(loopsOf(file)).toBe("");
      await publish();
      expect(readFileSync(join(target, "data"), "utf8")).toBe("kept");
      const before = statfsSync(target).blocks * statfsSync(target).bsize;
      expect(
        (await client.controller("ControllerExpandVolume", { volume_id: "pvc-virt", capacity_range: { required_bytes: 512 * MiB } })).node_expansion_required,
      ).toBe(true);
      await client.node("NodeExpandVolume", { volume_id: "pvc-virt", volume_path: target, capacity_range: { required_bytes: 512 * MiB } });
      const after = statfsSync(target).blocks * statfsSync(target).bsize;
      expect(after - before).toBeGreaterThan(150 * MiB);
      await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: target });
      expect(existsSync(target)).toBe(false);
      await client.controller("DeleteVolume", { volume_id: "pvc-virt" });
      expect(existsSync(file)).toBe(false);
    },
  );

  it("refuses a capability that does not fit the PV's type on publish", async () => {
    const target = join(dir, "kubelet", "pods", "pod-1", "volumes", "kubernetes.io~csi", "pvc-virt", "mount");
    const context = {
      type: "Replica1",
      hostvol: "pool1",
      pvtype: "virtblock",
      path: pvPath("virtblock", "pvc-virt"),
      fstype: "xfs",
      single_pv_per_pool: "False",
    };
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-virt", target_path: target, volume_capability: BLOCK, volume_context: context }),
      Status.INVALID_ARGUMENT,
      /is a virtblock PV: it has a filesystem, not a raw block device/,
    );
    await expectCode(
      client.node("NodePublishVolume", {
        volume_id: "pvc-raw",
        target_path: target,
        volume_capability: ONE_NODE_MOUNT,
        volume_context: { ...context, pvtype: "rawblock" },
      }),
      Status.INVALID_ARGUMENT,
      /is a rawblock PV: it is a raw block device/,
    );
    // A context that would attach stat.db (or any file outside the type's tree) as a device is refused.
    const device = join(dir, "kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-raw/pod-uid");
    for (const path of ["stat.db", "subvol/../stat.db", "rawblock/../stat.db"]) {
      await expectCode(
        client.node("NodePublishVolume", {
          volume_id: "pvc-raw",
          target_path: device,
          volume_capability: BLOCK,
          volume_context: { ...context, pvtype: "rawblock", path },
        }),
        Status.INVALID_ARGUMENT,
        /is not under rawblock\//,
      );
    }
  });
});

describe("node service", () => {
  it("binds the PV at the target, unbinds idempotently, and reports stats", async () => {
    const { volume } = await create("pvc-1", GiB);
    const target = join(dir, "kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-1/mount");
    await client.node("NodePublishVolume", { volume_id: "pvc-1", target_path: target, volume_capability: MOUNT, volume_context: volume.volume_context });
    expect(readlinkSync(target)).toBe(join(root("pool1"), "subvol/d3/d3/pvc-1"));
    await client.node("NodePublishVolume", { volume_id: "pvc-1", target_path: target, volume_capability: MOUNT, volume_context: volume.volume_context });
    const stats = await client.node("NodeGetVolumeStats", { volume_id: "pvc-1", volume_path: target });
    expect(stats.usage.map((u: any) => u.unit)).toEqual(["BYTES", "INODES"]);
    expect(stats.usage[0].total).toBeGreaterThan(0);
    expect(await client.node("NodeExpandVolume", { volume_id: "pvc-1", volume_path: target, capacity_range: { required_bytes: 2 * GiB } })).toEqual({
      capacity_bytes: 2 * GiB,
    });
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-1", target_path: target });
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-1", target_path: target });
    expect(existsSync(target)).toBe(false);
    expect(await client.node("NodeGetInfo")).toEqual({ node_id: "kube1", max_volumes_per_node: 0, accessible_topology: null });
    expect((await client.node("NodeGetCapabilities")).capabilities.map((c: any) => c.rpc.type)).toEqual([
      "STAGE_UNSTAGE_VOLUME",
      "GET_VOLUME_STATS",
      "EXPAND_VOLUME",
      "VOLUME_CONDITION",
      "SINGLE_NODE_MULTI_WRITER",
    ]);
  });

  it("refuses bad publish requests with the spec's codes", async () => {
    const context = { hostvol: "pool1", path: "subvol/aa/bb/pvc-9", type: "Replica1" };
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", volume_capability: MOUNT, volume_context: context }),
      Status.INVALID_ARGUMENT,
      /target_path missing/,
    );
    const target = join(dir, "kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-9/mount");
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: target, volume_capability: MOUNT, volume_context: context }),
      Status.NOT_FOUND,
      /not found in pool pool1/,
    );
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "x", target_path: target, volume_capability: MOUNT, volume_context: { ...context, path: "../../../etc" } }),
      Status.INVALID_ARGUMENT,
      /volume path ..\/..\/..\/etc is not under subvol\//,
    );
    // Only under the kubelet's pods directory, and never over a file.
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: join(dir, "t"), volume_capability: MOUNT, volume_context: context }),
      Status.INVALID_ARGUMENT,
      /is not under the kubelet's pods directory/,
    );
    await expectCode(
      client.node("NodePublishVolume", {
        volume_id: "pvc-9",
        target_path: join(dir, "kubelet/pods/../../t"),
        volume_capability: MOUNT,
        volume_context: context,
      }),
      Status.INVALID_ARGUMENT,
      /is not under the kubelet's pods directory/,
    );
    const file = join(dir, "kubelet/pods/uid/file");
    mkdirSync(join(dir, "kubelet/pods/uid"), { recursive: true });
    writeFileSync(file, "precious");
    await create("pvc-9", GiB);
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: file, volume_capability: MOUNT, volume_context: { ...context, hostvol: "pool1" } }),
      Status.INVALID_ARGUMENT,
      /exists and is not a directory/,
    );
    expect(readFileSync(file, "utf8")).toBe("precious");
    // An External pool's context is checked as storage-add checks it: no option that redirects the client.
    const external = {
      hostvol: "ext9",
      type: "External",
      gvolname: "gv0",
      gserver: "g1.example.com",
      options: "log-file=/etc/shadow",
      path: "subvol/aa/bb/pvc-9",
    };
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: target, volume_capability: MOUNT, volume_context: external }),
      Status.INVALID_ARGUMENT,
      /gluster option "log-file=\/etc\/shadow" is not one of the client options/,
    );
    await expectCode(
      client.node("NodePublishVolume", {
        volume_id: "pvc-9",
        target_path: target,
        volume_capability: MOUNT,
        volume_context: { ...external, options: "", gserver: "g1;reboot" },
      }),
      Status.INVALID_ARGUMENT,
      /is not a host name or address/,
    );
    // A context without a path would publish the pool root, stat.db and every PV.
    const { path: _path, ...noPath } = context;
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: target, volume_capability: MOUNT, volume_context: noPath }),
      Status.INVALID_ARGUMENT,
      /volume_context.path missing/,
    );
    await expectCode(
      client.node("NodePublishVolume", { volume_id: "pvc-9", target_path: target, volume_capability: MOUNT, volume_context: { ...context, path: "" } }),
      Status.INVALID_ARGUMENT,
      /volume_context.path missing/,
    );
    await expectCode(client.node("NodeGetVolumeStats", { volume_id: "x", volume_path: join(dir, "nope") }), Status.NOT_FOUND);
    // Only paths this driver published are answered: not a relative path, not any other host path.
    await expectCode(client.node("NodeGetVolumeStats", { volume_id: "x", volume_path: "some/path" }), Status.NOT_FOUND);
    await expectCode(client.node("NodeGetVolumeStats", { volume_id: "x", volume_path: "/etc" }), Status.NOT_FOUND, /not published at \/etc/);
    await expectCode(
      client.node("NodeExpandVolume", { volume_id: "x", volume_path: "/etc", capacity_range: { required_bytes: 1 } }),
      Status.NOT_FOUND,
      /not published/,
    );
  });
});

describe("staging: NodeStageVolume once per node, NodePublishVolume from the staging path per pod", () => {
  const BLOCK = { block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };
  // Where kubelet stages a mount volume (plugins/kubernetes.io/csi/<driver>/<hash>/globalmount) and publishes it.
  const stagingOf = (name: string): string => join(dir, `kubelet/plugins/kubernetes.io/csi/kadalu/${name}/globalmount`);
  const targetOf = (name: string, pod: string): string => join(dir, `kubelet/pods/${pod}/volumes/kubernetes.io~csi/${name}/mount`);
  const loopsOf = (file: string): string[] => execFileSync("losetup", ["--associated", file], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  // The CO makes the staging directory.
  const kubeletStaging = (path: string): void => void mkdirSync(path, { recursive: true });

  it("subvol: staged once, published at two pods' targets from the staging path, unstaged to kubelet's empty directory", async () => {
    const { volume } = await create("pvc-1", GiB);
    const staging = stagingOf("pvc-1");
    kubeletStaging(staging);
    const stage = { volume_id: "pvc-1", staging_target_path: staging, volume_capability: MOUNT, volume_context: volume.volume_context };
    await client.node("NodeStageVolume", stage);
    await client.node("NodeStageVolume", stage);
    const publish = (pod: string, readonly = false) => client.node("NodePublishVolume", { ...stage, target_path: targetOf("pvc-1", pod), readonly });
    await publish("pod-a");
    await publish("pod-a");
    await publish("pod-b", true);
    // Both pods see one directory: the PV's, in the pool.
    writeFileSync(join(targetOf("pvc-1", "pod-a"), "from-a"), "written by pod a");
    expect(readFileSync(join(targetOf("pvc-1", "pod-b"), "from-a"), "utf8")).toBe("written by pod a");
    expect(readFileSync(join(root("pool1"), "subvol/d3/d3/pvc-1/from-a"), "utf8")).toBe("written by pod a");
    expect((await client.node("NodeGetVolumeStats", { volume_id: "pvc-1", volume_path: targetOf("pvc-1", "pod-a") })).usage[0].total).toBeGreaterThan(0);
    expect(
      await client.node("NodeExpandVolume", {
        volume_id: "pvc-1",
        volume_path: targetOf("pvc-1", "pod-a"),
        staging_target_path: staging,
        capacity_range: { required_bytes: 2 * GiB },
      }),
    ).toEqual({ capacity_bytes: 2 * GiB });
    // Another volume at that staging path is refused; the staged one stays.
    const other = await create("pvc-2", GiB);
    await expectCode(
      client.node("NodeStageVolume", { ...stage, volume_id: "pvc-2", volume_context: other.volume.volume_context }),
      Status.ALREADY_EXISTS,
      /another volume than pvc-2 is staged at/,
    );
    expect(readFileSync(join(staging, "from-a"), "utf8")).toBe("written by pod a");
    for (const pod of ["pod-a", "pod-b"]) await client.node("NodeUnpublishVolume", { volume_id: "pvc-1", target_path: targetOf("pvc-1", pod) });
    await client.node("NodeUnstageVolume", { volume_id: "pvc-1", staging_target_path: staging });
    await client.node("NodeUnstageVolume", { volume_id: "pvc-1", staging_target_path: staging });
    // Kubelet's directory is left, empty; the PV's data stays in the pool.
    expect(lstatSync(staging).isDirectory()).toBe(true);
    expect(readdirSync(staging)).toEqual([]);
    expect(readFileSync(join(root("pool1"), "subvol/d3/d3/pvc-1/from-a"), "utf8")).toBe("written by pod a");
    // A volume published before staging existed was never staged: kubelet's unstage of it is OK.
    await client.node("NodeUnstageVolume", { volume_id: "pvc-old", staging_target_path: stagingOf("pvc-old") });
  });

  it("refuses bad stage and unstage requests with the spec's codes", async () => {
    const { volume } = await create("pvc-1", GiB);
    const staging = stagingOf("pvc-1");
    const stage = { volume_id: "pvc-1", staging_target_path: staging, volume_capability: MOUNT, volume_context: volume.volume_context };
    const { volume_id: _id, ...noId } = stage;
    const { staging_target_path: _path, ...noPath } = stage;
    const { volume_capability: _capability, ...noCapability } = stage;
    await expectCode(client.node("NodeStageVolume", noId), Status.INVALID_ARGUMENT, /volume_id missing/);
    await expectCode(client.node("NodeStageVolume", noPath), Status.INVALID_ARGUMENT, /staging_target_path missing/);
    await expectCode(client.node("NodeStageVolume", noCapability), Status.INVALID_ARGUMENT, /volume_capability missing/);
    await expectCode(client.node("NodeStageVolume", { ...stage, staging_target_path: "relative/path" }), Status.INVALID_ARGUMENT, /must be an absolute path/);
    // Only under the kubelet's CSI plugins directory (what the nodeplugin mounts with propagation), never over a file.
    for (const elsewhere of [join(dir, "kubelet/pods/uid/staging"), join(dir, "kubelet/plugins/kubernetes.io/csi/../../../t"), "/etc"])
      await expectCode(
        client.node("NodeStageVolume", { ...stage, staging_target_path: elsewhere }),
        Status.INVALID_ARGUMENT,
        /is not under the kubelet's CSI plugins directory/,
      );
    mkdirSync(dirname(staging), { recursive: true });
    writeFileSync(staging, "precious");
    await expectCode(client.node("NodeStageVolume", stage), Status.INVALID_ARGUMENT, /exists and is not a directory/);
    expect(readFileSync(staging, "utf8")).toBe("precious");
    rmSync(staging);
    await expectCode(
      client.node("NodeStageVolume", { ...stage, volume_id: "pvc-9", volume_context: { ...volume.volume_context, path: "subvol/aa/bb/pvc-9" } }),
      Status.NOT_FOUND,
      /volume pvc-9 not found in pool pool1/,
    );
    await expectCode(
      client.node("NodeStageVolume", { ...stage, volume_context: { ...volume.volume_context, path: "subvol/../stat.db" } }),
      Status.INVALID_ARGUMENT,
      /is not under subvol\//,
    );
    await expectCode(client.node("NodeUnstageVolume", { staging_target_path: staging }), Status.INVALID_ARGUMENT, /volume_id missing/);
    await expectCode(client.node("NodeUnstageVolume", { volume_id: "pvc-1" }), Status.INVALID_ARGUMENT, /staging_target_path missing/);
    await expectCode(
      client.node("NodeUnstageVolume", { volume_id: "pvc-1", staging_target_path: "/etc" }),
      Status.INVALID_ARGUMENT,
      /is not under the kubelet's CSI plugins directory/,
    );
    // Publishing with a staging path outside that directory is refused the same way.
    await expectCode(
      client.node("NodePublishVolume", { ...stage, staging_target_path: "/etc", target_path: targetOf("pvc-1", "pod-a") }),
      Status.INVALID_ARGUMENT,
      /is not under the kubelet's CSI plugins directory/,
    );
  });

  it("rawblock: staging mounts nothing (one loop device per file is shared by its targets) but checks the PV's file", async () => {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-raw",
      capacity_range: { required_bytes: 16 * MiB },
      volume_capabilities: [BLOCK],
      parameters: { storage_name: "pool1" },
    });
    const staging = join(dir, "kubelet/plugins/kubernetes.io/csi/volumeDevices/staging/pvc-raw");
    kubeletStaging(staging);
    const stage = { volume_id: "pvc-raw", staging_target_path: staging, volume_capability: BLOCK, volume_context: volume.volume_context };
    await client.node("NodeStageVolume", stage);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(staging);
    await expectCode(client.node("NodeStageVolume", { ...stage, volume_capability: MOUNT }), Status.INVALID_ARGUMENT, /is a rawblock PV/);
    await expectCode(
      client.node("NodeStageVolume", { ...stage, volume_id: "pvc-gone", volume_context: { ...volume.volume_context, path: pvPath("rawblock", "pvc-gone") } }),
      Status.NOT_FOUND,
      /volume pvc-gone not found/,
    );
    await client.node("NodeUnstageVolume", { volume_id: "pvc-raw", staging_target_path: staging });
    expect(lstatSync(staging).isDirectory()).toBe(true);
  });

  it.skipIf(!ROOT)("the production mounter's staging binds are real bind mounts: stacked binds all go, kubelet's directory stays", async () => {
    const mounter = new GlusterMounter(join(dir, "mnt"), "nodeplugin");
    const pv = join(root("pool1"), "subvol/aa/bb/pvc-real");
    mkdirSync(pv, { recursive: true });
    writeFileSync(join(pv, "data"), "in the pool");
    const staging = stagingOf("pvc-real");
    kubeletStaging(staging);
    await mounter.bind(pv, staging, false);
    // What republish leaves after a nodeplugin restart: a second bind on top of the first.
    execFileSync("mount", ["--bind", pv, staging]);
    const target = targetOf("pvc-real", "pod-a");
    await mounter.bind(staging, target, true);
    expect(readFileSync(join(target, "data"), "utf8")).toBe("in the pool");
    expect(() => writeFileSync(join(target, "no"), "x")).toThrow(/EROFS/);
    await mounter.unbind(target);
    await mounter.unmount(staging);
    await mounter.unmount(staging);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(staging);
    expect(readdirSync(staging)).toEqual([]);
    expect(existsSync(target)).toBe(false);
  });

  it.skipIf(!ROOT || !MKFS_XFS)(
    "virtblock: its XFS mounted once at the staging path, bound at each pod's target; the loop device goes with the unstage",
    async () => {
      const { volume, file } = await createVirtblock("pvc-virt");
      const staging = stagingOf("pvc-virt");
      kubeletStaging(staging);
      const stage = { volume_id: "pvc-virt", staging_target_path: staging, volume_capability: ONE_NODE_MOUNT, volume_context: volume.volume_context };
      await client.node("NodeStageVolume", stage);
      await client.node("NodeStageVolume", stage);
      expect(readFileSync("/proc/self/mounts", "utf8")).toMatch(new RegExp(`^/dev/loop\\d+ ${staging} xfs `, "m"));
      expect(loopsOf(file)).toHaveLength(1);
      // Two pods on the node share the one filesystem: a second XFS mount of the file would be refused (or corrupt it).
      const publish = (pod: string, readonly = false) => client.node("NodePublishVolume", { ...stage, target_path: targetOf("pvc-virt", pod), readonly });
      await publish("pod-a");
      await publish("pod-b", true);
      expect(loopsOf(file)).toHaveLength(1);
      writeFileSync(join(targetOf("pvc-virt", "pod-a"), "data"), "shared");
      expect(readFileSync(join(targetOf("pvc-virt", "pod-b"), "data"), "utf8")).toBe("shared");
      expect(() => writeFileSync(join(targetOf("pvc-virt", "pod-b"), "no"), "x")).toThrow(/EROFS/);
      // A subvol PV at this staging path is another volume.
      const other = await create("pvc-2", GiB);
      await expectCode(
        client.node("NodeStageVolume", { ...stage, volume_id: "pvc-2", volume_capability: MOUNT, volume_context: other.volume.volume_context }),
        Status.ALREADY_EXISTS,
      );
      // Grown on the node through a target, with the staging path as kubelet passes it.
      const before = statfsSync(staging).blocks * statfsSync(staging).bsize;
      await client.controller("ControllerExpandVolume", { volume_id: "pvc-virt", capacity_range: { required_bytes: 512 * MiB } });
      await client.node("NodeExpandVolume", {
        volume_id: "pvc-virt",
        volume_path: targetOf("pvc-virt", "pod-a"),
        staging_target_path: staging,
        capacity_range: { required_bytes: 512 * MiB },
      });
      expect(statfsSync(targetOf("pvc-virt", "pod-b")).blocks * statfsSync(staging).bsize - before).toBeGreaterThan(150 * MiB);
      for (const pod of ["pod-a", "pod-b"]) await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: targetOf("pvc-virt", pod) });
      expect(loopsOf(file)).toHaveLength(1);
      expect(readFileSync(join(staging, "data"), "utf8")).toBe("shared");
      await client.node("NodeUnstageVolume", { volume_id: "pvc-virt", staging_target_path: staging });
      await client.node("NodeUnstageVolume", { volume_id: "pvc-virt", staging_target_path: staging });
      expect(loopsOf(file)).toEqual([]);
      expect(readdirSync(staging)).toEqual([]);
    },
  );

  it.skipIf(!ROOT || !MKFS_XFS)("virtblock published before staging existed: staging binds that filesystem rather than mounting it twice", async () => {
    const { volume, file } = await createVirtblock("pvc-virt");
    const old = {
      volume_id: "pvc-virt",
      target_path: targetOf("pvc-virt", "old-pod"),
      volume_capability: ONE_NODE_MOUNT,
      volume_context: volume.volume_context,
    };
    await client.node("NodePublishVolume", old);
    writeFileSync(join(old.target_path, "data"), "from before");
    const staging = stagingOf("pvc-virt");
    kubeletStaging(staging);
    const stage = { volume_id: "pvc-virt", staging_target_path: staging, volume_capability: ONE_NODE_MOUNT, volume_context: volume.volume_context };
    await client.node("NodeStageVolume", stage);
    await client.node("NodePublishVolume", { ...stage, target_path: targetOf("pvc-virt", "new-pod") });
    expect(loopsOf(file)).toHaveLength(1);
    expect(readFileSync(join(targetOf("pvc-virt", "new-pod"), "data"), "utf8")).toBe("from before");
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: old.target_path });
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: targetOf("pvc-virt", "new-pod") });
    expect(loopsOf(file)).toHaveLength(1);
    await client.node("NodeUnstageVolume", { volume_id: "pvc-virt", staging_target_path: staging });
    expect(loopsOf(file)).toEqual([]);
  });
});

describe("records after a crash", () => {
  it("on start the provisioner gives a PV left without a stat.db row its row, and drops rows of PVs that are gone", async () => {
    await create("pvc-kept", GiB);
    await create("pvc-orphan", 2 * GiB);
    await create("pvc-torn", 3 * GiB);
    client.close();
    await csi.stop();
    // What kill -9 between the metadata and the row leaves, a row whose PV is gone, and torn metadata with and without a row.
    const db = StatDb.open(join(root("pool1"), "stat.db"));
    db.deletePv("pvc-orphan");
    db.upsertPv("pvc-ghost", GiB);
    const tornFile = join(root("pool1"), pvMetadataPath("subvol", "pvc-torn"));
    writeFileSync(tornFile, "");
    const unfinished = join(root("pool1"), pvMetadataPath("subvol", "pvc-unfinished"));
    mkdirSync(join(unfinished, ".."), { recursive: true });
    writeFileSync(unfinished, "");
    db.close();
    const logs: string[] = [];
    csi = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "kube1",
        role: "provisioner",
        infoDir: join(dir, "info"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map(pools.map((pool) => [pool, root(pool)])),
        kubeletDir: join(dir, "kubelet"),
        statDbHoldMs: 0,
      },
      (message) => logs.push(message),
    );
    client = csiClient(`unix://${join(dir, "csi.sock")}`);
    const deadline = Date.now() + 5000;
    while (!logs.some((line) => line.includes("rows dropped")) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logs).toContain("pool pool1: stat.db rows added for 1 PV(s) left without one: pvc-orphan");
    expect(logs).toContain("pool pool1: stat.db rows dropped for 1 PV(s) that no longer exist: pvc-ghost");
    expect(logs).toContain("pool pool1: torn metadata of 1 unfinished create(s) removed: pvc-unfinished");
    expect(logs).toContain("pool pool1: torn metadata of 1 PV(s) written again from stat.db: pvc-torn");
    expect(existsSync(unfinished)).toBe(false);
    expect(readFileSync(tornFile, "utf8")).toBe(`{"size": ${3 * GiB}, "path_prefix": "${pvPrefix("subvol", "pvc-torn")}"}`);
    const after = statDb("pool1");
    expect(after.listPvs().map((row) => [row.pvname, row.size])).toEqual([
      ["pvc-kept", GiB],
      ["pvc-orphan", 2 * GiB],
      ["pvc-torn", 3 * GiB],
    ]);
    after.close();
  });
});
