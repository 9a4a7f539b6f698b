/**
 * Loop devices as device discovery meets them on a node (root): one raw and usable, one with XFS, one
 * with XFS and mounted, one too small. Each test that makes them removes them (`remove`), mount first.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DiscoveryLoops {
  /** Where their backing files are. */
  dir: string;
  raw: string;
  xfs: string;
  mounted: string;
  small: string;
  mountPoint: string;
  remove(): void;
}

export function makeDiscoveryLoops(): DiscoveryLoops {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-loops-"));
  const mountPoint = join(dir, "mnt");
  const loops: string[] = [];
  const remove = (): void => {
    spawnSync("umount", [mountPoint]);
    for (const loop of loops) spawnSync("losetup", ["-d", loop]);
    rmSync(dir, { recursive: true, force: true });
  };
  const attach = (name: string, mib: number): string => {
    const file = join(dir, name);
    execFileSync("truncate", ["-s", `${mib}M`, file]);
    const loop = execFileSync("losetup", ["-f", "--show", file], { encoding: "utf8" }).trim();
    loops.push(loop);
    return loop;
  };
  try {
    const made = { raw: attach("raw.img", 400), xfs: attach("xfs.img", 400), mounted: attach("mounted.img", 400), small: attach("small.img", 64) };
    execFileSync("mkfs.xfs", ["-q", made.xfs]);
    execFileSync("mkfs.xfs", ["-q", made.mounted]);
    mkdirSync(mountPoint);
    execFileSync("mount", [made.mounted, mountPoint]);
    return { dir, ...made, mountPoint, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
