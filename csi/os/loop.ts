/**
 * The node's loop devices, each with the identity of its backing file (device and inode, as the loop driver
 * recorded them at attach). A file is matched by that identity, not its path: a path names another file
 * once the pool's FUSE client was mounted again, while a device over the dead mount keeps the old identity.
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoopDevice {
  /** `/dev/loopN` */
  name: string;
  /** The backing file's identity: `major:minor:inode`. */
  backing: string;
  readonly: boolean;
  /** Detached once its last opener closes it (a detach asked while it was open): not to be handed out again. */
  autoclear: boolean;
}

/** `major:minor:inode` of a file, as losetup reports a backing file's. */
export function fileIdentity(file: string): string {
  const { dev, ino } = statSync(file, { bigint: true });
  // glibc's dev_t encoding, which stat(2) and the loop driver's lo_device share.
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}:${ino}`;
}

const flag = (value: unknown): boolean => value === true || value === 1 || value === "1";

/** Every attached loop device (losetup reads each one's status; no backing file is touched). */
export async function loopDevices(): Promise<LoopDevice[]> {
  const { stdout } = await run("losetup", ["--list", "--json", "--output", "NAME,BACK-MAJ:MIN,BACK-INO,RO,AUTOCLEAR"], { timeout: 30_000 });
  if (!stdout.trim()) return [];
  const listed = (JSON.parse(stdout) as { loopdevices?: Record<string, unknown>[] }).loopdevices ?? [];
  return listed.map((entry) => ({
    name: String(entry.name),
    backing: `${String(entry["back-maj:min"]).trim()}:${String(entry["back-ino"]).trim()}`,
    readonly: flag(entry.ro),
    autoclear: flag(entry.autoclear),
  }));
}
