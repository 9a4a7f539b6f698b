/**
 * A replaced brick healed by the self-heal daemon, started by `kadalu-server heal-now` as `gluster volume
 * heal` would, on this host's GlusterFS: a Replica3 pool of the server image's making (three glusterfsd, one
 * daemon), a tree written, one brick replaced by an empty one and marked as `storage-replace --wait` marks it.
 * Left alone the daemon copies nothing (it sweeps its index when a brick connects, then every 10 minutes);
 * started again as the CLI does on each poll, it copies the whole tree.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healNow } from "../../server/heal-now.js";
import { markReplaced } from "../../server/mark-replaced.js";
import { waitUntil } from "../../harness/real/processes.js";
import { ReplicaSet } from "../../harness/real/replica-set.js";
import { noGluster } from "../../harness/real/tier.js";

/** Every entry under a brick (Gluster's .glusterfs left out) by its path, with a file's SHA-256. */
function tree(root: string, dir = root, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === ".glusterfs") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tree(root, path, into.set(relative(root, path), "dir"));
    else into.set(relative(root, path), createHash("sha256").update(readFileSync(path)).digest("hex"));
  }
  return into;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(noGluster)("heal-now: a replaced brick healed by the self-heal daemon", () => {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-heal-now-"));
  let set: ReplicaSet;

  beforeAll(async () => {
    set = await ReplicaSet.start(dir);
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies the whole tree to the new brick once started; left alone the daemon copies nothing", async () => {
    const mount = await set.mount("app");
    // A pool's layout: 256 hash directories at the first level, a PV two levels down with its files.
    for (let hash = 0; hash < 256; hash += 1) mkdirSync(join(mount, "subvol", hash.toString(16).padStart(2, "0")), { recursive: true });
    const pv = join(mount, "subvol", "82", "89", "pvc-1");
    mkdirSync(pv, { recursive: true });
    for (let file = 0; file < 10; file += 1) writeFileSync(join(pv, `f${file}`), randomBytes(65536));
    set.unmount(mount);
    const written = tree(set.bricks[0]!);
    expect(tree(set.bricks[2]!)).toEqual(written);

    await set.replaceBrick(2);
    // The daemon's sweep on the new brick's connection finds nothing yet: let it end before the mark.
    await sleep(3000);
    markReplaced({ pool: set.pool, index: 2, volfilesDir: set.volfilesDir, scratch: dir });
    await sleep(5000);
    expect(tree(set.bricks[2]!).size, "entries on the new brick with the daemon left alone").toBe(0);

    const started = Date.now();
    let said = "";
    await waitUntil(
      "the new brick holding what the others hold",
      async () => {
        said = await healNow({ pool: set.pool, volfilesDir: set.volfilesDir, socket: set.shdSocket });
        const healed = tree(set.bricks[2]!);
        return JSON.stringify([...healed].sort()) === JSON.stringify([...written].sort()) || undefined;
      },
      90_000,
      2000,
    );
    console.log(`real tier: heal-now, ${written.size} entries copied to the new brick in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(said).toBe(`index heal of pool ${set.pool}: started on 0-0, 0-1, 0-2`);
  }, 180_000);
});
