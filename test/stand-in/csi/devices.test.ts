/** Device discovery: the node-side scan against a made /sys tree and against real loop devices, and the reasons it gives. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeDiscoveryLoops, type DiscoveryLoops } from "../../../harness/helpers/loop-devices.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanBlockDevices } from "../../../csi/tools/devices.js";
import { deviceRefusals, type BlockDevice } from "../../../src/core/devices.js";

const MiB = 1024 * 1024;
const CSI_BIN = fileURLToPath(new URL("../../../bin/kadalu-csi", import.meta.url));

/** A node's /sys/block, /dev and mount table as real files: `head` is written at the start of the device file. */
function makeNode(
  root: string,
  devices: {
    name: string;
    mib: number;
    dev: string;
    ro?: boolean;
    head?: [number, Buffer][];
    partitions?: { name: string; mib: number; dev: string }[];
    holders?: string[];
  }[],
  mountinfo: string,
): void {
  for (const device of devices) {
    const sys = join(root, "sys", "block", device.name);
    mkdirSync(join(sys, "holders"), { recursive: true });
    writeFileSync(join(sys, "size"), `${(device.mib * MiB) / 512}\n`);
    writeFileSync(join(sys, "ro"), device.ro ? "1\n" : "0\n");
    writeFileSync(join(sys, "dev"), `${device.dev}\n`);
    for (const holder of device.holders ?? []) mkdirSync(join(sys, "holders", holder));
    mkdirSync(join(root, "dev"), { recursive: true });
    const bytes = Buffer.alloc(0x11000);
    for (const [offset, data] of device.head ?? []) data.copy(bytes, offset);
    writeFileSync(join(root, "dev", device.name), bytes);
    for (const partition of device.partitions ?? []) {
      mkdirSync(join(sys, partition.name), { recursive: true });
      writeFileSync(join(sys, partition.name, "partition"), "1\n");
      writeFileSync(join(sys, partition.name, "size"), `${(partition.mib * MiB) / 512}\n`);
      writeFileSync(join(sys, partition.name, "ro"), "0\n");
      writeFileSync(join(sys, partition.name, "dev"), `${partition.dev}\n`);
      writeFileSync(join(root, "dev", partition.name), Buffer.alloc(4096));
    }
  }
  mkdirSync(join(root, "sys", "block", "loop7"), { recursive: true });
  writeFileSync(join(root, "sys", "block", "loop7", "size"), "0\n");
  mkdirSync(join(root, "proc", "self"), { recursive: true });
  writeFileSync(join(root, "proc", "self", "mountinfo"), mountinfo);
}

const reasonsByName = (devices: BlockDevice[]) => Object.fromEntries(devices.map((device) => [device.name, deviceRefusals(device)]));

describe("device scan of a made node tree", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "kadalu-devices-"));
    const ext4 = Buffer.from([0x53, 0xef]);
    makeNode(
      root,
      [
        { name: "sdb", mib: 1024, dev: "8:16" },
        { name: "sdc", mib: 1024, dev: "8:32", head: [[510, Buffer.from([0x55, 0xaa])]], partitions: [{ name: "sdc1", mib: 512, dev: "8:33" }] },
        { name: "sdd", mib: 2048, dev: "8:48", head: [[0x438, ext4]] },
        { name: "sde", mib: 1024, dev: "8:64", ro: true },
        { name: "sdf", mib: 100, dev: "8:80" },
        { name: "sdg", mib: 1024, dev: "8:96", head: [[536, Buffer.from("LVM2 001")]], holders: ["dm-0"] },
        { name: "sdh", mib: 1024, dev: "8:112", head: [[0, Buffer.from("XFSB")]] },
        { name: "vdb", mib: 1024, dev: "252:16", head: [[512, Buffer.from("EFI PART")]] },
      ],
      ["27 1 254:0 / / rw,relatime - ext4 /dev/vda rw", "90 27 8:112 / /var/lib/my\\040data rw,relatime - xfs /dev/sdh rw", ""].join("\n"),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("lists sized devices, partitions after their disk, with size, signature, mounts and holders", async () => {
    const devices = await scanBlockDevices(root);
    expect(devices.map((device) => device.name)).toEqual(["sdb", "sdc", "sdc1", "sdd", "sde", "sdf", "sdg", "sdh", "vdb"]);
    expect(devices.find((device) => device.name === "sdb")).toEqual({
      name: "sdb",
      path: "/dev/sdb",
      sizeBytes: 1024 * MiB,
      readOnly: false,
      partitions: [],
      holders: [],
      mounts: [],
      busy: false,
    });
    expect(devices.find((device) => device.name === "sdc1")).toMatchObject({ parent: "sdc", sizeBytes: 512 * MiB, partitions: [] });
    expect(devices.find((device) => device.name === "sdh")).toMatchObject({ signature: { kind: "filesystem", type: "xfs" }, mounts: ["/var/lib/my data"] });
  });

  it("gives each refusal a reason a user can act on; a raw disk and a bare partition have none", async () => {
    expect(reasonsByName(await scanBlockDevices(root))).toEqual({
      sdb: [],
      sdc: ["partitioned (sdc1)"],
      sdc1: [],
      sdd: ["has a filesystem (ext4)"],
      sde: ["read-only"],
      sdf: ["too small (100.0 MiB; XFS needs 300.0 MiB)"],
      sdg: ["has a LVM2_member signature", "held by dm-0"],
      sdh: ["has a filesystem (xfs)", "mounted at /var/lib/my data"],
      vdb: ["has a partition table (gpt)"],
    });
    const sdb = (await scanBlockDevices(root)).find((device) => device.name === "sdb")!;
    expect(deviceRefusals(sdb, "pool1")).toEqual(["used by pool pool1"]);
  });

  it("kadalu-csi devices prints the scan as JSON, and refuses other arguments", () => {
    const report = JSON.parse(execFileSync(process.execPath, [CSI_BIN, "devices", "--root", root], { encoding: "utf8" }));
    expect(report.devices.map((device: BlockDevice) => device.name)).toContain("sdh");
    const bad = spawnSync(process.execPath, [CSI_BIN, "devices", "--root", "relative"], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('kadalu-csi: devices takes only --root DIR (an absolute path), not "--root"\n');
  });
});

/** Loop devices need root and a kernel that lends them; elsewhere this part cannot run and says so. */
const canLoop = process.getuid?.() === 0 && spawnSync("losetup", ["--version"]).status === 0 && spawnSync("mkfs.xfs", ["-V"]).status === 0;

describe.skipIf(!canLoop)("device scan of this machine's real loop devices", () => {
  let loops: DiscoveryLoops;
  beforeAll(() => {
    loops = makeDiscoveryLoops();
  });
  afterAll(() => loops?.remove());

  it("a raw loop device is usable; one with XFS, one mounted and one too small are refused with their reasons", async () => {
    const devices = await scanBlockDevices("/");
    const byPath = (path: string) => devices.find((device) => device.path === path);
    const { raw, xfs, mounted, small, mountPoint } = loops;
    expect(byPath(raw)).toMatchObject({ sizeBytes: 400 * MiB, backingFile: join(loops.dir, "raw.img"), busy: false });
    expect(deviceRefusals(byPath(raw)!)).toEqual([]);
    expect(deviceRefusals(byPath(xfs)!)).toEqual(["has a filesystem (xfs)"]);
    expect(byPath(mounted)).toMatchObject({ busy: true, mounts: [mountPoint] });
    expect(deviceRefusals(byPath(mounted)!)).toEqual(["has a filesystem (xfs)", `mounted at ${mountPoint}`]);
    expect(deviceRefusals(byPath(small)!)).toEqual(["too small (64.0 MiB; XFS needs 300.0 MiB)"]);
  });
});
