/**
 * The node's loop devices, each with the identity of its backing file (device and inode). A file is matched
 * by that identity, not its path: a path names another file once the pool's FUSE client was mounted again,
 * while a device over the dead mount still names the path.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoopDevice {
  /** `/dev/loopN` */
  name: string;
  /** The backing file's identity, `major:minor:inode`; empty when its file cannot be reached. */
  backing: string;
  readonly: boolean;
  /** Detached once its last opener closes it (a detach asked while it was open): not to be handed out again. */
  autoclear: boolean;
}

/** `major:minor:inode` of a file, as losetup reports a backing file's. */
export function fileIdentity(file: string): string {
  const stats = statSync(file, { bigint: true });
  // Node hands bigint stats out as signed 64-bit: FUSE inode numbers past 2^63 come out negative.
  const [dev, ino] = [BigInt.asUintN(64, stats.dev), BigInt.asUintN(64, stats.ino)];
  // glibc's dev_t encoding, which stat(2) and the loop driver's lo_device share.
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}:${ino}`;
}

/** A raw column of losetup: its escapes undone (it pads BACK-MAJ:MIN with escaped spaces). */
const field = (raw: string | undefined): string => (raw ?? "").replace(/\\x([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))).trim();

/**
 * A loop device's status, or undefined when it is not attached. The kernel answers its backing identity by a
 * stat of its file, so a file on a dead FUSE mount has none (and matches no file). Raw output, not JSON:
 * FUSE inode numbers go past what a JSON number holds exactly.
 */
export async function loopDevice(name: string): Promise<LoopDevice | undefined> {
  const listed = await run("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-MAJ:MIN,BACK-INO,RO,AUTOCLEAR", name], {
    timeout: 30_000,
  }).catch(() => undefined);
  const line = listed?.stdout.split("\n")[0];
  if (!line?.trim()) return undefined;
  const [, majorMinor, inode, readonly, autoclear] = line.split(" ").map(field);
  return { name, backing: majorMinor && inode ? `${majorMinor}:${inode}` : "", readonly: readonly === "1", autoclear: autoclear === "1" };
}

/**
 * The loop devices attached to `file`: those whose backing path (sysfs, no call into any pool) names it,
 * and whose backing file is it. Only those are asked for their status, so a hung mount of another pool
 * holds nothing up.
 */
export async function loopDevicesOf(file: string): Promise<LoopDevice[]> {
  const identity = fileIdentity(file);
  // sysfs gives the path the kernel resolved at attach, with no symbolic link left in it.
  const path = realpathSync(file);
  const named = readdirSync("/sys/block").filter((name) => {
    try {
      return /^loop\d+$/.test(name) && readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim() === path;
    } catch {
      return false; // not attached
    }
  });
  const devices = await Promise.all(named.map((name) => loopDevice(`/dev/${name}`)));
  return devices.filter((device): device is LoopDevice => device?.backing === identity);
}
