/**
 * `kadalu-csi devices [--root DIR]`: the node's block devices as JSON, read from `<root>/sys/block`, the
 * mount table `<root>/proc/self/mountinfo` and each device's first bytes under `<root>/dev` (blkid's
 * signatures). Run in the nodeplugin by `kubectl kadalu storage-devices`; `root` lets tests point it at a
 * made tree. An exclusive open tells what the mount table of this namespace cannot: mounted elsewhere.
 */
import { constants } from "node:fs";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BlockDevice } from "../../src/core/devices.js";

const SECTOR = 512;
/** Far enough for btrfs's superblock at 64 KiB. */
const HEAD_BYTES = 0x10000 + 0x1000;

type Signature = NonNullable<BlockDevice["signature"]>;

const at = (head: Buffer, offset: number, text: string): boolean =>
  head.length >= offset + text.length && head.toString("latin1", offset, offset + text.length) === text;

/** The signatures blkid reports most, checked in its order of precedence for these. */
export function signatureOf(head: Buffer): Signature | undefined {
  if (at(head, 0, "XFSB")) return { kind: "filesystem", type: "xfs" };
  if (at(head, 0, "LUKS\xba\xbe")) return { kind: "member", type: "crypto_LUKS" };
  if (at(head, 0x10040, "_BHRfS_M")) return { kind: "filesystem", type: "btrfs" };
  if (head.length > 0x439 && head[0x438] === 0x53 && head[0x439] === 0xef) return { kind: "filesystem", type: "ext4" };
  if (at(head, 536, "LVM2 001") || at(head, 512, "LABELONE")) return { kind: "member", type: "LVM2_member" };
  if (at(head, 4086, "SWAPSPACE2") || at(head, 4086, "SWAP-SPACE")) return { kind: "member", type: "swap" };
  if (at(head, 0, "hsqs")) return { kind: "filesystem", type: "squashfs" };
  if (at(head, 32769, "CD001")) return { kind: "filesystem", type: "iso9660" };
  if (at(head, 512, "EFI PART")) return { kind: "partition-table", type: "gpt" };
  if (at(head, 82, "FAT32   ") || at(head, 54, "FAT1")) return { kind: "filesystem", type: "vfat" };
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) return { kind: "partition-table", type: "dos" };
  return undefined;
}

async function text(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    return undefined;
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** "major:minor" -> mount points, from mountinfo (field 3 is the mounted device's number, field 5 the point). */
export function mountsByDevice(mountinfo: string): Map<string, string[]> {
  const mounts = new Map<string, string[]>();
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    // Spaces and such in mount points are octal escapes (\040).
    const point = fields[4]!.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    mounts.set(fields[2]!, [...(mounts.get(fields[2]!) ?? []), point]);
  }
  return mounts;
}

/** The first bytes, and whether an exclusive open was refused (a block device mounted or held: EBUSY). */
async function head(file: string): Promise<{ head?: Buffer; busy: boolean; error?: string }> {
  let busy = false;
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_EXCL);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EBUSY") return { busy, error: code ?? (error as Error).message };
    busy = true;
    try {
      handle = await open(file, constants.O_RDONLY);
    } catch (again) {
      return { busy, error: (again as NodeJS.ErrnoException).code ?? (again as Error).message };
    }
  }
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return { head: buffer.subarray(0, bytesRead), busy };
  } catch (error) {
    return { busy, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  } finally {
    await handle.close();
  }
}

async function describe(root: string, sysDir: string, name: string, mounts: Map<string, string[]>, parent?: string): Promise<BlockDevice | undefined> {
  const sectors = Number(await text(join(sysDir, "size")));
  // Unattached loop devices and empty card readers have no size: nothing to offer.
  if (!(sectors > 0)) return undefined;
  const partitions: string[] = [];
  if (!parent)
    for (const entry of await entries(sysDir))
      if (entry.startsWith(name) && (await text(join(sysDir, entry, "partition"))) !== undefined) partitions.push(entry);
  const number = (await text(join(sysDir, "dev"))) ?? "";
  const read = await head(join(root, "dev", name));
  const backing = name.startsWith("loop") ? await text(join(sysDir, "loop", "backing_file")) : undefined;
  const signature = read.head ? signatureOf(read.head) : undefined;
  return {
    name,
    path: `/dev/${name}`,
    sizeBytes: sectors * SECTOR,
    readOnly: (await text(join(sysDir, "ro"))) === "1",
    ...(parent ? { parent } : {}),
    partitions,
    holders: await entries(join(sysDir, "holders")),
    ...(signature ? { signature } : {}),
    mounts: mounts.get(number) ?? [],
    busy: read.busy,
    ...(read.error ? { readError: read.error } : {}),
    ...(backing ? { backingFile: backing } : {}),
  };
}

/** Every sized block device of the node under `root`, partitions right after their disk. */
export async function scanBlockDevices(root: string): Promise<BlockDevice[]> {
  const mounts = mountsByDevice((await text(join(root, "proc", "self", "mountinfo"))) ?? "");
  const devices: BlockDevice[] = [];
  for (const name of await entries(join(root, "sys", "block"))) {
    if (name.startsWith("ram")) continue;
    const sysDir = join(root, "sys", "block", name);
    const disk = await describe(root, sysDir, name, mounts);
    if (!disk) continue;
    devices.push(disk);
    for (const partition of disk.partitions) {
      const described = await describe(root, join(sysDir, partition), partition, mounts, name);
      if (described) devices.push(described);
    }
  }
  return devices;
}

export async function devicesTool(args: string[], out: (text: string) => void): Promise<void> {
  let root = "/";
  for (let index = 0; index < args.length; index += 1) {
    if (args[index] === "--root" && args[index + 1]?.startsWith("/")) root = args[(index += 1)]!;
    else throw new Error(`devices takes only --root DIR (an absolute path), not "${args[index]}"`);
  }
  out(JSON.stringify({ devices: await scanBlockDevices(root) }));
}
