/**
 * Block devices a node reports (`kadalu-csi devices`, run in its nodeplugin) and why a pool may not use
 * one. One function decides the reasons, so `storage-devices` and `storage-add --device` refuse alike.
 */
import { formatBytes } from "./units.js";

export interface BlockDevice {
  /** Kernel name: sdb, sdb1, loop3, dm-0. */
  name: string;
  /** Where the node has it: /dev/<name>. */
  path: string;
  sizeBytes: number;
  readOnly: boolean;
  /** The whole disk a partition belongs to. */
  parent?: string;
  partitions: string[];
  /** Devices built on this one (device-mapper, md RAID): LVM, LUKS, RAID members. */
  holders: string[];
  /** What blkid would name: a filesystem (xfs, ext4...), a partition table (gpt, dos), or a member (LVM2_member, crypto_LUKS, swap). */
  signature?: { kind: "filesystem" | "partition-table" | "member"; type: string };
  /** Mount points in the node's mount table. */
  mounts: string[];
  /** An exclusive open failed (EBUSY): mounted, perhaps in a namespace the table does not show, or held. */
  busy: boolean;
  /** Why its first bytes could not be read (an errno code): its signatures are unknown. */
  readError?: string;
  /** A loop device's backing file. */
  backingFile?: string;
}

/** XFS (what the server makes on a raw device) refuses smaller filesystems since xfsprogs 5.19. */
export const MIN_DEVICE_BYTES = 300 * 1024 * 1024;

/** Every reason a pool may not use `device`, empty when it may; `usedBy`: the pool that already has it. */
export function deviceRefusals(device: BlockDevice, usedBy?: string): string[] {
  const reasons: string[] = [];
  if (usedBy) reasons.push(`used by pool ${usedBy}`);
  if (device.readOnly) reasons.push("read-only");
  if (device.sizeBytes < MIN_DEVICE_BYTES) reasons.push(`too small (${formatBytes(device.sizeBytes)}; XFS needs ${formatBytes(MIN_DEVICE_BYTES)})`);
  if (device.partitions.length > 0) reasons.push(`partitioned (${device.partitions.join(", ")})`);
  const signature = device.signature;
  if (signature?.kind === "filesystem") reasons.push(`has a filesystem (${signature.type})`);
  else if (signature?.kind === "partition-table" && device.partitions.length === 0) reasons.push(`has a partition table (${signature.type})`);
  else if (signature?.kind === "member") reasons.push(`has a ${signature.type} signature`);
  if (device.mounts.length > 0) reasons.push(`mounted at ${device.mounts.join(", ")}`);
  if (device.holders.length > 0) reasons.push(`held by ${device.holders.join(", ")}`);
  if (device.readError) reasons.push(`unreadable (${device.readError}): its signatures cannot be checked`);
  if (device.busy && device.mounts.length === 0 && device.holders.length === 0)
    reasons.push("in use (the kernel refused an exclusive open: mounted or held elsewhere)");
  return reasons;
}

/** How the node's devices are found by the units pools hold: `node` + device path -> pool. */
export function deviceUsers(pools: { pool: string; units: { node?: string; device?: string }[] }[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const { pool, units } of pools) for (const unit of units) if (unit.node && unit.device) users.set(`${unit.node}\0${unit.device}`, pool);
  return users;
}

export function userOf(users: Map<string, string>, node: string, device: BlockDevice): string | undefined {
  return users.get(`${node}\0${device.path}`);
}

/** Checks that the tool's JSON has the fields the reasons read: a node running another version is named, not trusted. */
export function parseDeviceReport(text: string): BlockDevice[] {
  const report = JSON.parse(text) as { devices?: unknown };
  if (!Array.isArray(report.devices)) throw new Error("the report has no devices list");
  for (const device of report.devices as BlockDevice[]) {
    const ok =
      typeof device?.name === "string" &&
      typeof device.path === "string" &&
      typeof device.sizeBytes === "number" &&
      typeof device.readOnly === "boolean" &&
      Array.isArray(device.partitions) &&
      Array.isArray(device.holders) &&
      Array.isArray(device.mounts) &&
      typeof device.busy === "boolean";
    if (!ok) throw new Error(`device entry ${JSON.stringify(device).slice(0, 80)} lacks fields`);
  }
  return report.devices as BlockDevice[];
}
