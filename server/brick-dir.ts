/**
 * Prepares a brick as upstream's glusterfsd.py does: the device (when there is one) formatted as xfs
 * and mounted, the directory with its .glusterfs, extended attributes checked, and the pool's volume id
 * on the brick root. A brick already marked with another pool's volume id is refused: serving it would
 * mix two pools' files. Startup only: the xattr tools run as child processes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const VOLUME_ID_XATTR = "trusted.glusterfs.volume-id";

type Run = (command: string, args: string[]) => string;

const run: Run = (command, args) => execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const stderrOf = (error: unknown): string => String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();

/** `0x` and the UUID's 16 bytes in hex: how setfattr takes a binary value and getfattr -e hex prints it. */
export const volumeIdHex = (uuid: string): string => `0x${uuid.replaceAll("-", "").toLowerCase()}`;

export function uuidOfHex(hex: string): string {
  const digits = hex.replace(/^0x/, "").toLowerCase();
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
}

/** The value of `name` in `getfattr -e hex` output, or undefined. */
export function xattrFromDump(dump: string, name: string): string | undefined {
  const line = dump.split("\n").find((entry) => entry.startsWith(`${name}=`));
  return line?.slice(name.length + 1).trim();
}

function readVolumeId(brickPath: string, exec: Run): string | undefined {
  try {
    return xattrFromDump(exec("getfattr", ["--absolute-names", "-e", "hex", "-n", VOLUME_ID_XATTR, brickPath]), VOLUME_ID_XATTR);
  } catch (error) {
    if (/No such attribute/i.test(stderrOf(error))) return undefined;
    throw new Error(`cannot read ${VOLUME_ID_XATTR} of brick ${brickPath}: ${stderrOf(error)}`);
  }
}

export function prepareBrickDir(brickPath: string, pool: string, volumeId: string, exec: Run = run): void {
  mkdirSync(join(brickPath, ".glusterfs"), { recursive: true, mode: 0o755 });
  try {
    exec("setfattr", ["-n", "user.kadalu-test", "-v", "ok", brickPath]);
    exec("setfattr", ["-x", "user.kadalu-test", brickPath]);
  } catch (error) {
    throw new Error(`brick ${brickPath} is on a filesystem without extended attributes (${stderrOf(error)}): use xfs or ext4`);
  }
  const found = readVolumeId(brickPath, exec);
  if (found === undefined) {
    exec("setfattr", ["-n", VOLUME_ID_XATTR, "-v", volumeIdHex(volumeId), brickPath]);
    return;
  }
  if (found.toLowerCase() !== volumeIdHex(volumeId)) {
    throw new Error(
      `brick ${brickPath} belongs to another pool (volume id ${uuidOfHex(found)}), not pool ${pool} (volume id ${volumeId}): give pool ${pool} an empty directory, or remove the old pool's data and its ${VOLUME_ID_XATTR} attribute`,
    );
  }
}

/** Formats (only when it has no filesystem) and mounts the brick's device on the brick path's parent. */
export function mountBrickDevice(device: string, brickPath: string, log: (line: string) => void, exec: Run = run): void {
  // A device given by file name lives in the directory the operator mounts at /brickdev.
  const source = device.startsWith("/dev/") ? device : `/brickdev/${basename(device)}`;
  const mountDir = dirname(brickPath);
  mkdirSync(mountDir, { recursive: true, mode: 0o755 });
  const mount = (): string | undefined => {
    try {
      exec("mount", [source, mountDir]);
      return undefined;
    } catch (error) {
      return stderrOf(error);
    }
  };
  const first = mount();
  if (first === undefined || /already mounted/.test(first)) return log(`brick device ${source} mounted on ${mountDir}`);
  if (!/wrong fs type|bad superblock/.test(first)) throw new Error(`cannot mount brick device ${source} on ${mountDir}: ${first}`);
  log(`brick device ${source} has no filesystem: formatting it as xfs`);
  try {
    exec("mkfs.xfs", [source]);
  } catch (error) {
    // mkfs.xfs refuses a device that holds any filesystem: never format over data.
    throw new Error(`cannot format brick device ${source}: ${stderrOf(error)}`);
  }
  const second = mount();
  if (second !== undefined) throw new Error(`cannot mount brick device ${source} on ${mountDir} after formatting it: ${second}`);
  log(`brick device ${source} formatted (xfs) and mounted on ${mountDir}`);
}
