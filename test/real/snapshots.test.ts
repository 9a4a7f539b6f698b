/**
 * Snapshots and clones on real GlusterFS, through the driver's own FUSE mount (in its mount namespace):
 * a Replica3 pool, and a Disperse pool, where the copy is always the full one (FUSE has no reflink;
 * gfapi's copy_file_range leaves Disperse clones empty). Trees are compared by what `find` and
 * `sha256sum` print inside the namespace: paths, types, modes, owners, sizes, mtimes, link targets and
 * contents.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csiClient, type CsiClient } from "../../harness/helpers/csi-client.js";
import { startGlusterCsi, type GlusterCsi } from "../../harness/real/gluster-csi.js";
import { glusterfs, noGluster } from "../../harness/real/tier.js";

const GiB = 1024 ** 3;
const CAPS = [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }];
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-snap-real-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Two trees of treeOf the same, mtimes within a millisecond of each other: the copy sets times through a
 * double (Node's utimes), a few hundred nanoseconds off, which can flip the rounding to the millisecond.
 */
function expectSameTree(actual: string, expected: string): void {
  const fields = (tree: string): string[][] => tree.split("\n").map((line) => line.split("|"));
  const withoutTimes = (tree: string): string =>
    fields(tree)
      .map((f) => f.map((field, i) => (i === 5 && f.length > 5 ? "" : field)).join("|"))
      .join("\n");
  expect(withoutTimes(actual)).toBe(withoutTimes(expected));
  const theirs = fields(expected);
  fields(actual).forEach((f, line) => {
    if (f.length > 5) expect(Math.abs(Number(f[5]) - Number(theirs[line]![5])), `mtime of ${f[0]}`).toBeLessThanOrEqual(1);
  });
}

/** The tree at `path` in the namespace, as lines: metadata (mtime to the millisecond) then checksums. */
async function treeOf(pool: GlusterCsi, path: string): Promise<string> {
  const { stdout: listing } = await pool.csi.exec(["find", path, "-printf", "%P|%y|%m|%U:%G|%s|%T@|%l\n"]);
  const lines = listing
    .trim()
    .split("\n")
    .map((line) => {
      const fields = line.split("|");
      // Directories' sizes are the filesystem's business, not the copy's.
      if (fields[1] === "d") fields[4] = "";
      fields[5] = String(Math.round(Number(fields[5]) * 1000));
      return fields.join("|");
    })
    .sort();
  const { stdout: sums } = await pool.csi.exec(["sh", "-c", 'cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum', "sums", path]);
  return `${lines.join("\n")}\n${sums}`;
}

function shelfEntries(brick: string): string[] {
  const base = join(brick, "snapshots");
  if (!existsSync(base)) return [];
  return readdirSync(base).flatMap((h1) => readdirSync(join(base, h1)).flatMap((h2) => readdirSync(join(base, h1, h2))));
}

describe.skipIf(noGluster)("snapshots and clones on real GlusterFS", () => {
  for (const type of ["Replica3", "Disperse"] as const) {
    it(`${type}: a snapshot stays as taken, restores and clones equal by checksum, and goes without a trace`, async () => {
      const pool = await startGlusterCsi(glusterfs!, join(dir, type), { type });
      let client: CsiClient | undefined;
      try {
        client = csiClient(`unix://${pool.socket}`);
        const parameters = { storage_name: "pool1" };
        const { volume } = await client.controller("CreateVolume", {
          name: "pv-src",
          capacity_range: { required_bytes: GiB },
          volume_capabilities: CAPS,
          parameters,
        });
        const source = `/mnt/pool1/${volume.volume_context.path}`;
        await pool.csi.exec([
          "sh",
          "-c",
          [
            'cd "$1"',
            "mkdir -p a/b",
            "head -c 3145728 /dev/urandom > a/b/data",
            "head -c 100000 /dev/urandom > a/small",
            "echo hello > a/notes",
            ": > empty",
            "chmod 640 a/notes",
            "chmod 750 a/b",
            "chown 1234:5678 a/notes",
            "ln -s a/notes link",
            "touch -d 2020-01-02T03:04:05Z a/notes",
            "touch -d 2021-01-02T03:04:05Z a",
          ].join(" && "),
          "fill",
          source,
        ]);
        const before = await treeOf(pool, source);
        const { snapshot } = await client.controller("CreateSnapshot", { name: "snap-1", source_volume_id: "pv-src" });
        expect(snapshot).toMatchObject({ snapshot_id: "pool1/snap-1", source_volume_id: "pv-src", size_bytes: 3145728 + 100000 + 6, ready_to_use: true });
        expect(pool.csi.process.tail(5000)).toMatch(/snapshot snap-1 in pool pool1: full copy of 4 file\(s\)/);
        // The source changes; the snapshot does not.
        await pool.csi.exec(["sh", "-c", 'cd "$1" && echo changed > a/b/data && rm empty', "change", source]);
        const { volume: restored } = await client.controller("CreateVolume", {
          name: "pv-restored",
          capacity_range: { required_bytes: GiB },
          volume_capabilities: CAPS,
          parameters,
          volume_content_source: { snapshot: { snapshot_id: "pool1/snap-1" } },
        });
        expectSameTree(await treeOf(pool, `/mnt/pool1/${restored.volume_context.path}`), before);
        const { volume: cloned } = await client.controller("CreateVolume", {
          name: "pv-clone",
          capacity_range: { required_bytes: GiB },
          volume_capabilities: CAPS,
          parameters,
          volume_content_source: { volume: { volume_id: "pv-src" } },
        });
        expectSameTree(await treeOf(pool, `/mnt/pool1/${cloned.volume_context.path}`), await treeOf(pool, source));
        // stat.db, read through the mount (a Disperse brick holds fragments), holds the snapshot's row beside upstream's tables.
        const db = new Database(Buffer.from((await pool.csi.exec(["base64", "-w0", "/mnt/pool1/stat.db"])).stdout, "base64"));
        expect(db.prepare("SELECT snapname, source, size, kind, ready FROM snapshot_stats").all()).toEqual([
          { snapname: "snap-1", source: "pv-src", size: 3145728 + 100000 + 6, kind: "full", ready: 1 },
        ]);
        db.close();
        for (const id of ["pv-restored", "pv-clone", "pv-src"]) await client.controller("DeleteVolume", { volume_id: id });
        await client.controller("DeleteSnapshot", { snapshot_id: "pool1/snap-1" });
        for (const brick of pool.bricks) expect(shelfEntries(brick), brick).toEqual([]);
      } finally {
        client?.close();
        await pool.stop();
      }
    });
  }
});
