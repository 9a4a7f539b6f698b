/**
 * Directory PVs on real GlusterFS, as the driver (in its mount namespace, as in a pod) makes and removes
 * them: what a create writes reaches every brick (directory, quota xattrs, metadata, stat.db row); a create
 * that finds metadata without a row (one cut off before its commit) takes the volume as it is; deletes by
 * each reclaim policy, the archived volume's row kept until the archived volume itself goes; what a create
 * and a delete cost the bricks in writes. stat.db is read as upstream's provisioner reads it (Debian's
 * sqlite3 on the mount, waiting its turn for the lock) and from each brick's own copy.
 */
import { status as Status } from "@grpc/grpc-js";
import { getAttributeSync } from "@napi-rs/xattr";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodePvMetadata, pvMetadataPath, pvPath, pvPrefix } from "../../src/core/pv-layout.js";
import { STAT_DB_FILE, StatDb } from "../../src/statdb/stat-db.js";
import { expectCode } from "../../harness/helpers/csi-expect.js";
import { glusterCsiSuite } from "../../harness/real/gluster-csi-suite.js";
import { noGluster } from "../../harness/real/tier.js";

const GiB = 1024 ** 3;
const MOUNT = { mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } };
const POOL_MOUNT = "/mnt/pool1";
const ROWS_SQL = "SELECT pvname || ' ' || size FROM pv_stats ORDER BY pvname";

describe.skipIf(noGluster)("directory PVs on real GlusterFS", () => {
  const suite = glusterCsiSuite("dirpvs");
  const { client } = suite;
  // Inside the driver's namespace: constant scripts, paths as arguments.
  const inside = async (script: string, ...args: string[]): Promise<string> => (await suite.pool.csi.exec(["sh", "-c", script, "sh", ...args])).stdout;
  const rows = async (): Promise<string[]> =>
    (await inside('sqlite3 -readonly -cmd ".timeout 10000" "$1" "$2"', `${POOL_MOUNT}/stat.db`, ROWS_SQL)).split("\n").filter(Boolean);
  const create = (name: string, required: number, limit?: number) =>
    client.controller("CreateVolume", {
      name,
      capacity_range: { required_bytes: required, ...(limit ? { limit_bytes: limit } : {}) },
      volume_capabilities: [MOUNT],
      parameters: { storage_name: "pool1" },
    });
  const onEveryBrick = (path: string): boolean[] => suite.pool.bricks.map((brick) => existsSync(join(brick, path)));
  // Each brick's own copy of stat.db: what a commit made durable there, whatever the client still holds.
  const rowOnBricks = (name: string): (number | undefined)[] =>
    suite.pool.bricks.map((brick) => {
      const db = StatDb.fromBytes(readFileSync(join(brick, STAT_DB_FILE)));
      try {
        return db.getPv(name)?.size;
      } finally {
        db.close();
      }
    });
  const quotas = (path: string): (string | undefined)[] =>
    suite.pool.bricks.map((brick) => getAttributeSync(join(brick, path), "trusted.gfs.squota.limit")?.toString("utf8"));

  it("a new volume reaches every brick: its directory with upstream's quota xattrs, its metadata and its stat.db row", async () => {
    const { volume } = await create("pvc-new", GiB);
    expect(volume.capacity_bytes).toBe(GiB);
    expect(onEveryBrick(pvPath("subvol", "pvc-new"))).toEqual([true, true, true]);
    expect(quotas(pvPath("subvol", "pvc-new"))).toEqual([String(GiB), String(GiB), String(GiB)]);
    const metadata = encodePvMetadata(GiB, pvPrefix("subvol", "pvc-new"));
    for (const brick of suite.pool.bricks) expect(readFileSync(join(brick, pvMetadataPath("subvol", "pvc-new")), "utf8"), brick).toBe(metadata);
    expect(await rows()).toEqual([`pvc-new ${GiB}`]);
    expect(rowOnBricks("pvc-new")).toEqual([GiB, GiB, GiB]);
  });

  it("metadata without a row (a create cut off before its commit): another size is refused with nothing touched; within the range the volume is taken as it is", async () => {
    const path = pvPath("subvol", "pvc-torn");
    const metadata = encodePvMetadata(2 * GiB, pvPrefix("subvol", "pvc-torn"));
    await inside(
      'mkdir -p "$1" "$(dirname "$2")" && printf %s "$3" > "$2"',
      `${POOL_MOUNT}/${path}`,
      `${POOL_MOUNT}/${pvMetadataPath("subvol", "pvc-torn")}`,
      metadata,
    );
    await expectCode(create("pvc-torn", GiB, GiB), Status.ALREADY_EXISTS, /already exists with 2147483648 bytes/);
    expect(quotas(path)).toEqual([undefined, undefined, undefined]);
    expect(await rows()).toEqual([`pvc-new ${GiB}`]);
    expect((await create("pvc-torn", GiB)).volume.capacity_bytes).toBe(2 * GiB);
    expect(quotas(path)).toEqual([String(2 * GiB), String(2 * GiB), String(2 * GiB)]);
    for (const brick of suite.pool.bricks) expect(readFileSync(join(brick, pvMetadataPath("subvol", "pvc-torn")), "utf8"), brick).toBe(metadata);
    expect(await rows()).toEqual([`pvc-new ${GiB}`, `pvc-torn ${2 * GiB}`]);
  });

  it("the delete policy removes the directory, the metadata and the row from every brick; a repeated delete changes nothing", async () => {
    await client.controller("DeleteVolume", { volume_id: "pvc-new" });
    expect(onEveryBrick(pvPath("subvol", "pvc-new"))).toEqual([false, false, false]);
    expect(onEveryBrick(pvMetadataPath("subvol", "pvc-new"))).toEqual([false, false, false]);
    expect(await rows()).toEqual([`pvc-torn ${2 * GiB}`]);
    expect(await client.controller("DeleteVolume", { volume_id: "pvc-new" })).toEqual({});
    expect(await rows()).toEqual([`pvc-torn ${2 * GiB}`]);
  });

  it("an archived volume keeps its row through a repeated delete under the delete policy, and drops it when the archived volume goes", async () => {
    suite.pool.setReclaimPolicy("archive");
    await client.controller("DeleteVolume", { volume_id: "pvc-torn" });
    const archivedPath = `${pvPrefix("subvol", "pvc-torn")}/archived-pvc-torn`;
    const archivedMetadata = `info/${archivedPath}.json`;
    expect(onEveryBrick(archivedPath)).toEqual([true, true, true]);
    expect(onEveryBrick(archivedMetadata)).toEqual([true, true, true]);
    expect(onEveryBrick(pvPath("subvol", "pvc-torn"))).toEqual([false, false, false]);
    suite.pool.setReclaimPolicy("delete");
    // The row is the archived volume's now: the early commit of its removal is put back.
    expect(await client.controller("DeleteVolume", { volume_id: "pvc-torn" })).toEqual({});
    expect(await rows()).toEqual([`pvc-torn ${2 * GiB}`]);
    expect(onEveryBrick(archivedPath)).toEqual([true, true, true]);
    await client.controller("DeleteVolume", { volume_id: "archived-pvc-torn" });
    expect(onEveryBrick(archivedPath)).toEqual([false, false, false]);
    expect(onEveryBrick(archivedMetadata)).toEqual([false, false, false]);
    expect(await rows()).toEqual([]);
  });

  it("the provisioner's client holds a commit's small writes until its sync: each brick serves about 5 WRITEs per create and 4 per delete", async () => {
    const names = Array.from({ length: 10 }, (_, index) => `pvc-batch-${index}`);
    const perCallPerBrick = (counts: Map<string, number>, fop: string): number => (counts.get(fop) ?? 0) / names.length / suite.pool.bricks.length;
    const created = await suite.pool.gluster.profile("pool1", async () => {
      for (const name of names) {
        await create(name, GiB);
        // Held writes are flushed before the answer: the row is on every brick by then.
        expect(rowOnBricks(name), name).toEqual([GiB, GiB, GiB]);
      }
    });
    const deleted = await suite.pool.gluster.profile("pool1", async () => {
      for (const name of names) {
        await client.controller("DeleteVolume", { volume_id: name });
        expect(rowOnBricks(name), name).toEqual([undefined, undefined, undefined]);
      }
    });
    // A commit is four writes (journal, its header, the pages, the header cleared); a create adds its metadata
    // file; the odd commit takes one more. Each write sent alone, as upstream's client sends them, made 8 to 9 and 7.
    expect(perCallPerBrick(created, "WRITE")).toBeGreaterThanOrEqual(4);
    expect(perCallPerBrick(created, "WRITE")).toBeLessThanOrEqual(5.5);
    expect(perCallPerBrick(deleted, "WRITE")).toBeGreaterThanOrEqual(3);
    expect(perCallPerBrick(deleted, "WRITE")).toBeLessThanOrEqual(4.5);
    expect(await rows()).toEqual([]);
  });
});
