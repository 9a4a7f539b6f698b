/**
 * Everything that mounts, behind one interface. The Gluster FUSE mounter is production (upstream's
 * `glusterfs` command line; it reuses an existing mount and waits for a new one); the local-directory
 * mounter maps each pool to a directory on this machine (tests, the sandbox, a laptop).
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { isExternal, type PoolInfo } from "../src/core/info/codec.js";

const run = promisify(execFile);

export interface Mounter {
  /** Mounts the pool if needed and returns its root directory. */
  mountPool(info: PoolInfo): Promise<string>;
  /** Makes `source` (a directory in a mounted pool) appear at `target`. */
  bind(source: string, target: string, readonly: boolean): Promise<void>;
  /** Undoes `bind`; unmounting what is not mounted is not an error. */
  unbind(target: string): Promise<void>;
  isBound(target: string): Promise<boolean>;
}

export class LocalDirMounter implements Mounter {
  /** `pools` maps pool names to directories; with `root`, any other pool is the directory `<root>/<pool>`. */
  constructor(private readonly pools: Map<string, string>, private readonly root?: string) {}

  async mountPool(info: PoolInfo): Promise<string> {
    const dir = this.pools.get(info.volname) ?? (this.root ? join(this.root, info.volname) : undefined);
    if (!dir) throw new Error(`no --pool-dir given for pool ${info.volname}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A symlink stands for the bind mount (no privileges needed); read-only cannot be enforced this way. */
  async bind(source: string, target: string): Promise<void> {
    if (await this.isBound(target)) {
      if (readlinkSync(target) === source) return;
      throw new Error(`${target} is already bound to ${readlinkSync(target)}`);
    }
    if (existsSync(target)) rmSync(target, { recursive: false, force: true });
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target, "dir");
  }

  async unbind(target: string): Promise<void> {
    if (await this.isBound(target)) unlinkSync(target);
  }

  async isBound(target: string): Promise<boolean> {
    try {
      return lstatSync(target).isSymbolicLink();
    } catch {
      return false;
    }
  }
}

/** Upstream's image has the client in /opt/sbin; Debian's glusterfs-client (our image, a laptop) on PATH. */
export const GLUSTERFS = process.env.GLUSTERFS_BIN ?? (existsSync("/opt/sbin/glusterfs") ? "/opt/sbin/glusterfs" : "glusterfs");
export const GLUSTER_LOG = "/var/log/gluster/gluster.log";

/** Upstream's client command line (spec §3.9); the provisioner adds --client-pid -14 for simple-quota. */
export function glusterMountArgs(info: PoolInfo, mountpoint: string, role: "provisioner" | "nodeplugin"): string[] {
  if (isExternal(info)) {
    const hosts = info.gluster_hosts.split(",").filter(Boolean);
    const options = info.gluster_options.split(",").filter(Boolean).map((option) => `--${option}`);
    return ["--process-name", "fuse", "-l", GLUSTER_LOG, "--volfile-id", info.gluster_volname, ...hosts.flatMap((host) => ["--volfile-server", host]), ...options, mountpoint];
  }
  return [
    "--process-name", "fuse", "-l", GLUSTER_LOG, "--volfile-id", info.volname, "--fs-display-name", `kadalu:${info.volname}`,
    ...(role === "provisioner" ? ["--client-pid", "-14"] : []),
    ...info.bricks.flatMap((brick) => ["--volfile-server", brick.node]), mountpoint,
  ];
}

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === path);
}

export class GlusterMounter implements Mounter {
  constructor(private readonly root: string, private readonly role: "provisioner" | "nodeplugin") {}

  async mountPool(info: PoolInfo): Promise<string> {
    const mountpoint = join(this.root, info.volname);
    if (mounted(mountpoint)) return mountpoint;
    mkdirSync(mountpoint, { recursive: true });
    await run(GLUSTERFS, glusterMountArgs(info, mountpoint, this.role));
    for (let attempt = 0; attempt < 60 && !mounted(mountpoint); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 500));
    if (!mounted(mountpoint)) throw new Error(`glusterfs did not mount ${info.volname} at ${mountpoint} within 30s; see ${GLUSTER_LOG}`);
    return mountpoint;
  }

  async bind(source: string, target: string, readonly: boolean): Promise<void> {
    if (mounted(target)) return;
    mkdirSync(target, { recursive: true });
    await run("mount", ["--bind", source, target]);
    if (readonly) await run("mount", ["-o", "remount,bind,ro", target]);
  }

  /** Unmounts and removes the target, as the spec asks of NodeUnpublishVolume (never its contents: rmdir). */
  async unbind(target: string): Promise<void> {
    if (mounted(target)) await run("umount", [target]);
    try {
      rmdirSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }

  async isBound(target: string): Promise<boolean> {
    return mounted(target);
  }
}
