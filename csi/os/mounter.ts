/**
 * Everything that mounts, behind one interface. The Gluster FUSE mounter is production (upstream's
 * `glusterfs` command line; it reuses an existing mount and waits for a new one); the local-directory
 * mounter maps each pool to a directory on this machine (tests, the sandbox, a laptop).
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, statfsSync, mkdirSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { isExternal, type PoolInfo } from "../../src/core/info/codec.js";
import { mounted } from "./mount-table.js";
import { externalClientProblems } from "../../src/core/pool/gluster-client.js";

const run = promisify(execFile);

export interface Mounter {
  /** Mounts the pool if needed (replacing a dead mount) and returns its root directory. */
  mountPool(info: PoolInfo): Promise<string>;
  /** Whether a pool root (or a bound target) still answers: a FUSE mount whose client died does not. */
  alive(path: string): boolean;
  /** Makes `source` (a directory in a mounted pool) appear at `target`. */
  bind(source: string, target: string, readonly: boolean): Promise<void>;
  /** Undoes `bind`; unmounting what is not mounted is not an error. */
  unbind(target: string): Promise<void>;
  /** Undoes `bind` at a directory the CO made and keeps (a staging path): the directory stays, empty. */
  unmount(path: string): Promise<void>;
  isBound(target: string): Promise<boolean>;
}

export class LocalDirMounter implements Mounter {
  /** `pools` maps pool names to directories; with `root`, any other pool is the directory `<root>/<pool>`. */
  constructor(
    private readonly pools: Map<string, string>,
    private readonly root?: string,
  ) {}

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
    // Only an empty directory (kubelet's) is taken away: anything else is refused, never replaced.
    if (existsSync(target)) rmdirSync(target);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target, "dir");
  }

  async unbind(target: string): Promise<void> {
    if (await this.isBound(target)) unlinkSync(target);
  }

  async unmount(path: string): Promise<void> {
    if (!(await this.isBound(path))) return;
    unlinkSync(path);
    mkdirSync(path);
  }

  async isBound(target: string): Promise<boolean> {
    try {
      return lstatSync(target).isSymbolicLink();
    } catch {
      return false;
    }
  }

  alive(): boolean {
    return true;
  }
}

/**
 * ENOTCONN (and ECONNABORTED) is what a FUSE mount answers once its client process died. statfs, not
 * stat: the kernel may answer a stat of the root from its attribute cache, never a statfs.
 */
export function deadMount(path: string): boolean {
  try {
    statfsSync(path);
    return false;
  } catch (error) {
    return ["ENOTCONN", "ECONNABORTED"].includes((error as NodeJS.ErrnoException).code ?? "");
  }
}

/** Gluster's management port, where clients fetch the volume file. */
export const GLUSTERD_PORT = 24007;

/** Whether `host` accepts a TCP connection on `port` within `timeoutMs`. */
export function portAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

/** Waits (bounded) until one of `hosts` accepts connections on `port`; says which were tried if none did. */
export async function waitForServer(hosts: string[], port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    const results = await Promise.all(hosts.map((host) => portAnswers(host, port, Math.min(2000, timeoutMs))));
    if (results.some(Boolean)) return;
    if (Date.now() >= deadline)
      throw new Error(
        `no Gluster server answered on port ${port} of ${hosts.join(", ")} within ${Math.round(timeoutMs / 1000)}s (are the brick pods running?)`,
      );
    await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 2000, Math.max(0, deadline - Date.now()))));
  }
}

/** Upstream's image has the client in /opt/sbin; Debian's glusterfs-client (our image, a laptop) on PATH. */
export const GLUSTERFS = process.env.GLUSTERFS_BIN ?? (existsSync("/opt/sbin/glusterfs") ? "/opt/sbin/glusterfs" : "glusterfs");
export const GLUSTER_LOG = "/var/log/gluster/gluster.log";

/**
 * The provisioner's write-behind holds its writes until they are synced rather than sending each one
 * alone. Everything that mount writes (stat.db's journal and pages, metadata files, block files) is
 * synced before a call is answered, so nothing waits longer; a stat.db commit's dozen small writes
 * reach the bricks as four (each write is a round trip to every brick). The nodeplugin's mounts, which
 * carry the apps' data, keep upstream's client as it is.
 */
export function provisionerWriteBehind(volname: string): string {
  return `--xlator-option=${volname}-write-behind.trickling-writes=off`;
}

/**
 * Upstream's client command line (ARCHITECTURE.md#upstream-contracts); the provisioner adds --client-pid -14 for simple-quota
 * and holds its writes until they are synced.
 */
export function glusterMountArgs(info: PoolInfo, mountpoint: string, role: "provisioner" | "nodeplugin"): string[] {
  if (isExternal(info)) {
    // Never hand the privileged client an option outside the documented list, wherever the info came from.
    const problems = externalClientProblems(info.gluster_hosts, info.gluster_volname, info.gluster_options);
    if (problems.length > 0) throw new Error(`External pool ${info.volname} cannot be mounted: ${problems.join("; ")}`);
    const hosts = info.gluster_hosts.split(",").filter(Boolean);
    const options = info.gluster_options
      .split(",")
      .filter(Boolean)
      .map((option) => `--${option}`);
    return [
      "--process-name",
      "fuse",
      "-l",
      GLUSTER_LOG,
      "--volfile-id",
      info.gluster_volname,
      ...hosts.flatMap((host) => ["--volfile-server", host]),
      ...options,
      mountpoint,
    ];
  }
  return [
    "--process-name",
    "fuse",
    "-l",
    GLUSTER_LOG,
    "--volfile-id",
    info.volname,
    "--fs-display-name",
    `kadalu:${info.volname}`,
    ...(role === "provisioner" ? ["--client-pid", "-14", provisionerWriteBehind(info.volname)] : []),
    ...info.bricks.flatMap((brick) => ["--volfile-server", brick.node]),
    mountpoint,
  ];
}

/** The hosts a client fetches the volume file from, as the mount command line names them. */
function volfileServers(info: PoolInfo): string[] {
  return isExternal(info) ? info.gluster_hosts.split(",").filter(Boolean) : info.bricks.map((brick) => brick.node);
}

export class GlusterMounter implements Mounter {
  constructor(
    private readonly root: string,
    private readonly role: "provisioner" | "nodeplugin",
    private readonly serverWaitMs = 30_000,
  ) {}

  async mountPool(info: PoolInfo): Promise<string> {
    const mountpoint = join(this.root, info.volname);
    if (mounted(mountpoint)) {
      if (!deadMount(mountpoint)) return mountpoint;
      // The client died: the kernel keeps the mount, answering ENOTCONN, until it is unmounted.
      await run("umount", ["-l", mountpoint]);
    }
    mkdirSync(mountpoint, { recursive: true });
    await waitForServer(volfileServers(info), GLUSTERD_PORT, this.serverWaitMs);
    await run(GLUSTERFS, glusterMountArgs(info, mountpoint, this.role));
    for (let attempt = 0; attempt < 60 && !mounted(mountpoint); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 500));
    if (!mounted(mountpoint)) throw new Error(`glusterfs did not mount ${info.volname} at ${mountpoint} within 30s; see ${GLUSTER_LOG}`);
    return mountpoint;
  }

  alive(path: string): boolean {
    return !deadMount(path);
  }

  /** Binds `source` at `target`; a bind left dead by a client that died is replaced. */
  async bind(source: string, target: string, readonly: boolean): Promise<void> {
    if (mounted(target)) {
      if (!deadMount(target)) return;
      await run("umount", ["-l", target]);
    }
    mkdirSync(target, { recursive: true });
    await run("mount", ["--bind", source, target]);
    if (readonly) await run("mount", ["-o", "remount,bind,ro", target]);
  }

  /** Unmounts and removes the target, as the spec asks of NodeUnpublishVolume (never its contents: rmdir). */
  async unbind(target: string): Promise<void> {
    await this.unmount(target);
    try {
      rmdirSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }

  /** A path bound again after a restart holds the new bind over the dead one: both go. */
  async unmount(path: string): Promise<void> {
    for (let layer = 0; layer < 8 && mounted(path); layer += 1) await run("umount", deadMount(path) ? ["-l", path] : [path]);
  }

  async isBound(target: string): Promise<boolean> {
    return mounted(target);
  }
}
