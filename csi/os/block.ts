/**
 * Upstream's block PVs, served as upstream lays them out: a sparse file in the pool,
 * `virtblock/<h1>/<h2>/<pv>` (XFS inside, loop-mounted at the target) or `rawblock/<h1>/<h2>/<pv>` (the
 * file attached as a loop device, that device bound over the target file). The mount table says what a
 * target is, so unpublishing and growing need nothing remembered.
 *
 * A rawblock file has one loop device per node, shared by every target it is published at: two loop
 * devices over one file each keep their own page cache, so a pod would not read what another pod on the
 * node wrote through the other device. The device is detached with its last mount (the mount table
 * counts them, so a restarted nodeplugin counts the same).
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { fileIdentity, loopDevice, loopDevicesOf } from "./loop.js";
import { mountAt, mountTable, type MountEntry } from "./mount-table.js";

const run = promisify(execFile);

/** Runs `work` alone among the works given the same key (the driver's per-key lock). */
export type Serialize = <T>(key: string, work: () => Promise<T>) => Promise<T>;

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

/** A bound device node's loop device (`/dev/loopN` bound over a file), else undefined. */
function boundDevice(entry: { fstype: string; root: string }): string | undefined {
  return entry.fstype === "devtmpfs" && /^\/loop\d+$/.test(entry.root) ? `/dev${entry.root}` : undefined;
}

/** The loop device behind a published block target (an XFS loop mount, or a bound loop device node). */
function loopDeviceOf(entry: MountEntry): string | undefined {
  return /^\/dev\/loop\d+$/.test(entry.source) ? entry.source : boundDevice(entry);
}

/** virtblock: the file's filesystem at `target` (a directory), through a loop device that goes with the mount. */
export async function publishFilesystem(file: string, target: string, readonly: boolean): Promise<void> {
  if (mountAt(target)) return;
  mkdirSync(target, { recursive: true });
  await run("mount", ["-t", "xfs", "-o", readonly ? "loop,ro" : "loop", file, target]);
}

/** Whether the block PV mounted at `path` is the one in `file` (its loop device's backing file is it). */
export async function holdsFile(path: string, file: string): Promise<boolean> {
  const entry = mountAt(path);
  const device = entry && loopDeviceOf(entry);
  return Boolean(device && (await loopDevice(device))?.backing === fileIdentity(file));
}

/**
 * virtblock staged: the file's filesystem at `path`, once per node, for every pod's target to bind. A
 * filesystem already mounted from the file (a target published before staging existed) is bound, not
 * mounted a second time: XFS refuses a second mount of one filesystem, and two would corrupt it.
 */
export async function stageFilesystem(file: string, path: string, readonly: boolean): Promise<void> {
  const devices = new Set((await loopDevicesOf(file)).map((loop) => loop.name));
  const mountedElsewhere = mountTable().find((entry) => entry.fstype === "xfs" && devices.has(entry.source));
  mkdirSync(path, { recursive: true });
  if (mountedElsewhere) await run("mount", ["--bind", mountedElsewhere.target, path]);
  else await run("mount", ["-t", "xfs", "-o", readonly ? "loop,ro" : "loop", file, path]);
}

/** Unmounts a staged filesystem (virtblock): its loop device goes with the last mount of it (autoclear). */
export async function unstageFilesystem(path: string): Promise<void> {
  for (let layer = 0; layer < 8 && isBlockTarget(path); layer += 1) await run("umount", [path]);
}

/** A staged filesystem (virtblock) bound at a pod's target, read-only if asked. */
export async function bindStaged(staging: string, target: string, readonly: boolean): Promise<void> {
  if (mountAt(target)) return;
  mkdirSync(target, { recursive: true });
  await run("mount", ["--bind", staging, target]);
  if (readonly) await run("mount", ["-o", "remount,bind,ro", target]);
}

/**
 * rawblock: the file's loop device bound over `target` (a file). A device already attached to the file with
 * the same read-only flag is shared; otherwise one is attached. Attaching is serialized per file, so two
 * publishes at once cannot both attach one.
 */
export async function publishDevice(file: string, target: string, readonly: boolean, serialize: Serialize): Promise<void> {
  if (mountAt(target)) return;
  const backing = fileIdentity(file);
  await serialize(`loop:${backing}`, async () => {
    // A device asked to detach while open (autoclear) goes with its last opener: it is not handed out again.
    const shared = (await loopDevicesOf(file)).find((loop) => loop.readonly === readonly && !loop.autoclear);
    const device = shared?.name ?? (await run("losetup", ["--find", "--show", ...(readonly ? ["--read-only"] : []), file])).stdout.trim();
    try {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, "", { flag: "a", mode: 0o600 });
      await run("mount", ["--bind", device, target]);
    } catch (error) {
      if (!shared) await run("losetup", ["--detach", device]).catch(() => undefined);
      throw error;
    }
  });
}

/** Whether `target` holds a published block PV (its mount is a loop device). */
export function isBlockTarget(target: string): boolean {
  const entry = mountAt(target);
  return Boolean(entry && loopDeviceOf(entry));
}

/**
 * Unmounts a block target and removes it (directory or file). A loop mount detaches its device on umount
 * (autoclear); a bound loop device is detached when no mount of it is left (its other targets, and kubelet's
 * own binds of them, each count), under its file's lock so a publish sharing it cannot slip in between.
 */
export async function unpublishBlock(target: string, serialize: Serialize): Promise<void> {
  const entry = mountAt(target);
  const device = entry && boundDevice(entry);
  const loop = device ? await loopDevice(device) : undefined;
  const release = async (): Promise<void> => {
    if (!entry) return;
    await run("umount", [target]);
    if (device && !mountTable().some((other) => boundDevice(other) === device)) await run("losetup", ["--detach", device]).catch(() => undefined);
  };
  await (loop ? serialize(`loop:${loop.backing}`, release) : release());
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
