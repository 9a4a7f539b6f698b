/**
 * Snapshots and clones over the real unix socket, with local-directory pools: real files, xattrs and
 * SQLite. A tree's checksum covers every entry's path, type, mode, owner, mtime, content, symlink target
 * and user xattrs, so "equal by checksum" means the copy kept all of them.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { listAttributesSync, getAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  writeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as Status } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildNativeInfo, encodeInfo } from "../../../src/core/info/codec.js";
import { pvPath } from "../../../src/core/pv-layout.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";
import { startCsi, type RunningCsi } from "../../../csi/main.js";
import { csiClient, type CsiClient } from "../../../harness/helpers/csi-client.js";
import { expectCode } from "../../../harness/helpers/csi-expect.js";
import { volumeDirectories } from "../../../harness/helpers/pools.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const ROOT = process.getuid?.() === 0;
const MOUNT = { mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } };
const pools = ["pool1", "pool2"];
let dir: string;
let csi: RunningCsi;
let client: CsiClient;
let logged: string[];
const root = (pool: string): string => join(dir, "pools", pool);
const pvDir = (name: string, pool = "pool1"): string => join(root(pool), pvPath("subvol", name));

function writeInfo(pool: string): void {
  const resource: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: pool },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: `/data/${pool}` }] },
  };
  writeFileSync(
    join(dir, "info", `${pool}.info`),
    encodeInfo(buildNativeInfo(resource, { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "00000000-0000-4000-8000-000000000001" })),
  );
}

async function start(): Promise<void> {
  logged = [];
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
    (line) => logged.push(line),
  );
  client = csiClient(`unix://${join(dir, "csi.sock")}`);
}

const create = (name: string, bytes: number, extra: Record<string, unknown> = {}, parameters: Record<string, string> = { storage_name: "pool1" }) =>
  client.controller("CreateVolume", { name, capacity_range: { required_bytes: bytes }, volume_capabilities: [MOUNT], parameters, ...extra });
const snapshot = (name: string, source: string) => client.controller("CreateSnapshot", { name, source_volume_id: source, parameters: { ignored: "yes" } });
const fromSnapshot = (id: string) => ({ volume_content_source: { snapshot: { snapshot_id: id } } });
const fromVolume = (id: string) => ({ volume_content_source: { volume: { volume_id: id } } });

/** Everything a copy must keep, hashed per entry in path order (mtimes to the millisecond: utimes takes a double of seconds, which rounds below that). */
function treeSum(top: string): string {
  const hash = createHash("sha256");
  const walk = (path: string, relative: string): void => {
    const stats = lstatSync(path);
    const xattrs = stats.isSymbolicLink()
      ? []
      : listAttributesSync(path)
          .filter((name) => name.startsWith("user."))
          .sort()
          .map((name) => `${name}=${getAttributeSync(path, name)?.toString("hex")}`);
    hash.update(
      `${relative}|${stats.mode}|${stats.uid}:${stats.gid}|${stats.isDirectory() ? "" : stats.size}|${Math.round(stats.mtimeMs)}|${xattrs.join(",")}\n`,
    );
    if (stats.isSymbolicLink()) hash.update(readlinkSync(path));
    else if (stats.isFile()) hash.update(readFileSync(path));
    else for (const entry of readdirSync(path).sort()) walk(join(path, entry), `${relative}/${entry}`);
  };
  walk(top, ".");
  return hash.digest("hex");
}

/** A small tree with what a copy must keep: nested directories, modes, owners, times, a symlink, user xattrs, an empty file. */
function fill(top: string): void {
  mkdirSync(join(top, "a/b"), { recursive: true });
  writeFileSync(join(top, "a/b/data.bin"), Buffer.alloc(3 * MiB, 7));
  writeFileSync(join(top, "a/notes.txt"), "hello\n");
  writeFileSync(join(top, "empty"), "");
  chmodSync(join(top, "a/notes.txt"), 0o640);
  chmodSync(join(top, "a/b"), 0o750);
  symlinkSync("a/notes.txt", join(top, "link"));
  setAttributeSync(join(top, "a/notes.txt"), "user.origin", "kadalu");
  if (ROOT) execFileSync("chown", ["-h", "1234:5678", join(top, "a/notes.txt"), join(top, "link")]);
  utimesSync(join(top, "a/notes.txt"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
  utimesSync(join(top, "a"), new Date("2021-01-02T03:04:05Z"), new Date("2021-01-02T03:04:05Z"));
}

function snapshotRows(pool: string): { snapname: string; source: string; size: number; kind: string; ready: number }[] {
  const db = new Database(join(root(pool), "stat.db"), { readonly: true });
  try {
    return db.prepare("SELECT snapname, source, size, kind, ready FROM snapshot_stats ORDER BY snapname").all() as never;
  } finally {
    db.close();
  }
}

/** Every entry under the pool's snapshots/ tree (hash directories aside): what a failed snapshot must not leave. */
function shelfEntries(pool: string): string[] {
  const base = join(root(pool), "snapshots");
  if (!existsSync(base)) return [];
  return readdirSync(base).flatMap((h1) => readdirSync(join(base, h1)).flatMap((h2) => readdirSync(join(base, h1, h2))));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-snap-"));
  mkdirSync(join(dir, "info"));
  for (const pool of pools) {
    mkdirSync(root(pool), { recursive: true });
    writeInfo(pool);
  }
  await start();
});
afterEach(async () => {
  client.close();
  await csi.stop();
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((path) => path.startsWith(`${dir}/`));
  for (const path of mounts.reverse()) execFileSync("umount", ["-l", path]);
  rmSync(dir, { recursive: true, force: true });
});

describe("capabilities", () => {
  it("advertises snapshots, clones and ReadWriteOncePod on the controller and the node", async () => {
    const controller = (await client.controller("ControllerGetCapabilities")).capabilities.map((c: any) => c.rpc.type);
    expect(controller).toEqual(expect.arrayContaining(["CREATE_DELETE_SNAPSHOT", "LIST_SNAPSHOTS", "CLONE_VOLUME", "SINGLE_NODE_MULTI_WRITER"]));
    expect((await client.node("NodeGetCapabilities")).capabilities.map((c: any) => c.rpc.type)).toContain("SINGLE_NODE_MULTI_WRITER");
    // A block PV takes the ReadWriteOncePod modes; a directory PV any mode.
    for (const mode of ["SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER"]) {
      await expect(
        client.controller("CreateVolume", {
          name: `pv-${mode.length}`,
          capacity_range: { required_bytes: MiB },
          volume_capabilities: [{ mount: {}, access_mode: { mode } }],
          parameters: { storage_name: "pool1" },
        }),
      ).resolves.toBeTruthy();
    }
  });
});

describe("CreateSnapshot", () => {
  it("copies the PV's tree with everything kept, records it in stat.db, and stays unchanged when the source changes", async () => {
    await create("pv-src", GiB);
    fill(pvDir("pv-src"));
    const before = treeSum(pvDir("pv-src"));
    const { snapshot: taken } = await snapshot("snap-1", "pv-src");
    expect(taken).toMatchObject({ snapshot_id: "pool1/snap-1", source_volume_id: "pv-src", size_bytes: 3 * MiB + 6, ready_to_use: true });
    expect(Math.abs(Number(taken.creation_time.seconds) * 1000 - Date.now())).toBeLessThan(60_000);
    expect(snapshotRows("pool1")).toEqual([{ snapname: "snap-1", source: "pv-src", size: 3 * MiB + 6, kind: "full", ready: 1 }]);
    // Idempotent: the same name and source answer the same snapshot, another source is refused.
    expect((await snapshot("snap-1", "pv-src")).snapshot).toEqual(taken);
    await create("pv-other", GiB);
    await expectCode(snapshot("snap-1", "pv-other"), Status.ALREADY_EXISTS, /snapshot snap-1 already exists, of volume pv-src/);
    // The source changes; the snapshot does not.
    writeFileSync(join(pvDir("pv-src"), "a/b/data.bin"), "changed");
    rmSync(join(pvDir("pv-src"), "empty"));
    const { volume } = await create("pv-restored", 2 * GiB, fromSnapshot("pool1/snap-1"));
    expect(volume).toMatchObject({ volume_id: "pv-restored", capacity_bytes: 2 * GiB, content_source: { snapshot: { snapshot_id: "pool1/snap-1" } } });
    expect(treeSum(pvDir("pv-restored"))).toBe(before);
    // The log names the copy's kind (ext4 and tmpfs have no reflink: a full copy).
    expect(logged.join("\n")).toMatch(/snapshot snap-1 in pool pool1: (full|reflink) copy of 3 file\(s\)/);
    // The snapshot's bytes count in the pool's usage as PVs do.
    const { available_capacity: withSnapshot } = await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } });
    await client.controller("DeleteSnapshot", { snapshot_id: "pool1/snap-1" });
    const { available_capacity: without } = await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } });
    expect(without - withSnapshot).toBeGreaterThanOrEqual(Math.floor((3 * MiB * 90) / 100) - 64 * 1024);
  });

  it("clones a volume equal by checksum, with the new PV's own size limit and metadata", async () => {
    await create("pv-src", GiB);
    fill(pvDir("pv-src"));
    const { volume } = await create("pv-clone", 3 * GiB, fromVolume("pv-src"));
    expect(volume).toMatchObject({
      capacity_bytes: 3 * GiB,
      content_source: { volume: { volume_id: "pv-src" } },
      volume_context: { hostvol: "pool1", path: pvPath("subvol", "pv-clone") },
    });
    expect(treeSum(pvDir("pv-clone"))).toBe(treeSum(pvDir("pv-src")));
    expect(JSON.parse(readFileSync(join(root("pool1"), `info/${pvPath("subvol", "pv-clone")}.json`), "utf8")).size).toBe(3 * GiB);
    if (ROOT) expect(getAttributeSync(pvDir("pv-clone"), "trusted.gfs.squota.limit")?.toString()).toBe(String(3 * GiB));
    // No size asked: the source's.
    const { volume: sized } = await client.controller("CreateVolume", {
      name: "pv-clone2",
      volume_capabilities: [MOUNT],
      parameters: { storage_name: "pool1" },
      ...fromVolume("pv-clone"),
    });
    expect(sized.capacity_bytes).toBe(3 * GiB);
  });

  it("lists by snapshot id and by source volume, in pages, and deletes idempotently", async () => {
    await create("pv-a", GiB);
    await create("pv-b", GiB, {}, { storage_name: "pool2" });
    writeFileSync(join(pvDir("pv-a"), "f"), "a");
    for (const name of ["s1", "s2"]) await snapshot(name, "pv-a");
    await snapshot("s3", "pv-b");
    const ids = (response: any): string[] => response.entries.map((entry: any) => entry.snapshot.snapshot_id);
    expect(ids(await client.controller("ListSnapshots", {}))).toEqual(["pool1/s1", "pool1/s2", "pool2/s3"]);
    expect(ids(await client.controller("ListSnapshots", { snapshot_id: "pool2/s3" }))).toEqual(["pool2/s3"]);
    expect(ids(await client.controller("ListSnapshots", { snapshot_id: "pool2/nope" }))).toEqual([]);
    expect(ids(await client.controller("ListSnapshots", { snapshot_id: "garbage" }))).toEqual([]);
    expect(ids(await client.controller("ListSnapshots", { source_volume_id: "pv-a" }))).toEqual(["pool1/s1", "pool1/s2"]);
    expect(ids(await client.controller("ListSnapshots", { source_volume_id: "pv-none" }))).toEqual([]);
    const first = await client.controller("ListSnapshots", { max_entries: 2 });
    expect(ids(first)).toEqual(["pool1/s1", "pool1/s2"]);
    const second = await client.controller("ListSnapshots", { max_entries: 2, starting_token: first.next_token });
    expect([ids(second), second.next_token]).toEqual([["pool2/s3"], ""]);
    await expectCode(client.controller("ListSnapshots", { starting_token: "5" }), Status.ABORTED);
    for (let round = 0; round < 2; round += 1) await client.controller("DeleteSnapshot", { snapshot_id: "pool1/s1" });
    await client.controller("DeleteSnapshot", { snapshot_id: "not-an-id" });
    expect(ids(await client.controller("ListSnapshots", {}))).toEqual(["pool1/s2", "pool2/s3"]);
    expect(snapshotRows("pool1").map((row) => row.snapname)).toEqual(["s2"]);
    expect(shelfEntries("pool1").sort()).toEqual(["s2.json", "s2.snap"]);
  });
});

describe("bad input leaves nothing half made", () => {
  it("refuses clearly: unknown volume, control characters, a clone into another pool, one too large or too small", async () => {
    await create("pv-src", GiB);
    writeFileSync(join(pvDir("pv-src"), "f"), "x".repeat(1000));
    await expectCode(snapshot("s1", "pv-unknown"), Status.NOT_FOUND, /source volume pv-unknown not found/);
    await expectCode(snapshot("bad\u0007name\nforged line", "pv-src"), Status.INVALID_ARGUMENT, /holds control characters/);
    expect(logged.join("\n")).toContain('CreateSnapshot "bad\\u0007name\\nforged line" INVALID_ARGUMENT');
    await expectCode(snapshot("a/b", "pv-src"), Status.INVALID_ARGUMENT, /holds a '\/'/);
    await expectCode(snapshot("", "pv-src"), Status.INVALID_ARGUMENT, /name missing/);
    await expectCode(snapshot("s1", ""), Status.INVALID_ARGUMENT, /source_volume_id missing/);
    await snapshot("s1", "pv-src");
    await expectCode(
      create("pv-x", GiB, fromSnapshot("pool1/s1"), { storage_name: "pool2" }),
      Status.INVALID_ARGUMENT,
      /content source is in pool pool1, but the StorageClass selects pool pool2/,
    );
    await expectCode(create("pv-x", GiB, fromVolume("pv-src"), { storage_name: "pool2" }), Status.INVALID_ARGUMENT, /pool pool1.*pool pool2/);
    await expectCode(create("pv-x", 1024 ** 5, fromSnapshot("pool1/s1")), Status.RESOURCE_EXHAUSTED, /no pool has room/);
    await expectCode(create("pv-x", GiB / 2, fromVolume("pv-src")), Status.OUT_OF_RANGE, /at least that large/);
    await expectCode(create("pv-x", GiB, fromSnapshot("pool1/none")), Status.NOT_FOUND, /snapshot pool1\/none not found/);
    await expectCode(create("pv-x", GiB, fromSnapshot("poolX/s1")), Status.NOT_FOUND);
    await expectCode(create("pv-x", GiB, fromVolume("pv-none")), Status.NOT_FOUND, /source volume pv-none not found/);
    expect(volumeDirectories(root("pool1"))).toEqual([expect.stringMatching(/\/pv-src$/)]);
    expect(volumeDirectories(root("pool2"))).toEqual([]);
    expect(shelfEntries("pool1").sort()).toEqual(["s1.json", "s1.snap"]);
  });

  it("restores a snapshot whose source PV is deleted meanwhile", async () => {
    await create("pv-src", GiB);
    fill(pvDir("pv-src"));
    writeFileSync(join(pvDir("pv-src"), "big"), Buffer.alloc(64 * MiB, 1));
    await snapshot("s1", "pv-src");
    const expected = treeSum(shelfData("s1"));
    const [restored] = await Promise.all([create("pv-new", GiB, fromSnapshot("pool1/s1")), client.controller("DeleteVolume", { volume_id: "pv-src" })]);
    expect(restored.volume.volume_id).toBe("pv-new");
    expect(existsSync(pvDir("pv-src"))).toBe(false);
    expect(treeSum(pvDir("pv-new"))).toBe(expected);
  });

  it("a snapshot the pool has no room for is refused before any copy, naming the sizes; nothing is made", async () => {
    await create("pv-src", 8 * MiB);
    writeFileSync(join(pvDir("pv-src"), "data"), Buffer.alloc(4 * MiB, 1));
    // PVs promised until less than the snapshot's 4 MiB may still be provisioned (no bytes written: the room is the promise's).
    for (let filler = 0; ; filler += 1) {
      const available = Number((await client.controller("GetCapacity", { parameters: { storage_name: "pool1" } })).available_capacity);
      if (available < 4 * MiB) break;
      expect(filler).toBeLessThan(20);
      await create(`pv-filler-${filler}`, available - 1);
    }
    await expectCode(
      snapshot("s1", "pv-src"),
      Status.RESOURCE_EXHAUSTED,
      /^snapshot s1 of volume pv-src needs room for 4\.0 MiB: pool pool1 has [\d.]+ \w?i?B free of [\d.]+ \w?i?B \([\d.]+ \w?i?B provisioned to PVs, snapshots and copies under way\), and a copy of 4\.0 MiB must stay below 90% of it, as a volume must$/,
    );
    expect(shelfEntries("pool1")).toEqual([]);
    expect(snapshotRows("pool1")).toEqual([]);
    expect(logged.join("\n")).not.toMatch(/snapshot s1 in pool pool1:/);
    // The refusal held nothing back: once a filler goes, the same snapshot is taken.
    await client.controller("DeleteVolume", { volume_id: "pv-filler-0" });
    expect((await snapshot("s1", "pv-src")).snapshot.size_bytes).toBe(4 * MiB);
  });

  it("a clone whose requested size is smaller than its content is OUT_OF_RANGE, before any copy", async () => {
    // A local directory enforces no quota: the PV of 1 MiB holds 3 MiB (as a Gluster PV can while its quota lags).
    await create("pv-src", MiB);
    writeFileSync(join(pvDir("pv-src"), "data"), Buffer.alloc(3 * MiB, 1));
    await expectCode(
      create("pv-clone", 2 * MiB, fromVolume("pv-src")),
      Status.OUT_OF_RANGE,
      /^source volume pv-src holds 3145728 bytes \(3\.0 MiB\), more than its size of 1\.0 MiB: the new volume must be at least that large \(2\.0 MiB was asked\)$/,
    );
    await snapshot("s1", "pv-src");
    await expectCode(
      create("pv-restored", 2 * MiB, fromSnapshot("pool1/s1")),
      Status.OUT_OF_RANGE,
      /^snapshot pool1\/s1 holds 3145728 bytes \(3\.0 MiB\): the new volume must be at least that large \(2\.0 MiB was asked\)$/,
    );
    expect(volumeDirectories(root("pool1"))).toEqual([expect.stringMatching(/\/pv-src$/)]);
    expect(logged.join("\n")).not.toMatch(/clone pv-(clone|restored) in pool/);
    // As large as its content, it is made.
    await create("pv-clone", 3 * MiB, fromVolume("pv-src"));
    expect(readFileSync(join(pvDir("pv-clone"), "data")).equals(Buffer.alloc(3 * MiB, 1))).toBe(true);
  });

  it.skipIf(!ROOT)("a copy the pool's filesystem has no room for is refused before it starts, and removes nothing else", async () => {
    // pool2 on a 96 MiB tmpfs: a 40 MiB file fits once, not twice more.
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=96m", "tmpfs", root("pool2")]);
    await csi.stop();
    client.close();
    await start();
    await create("pv-small", 8 * MiB, {}, { storage_name: "pool2" });
    writeFileSync(join(pvDir("pv-small", "pool2"), "big"), Buffer.alloc(40 * MiB, 3));
    await snapshot("s1", "pv-small");
    await expectCode(
      snapshot("s2", "pv-small"),
      Status.RESOURCE_EXHAUSTED,
      /^snapshot s2 of volume pv-small needs room for 40\.0 MiB: pool pool2's filesystem has 1\d\.\d MiB free: too little for a copy of 40\.0 MiB$/,
    );
    expect(shelfEntries("pool2").sort()).toEqual(["s1.json", "s1.snap"]);
    expect(snapshotRows("pool2").map((row) => row.snapname)).toEqual(["s1"]);
    // Provisioned room there is (48 of 96 MiB promised): the filesystem's is what is missing.
    await expectCode(create("pv-clone", 8 * MiB, fromVolume("pv-small"), { storage_name: "pool2" }), Status.OUT_OF_RANGE, /holds 41943040 bytes/);
    await expectCode(
      create("pv-clone", 40 * MiB, fromVolume("pv-small"), { storage_name: "pool2" }),
      Status.RESOURCE_EXHAUSTED,
      /^clone pv-clone needs room for 40\.0 MiB: pool pool2's filesystem has 1\d\.\d MiB free: too little/,
    );
    expect(volumeDirectories(root("pool2"))).toEqual([expect.stringMatching(/\/pv-small$/)]);
    expect(existsSync(join(root("pool2"), `info/${pvPath("subvol", "pv-clone")}.json`))).toBe(false);
    const db = new Database(join(root("pool2"), "stat.db"), { readonly: true });
    expect((db.prepare("SELECT pvname FROM pv_stats").all() as { pvname: string }[]).map((row) => row.pvname)).toEqual(["pv-small"]);
    db.close();
    expect(logged.join("\n")).not.toMatch(/(snapshot s2|clone pv-clone) in pool pool2:/);
  });

  it.skipIf(!ROOT)("two copies side by side that fit one at a time: the second is refused for the room the first holds", async () => {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=96m", "tmpfs", root("pool2")]);
    await csi.stop();
    client.close();
    await start();
    for (const name of ["pv-a", "pv-b"]) {
      await create(name, 8 * MiB, {}, { storage_name: "pool2" });
      writeFileSync(join(pvDir(name, "pool2"), "big"), Buffer.alloc(30 * MiB, 4));
    }
    // About 36 MiB free: room for one 30 MiB copy, not for two.
    const results = await Promise.allSettled([snapshot("sa", "pv-a"), snapshot("sb", "pv-b")]);
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(Status[refused[0]!.reason.code]).toBe("RESOURCE_EXHAUSTED");
    expect(refused[0]!.reason.details).toMatch(
      /^snapshot s[ab] of volume pv-[ab] needs room for 30\.0 MiB: pool pool2's filesystem has [\d.]+ MiB free(, [\d.]+ MiB of it held for copies under way)?: too little/,
    );
    expect(shelfEntries("pool2").filter((entry) => !entry.endsWith(".json") && !entry.endsWith(".snap"))).toEqual([]);
    expect(snapshotRows("pool2")).toHaveLength(1);
  });
});

describe("block PVs", () => {
  it("snapshot and restore a rawblock PV's backing file: equal, grown to the new size, still sparse", async () => {
    const BLOCK = { block: {}, access_mode: { mode: "SINGLE_NODE_SINGLE_WRITER" } };
    const { volume } = await client.controller("CreateVolume", {
      name: "pv-raw",
      capacity_range: { required_bytes: 64 * MiB },
      volume_capabilities: [BLOCK],
      parameters: { storage_name: "pool1" },
    });
    const file = join(root("pool1"), volume.volume_context.path);
    const data = Buffer.alloc(MiB, 9);
    const fd = openSync(file, "r+");
    writeSync(fd, data, 0, data.length, 10 * MiB);
    closeSync(fd);
    const { snapshot: taken } = await snapshot("s-raw", "pv-raw");
    expect(taken.size_bytes).toBe(64 * MiB);
    // A filesystem clone of it is refused: a rawblock snapshot restores as volumeMode Block only.
    await expectCode(create("pv-fs", 128 * MiB, fromSnapshot("pool1/s-raw")), Status.INVALID_ARGUMENT, /must be rawblock too \(volumeMode Block\), not subvol/);
    const { volume: restored } = await client.controller("CreateVolume", {
      name: "pv-raw2",
      capacity_range: { required_bytes: 128 * MiB },
      volume_capabilities: [BLOCK],
      parameters: { storage_name: "pool1" },
      ...fromSnapshot("pool1/s-raw"),
    });
    const copy = join(root("pool1"), restored.volume_context.path);
    expect(lstatSync(copy).size).toBe(128 * MiB);
    expect(
      readFileSync(copy)
        .subarray(0, 64 * MiB)
        .equals(readFileSync(file)),
    ).toBe(true);
    // Zero chunks stay holes: the copy allocates about the 1 MiB written, not 64 MiB.
    expect(lstatSync(copy).blocks * 512).toBeLessThan(4 * MiB);
  });
});

/** Reflink needs a filesystem that has it: XFS made with reflink=1 in a loop-mounted file (root and xfsprogs). */
const MKFS_XFS = ROOT && existsSync("/usr/sbin/mkfs.xfs");
describe.skipIf(!MKFS_XFS)("on a pool whose filesystem has reflink (XFS, reflink=1)", () => {
  it("snapshots and restores by reflink: equal by checksum, no data blocks written", async () => {
    const image = join(dir, "xfs.img");
    execFileSync("truncate", ["-s", "512M", image]);
    execFileSync("mkfs.xfs", ["-q", "-m", "reflink=1", image]);
    execFileSync("mount", ["-o", "loop", image, root("pool2")]);
    await csi.stop();
    client.close();
    await start();
    await create("pv-x", 64 * MiB, {}, { storage_name: "pool2" });
    fill(pvDir("pv-x", "pool2"));
    writeFileSync(join(pvDir("pv-x", "pool2"), "big"), Buffer.alloc(100 * MiB, 5));
    const before = treeSum(pvDir("pv-x", "pool2"));
    const used = (): number => Number(execFileSync("df", ["-B1", "--output=used", root("pool2")], { encoding: "utf8" }).split("\n")[1]);
    execFileSync("sync");
    const usedBefore = used();
    const { snapshot: taken } = await snapshot("s1", "pv-x");
    execFileSync("sync");
    expect(taken.size_bytes).toBe(103 * MiB + 6);
    expect(snapshotRows("pool2")).toEqual([{ snapname: "s1", source: "pv-x", size: 103 * MiB + 6, kind: "reflink", ready: 1 }]);
    // 103 MiB held, shared with the source: the pool's used space grew by metadata alone.
    expect(used() - usedBefore).toBeLessThan(4 * MiB);
    writeFileSync(join(pvDir("pv-x", "pool2"), "big"), "changed");
    await create("pv-y", 128 * MiB, fromSnapshot("pool2/s1"), { storage_name: "pool2" });
    expect(treeSum(pvDir("pv-y", "pool2"))).toBe(before);
    expect(logged.join("\n")).toMatch(/snapshot s1 in pool pool2: reflink copy of 4 file\(s\), 103\.0 MiB held, 0 B written/);
  });
});

describe("a file written during the copy", () => {
  let writer: ChildProcess | undefined;
  afterEach(() => {
    writer?.kill();
    writer = undefined;
  });

  it("is copied whole, as one of its versions: never torn, never empty", async () => {
    await create("pv-busy", GiB);
    const file = join(pvDir("pv-busy"), "busy.bin");
    writeFileSync(file, Buffer.alloc(8 * MiB, 0x61));
    // Rewrites the whole file in place, all 'a' or all 'b', in 1 MiB writes: a copy taken mid-way would mix them.
    // Every 70 ms: a copy waits for the file to be quiet for 50 ms (copy-tree.ts), so some copies start just
    // before a rewrite and see it, and some finish first.
    const script = `const fs=require("fs");const fd=fs.openSync(${JSON.stringify(file)},"r+");let n=0;const c=Buffer.alloc(1048576);setInterval(()=>{c.fill(n++%2?0x61:0x62);for(let i=0;i<8;i++)fs.writeSync(fd,c,0,c.length,i*c.length)},70);`;
    writer = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
    let taken = 0;
    for (let round = 0; round < 12; round += 1) {
      try {
        await snapshot(`s${round}`, "pv-busy");
        taken += 1;
      } catch (error) {
        // Retried until its budget ran out: the call says so (the CO tries again), and nothing is left.
        expect(String(error)).toMatch(/UNAVAILABLE: .*kept changing/);
        continue;
      }
      const copy = readFileSync(join(shelfDataOf(`s${round}`), "busy.bin"));
      expect(copy.length).toBe(8 * MiB);
      expect(copy[0] === 0x61 || copy[0] === 0x62).toBe(true);
      expect(copy.equals(Buffer.alloc(8 * MiB, copy[0]!)), `snapshot s${round} is torn`).toBe(true);
    }
    expect(taken).toBeGreaterThan(0);
    expect(shelfEntries("pool1").filter((entry) => !/\.(json|snap)$/.test(entry))).toEqual([]);
  });
});

function shelfDataOf(name: string, pool = "pool1"): string {
  const base = join(root(pool), "snapshots");
  for (const h1 of readdirSync(base))
    for (const h2 of readdirSync(join(base, h1))) if (existsSync(join(base, h1, h2, `${name}.snap`))) return join(base, h1, h2, `${name}.snap`);
  throw new Error(`no snapshot ${name} in ${pool}`);
}
const shelfData = (name: string): string => shelfDataOf(name);
