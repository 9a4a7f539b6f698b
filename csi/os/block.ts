/**
 * Upstream's block PVs, served as upstream lays them out: a sparse file in the pool,
 * `virtblock/<h1>/<h2>/<pv>` (XFS inside, loop-mounted at the target) or `rawblock/<h1>/<h2>/<pv>` (the
 * file attached as a loop device, that device bound over the target file). The mount table says what a
 * target is, so unpublishing and growing need nothing remembered.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { mountAt, type MountEntry } from "./mount-table.js";

const run = promisify(execFile);

/** XFS refuses filesystems below 300 MiB (xfsprogs 5.19 and later). */
export const VIRTBLOCK_MIN_BYTES = 300 * 1024 * 1024;

/** The sparse file of a new block PV, at `size` and synced; a file already there is left as it is (a retried create). */
export async function createBlockFile(file: string, size: number, filesystem: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(file, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw error;
  }
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (filesystem) await run("mkfs.xfs", ["-q", file], { timeout: 120_000 });
}

/** Grows the file of a block PV (never shrinks it). */
export async function growBlockFile(file: string, size: number): Promise<void> {
  if (statSync(file).size >= size) return;
  const handle = await open(file, "r+");
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** The loop device behind a published block target (an XFS loop mount, or a bound loop device node). */
function loopDeviceOf(entry: MountEntry): string | undefined {
  if (/^\/dev\/loop\d+$/.test(entry.source)) return entry.source;
  if (entry.fstype === "devtmpfs" && /^\/loop\d+$/.test(entry.root)) return `/dev${entry.root}`;
  return undefined;
}

/** virtblock: the file's filesystem at `target` (a directory), through a loop device that goes with the mount. */
export async function publishFilesystem(file: string, target: string, readonly: boolean): Promise<void> {
  if (mountAt(target)) return;
  mkdirSync(target, { recursive: true });
  await run("mount", ["-t", "xfs", "-o", readonly ? "loop,ro" : "loop", file, target]);
}

/** rawblock: the file attached as a loop device, and that device bound over `target` (a file). */
export async function publishDevice(file: string, target: string, readonly: boolean): Promise<void> {
  if (mountAt(target)) return;
  const { stdout } = await run("losetup", ["--find", "--show", ...(readonly ? ["--read-only"] : []), file]);
  const device = stdout.trim();
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, "", { flag: "a", mode: 0o600 });
    await run("mount", ["--bind", device, target]);
  } catch (error) {
    await run("losetup", ["--detach", device]).catch(() => undefined);
    throw error;
  }
}

/** Whether `target` holds a published block PV (its mount is a loop device). */
export function isBlockTarget(target: string): boolean {
  const entry = mountAt(target);
  return Boolean(entry && loopDeviceOf(entry));
}

/** Unmounts a block target, detaches a bound loop device, removes the target (directory or file). */
export async function unpublishBlock(target: string): Promise<void> {
  const entry = mountAt(target);
  if (entry) {
    await run("umount", [target]);
    const device = loopDeviceOf(entry);
    // A loop mount detaches its device on umount (autoclear); a bound device node is detached here.
    if (device && entry.fstype === "devtmpfs") await run("losetup", ["--detach", device]).catch(() => undefined);
  }
  try {
    if (statSync(target).isDirectory()) rmdirSync(target);
    else unlinkSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** The size of the raw block device bound at `target` (undefined if it is not one), from sysfs. */
export function rawDeviceBytes(target: string): number | undefined {
  const entry = mountAt(target);
  const device = entry?.fstype === "devtmpfs" ? loopDeviceOf(entry) : undefined;
  if (!device) return undefined;
  return Number(readFileSync(`/sys/block/${device.slice("/dev/".length)}/size`, "utf8").trim()) * 512;
}

/** After the file grew: the loop device learns its new size, and a virtblock's XFS grows into it. */
/** How long a node waits for its own FUSE mount to show the size the controller gave the file. */
const GROWN_FILE_WAIT_MS = 5000;

/**
 * Grows the loop device (and a virtblock's XFS) into the file the controller grew. The controller grew it
 * through another mount: this node's FUSE client may answer from its attribute cache for a moment, and the
 * loop driver would keep the old size, so the file's size here is awaited (bounded) first.
 */
export async function growOnNode(target: string, requiredBytes = 0): Promise<void> {
  const entry = mountAt(target);
  const device = entry && loopDeviceOf(entry);
  if (!entry || !device) throw new Error(`${target} is not a published block volume`);
  const backing = readFileSync(`/sys/block/${device.slice("/dev/".length)}/loop/backing_file`, "utf8").trim();
  const deadline = Date.now() + GROWN_FILE_WAIT_MS;
  while (statSync(backing).size < requiredBytes) {
    if (Date.now() > deadline)
      throw new Error(`the file of ${target} holds ${statSync(backing).size} bytes on this node, not yet the ${requiredBytes} asked; try again`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await run("losetup", ["--set-capacity", device]);
  if (entry.fstype === "xfs") await run("xfs_growfs", [target]);
}
