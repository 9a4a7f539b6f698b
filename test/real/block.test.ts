/**
 * Block PVs on real GlusterFS and real loop devices: the driver (in its mount namespace, as in a pod)
 * creates upstream's rawblock and virtblock files on a Replica3 volume, attaches and mounts them through
 * loop devices, grows them, and removes every trace; the bricks hold the files, replicated.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pvPath } from "../../src/core/pv-layout.js";
import { glusterCsiSuite } from "../../harness/real/gluster-csi-suite.js";
import { noGluster } from "../../harness/real/tier.js";

const MiB = 1024 ** 2;
const BLOCK = { block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };
const ONE_NODE_MOUNT = { mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };
const KUBELET = "/mnt/kubelet";
const loopsOf = (file: string): string =>
  execFileSync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(file))
    .join("\n");

describe.skipIf(noGluster)("block PVs on real GlusterFS", () => {
  const suite = glusterCsiSuite("block", { kubeletDir: KUBELET });
  const { client } = suite;
  // Inside the driver's namespace: constant scripts, paths as arguments.
  const inside = async (script: string, ...args: string[]): Promise<string> => (await suite.pool.csi.exec(["sh", "-c", script, "sh", ...args])).stdout;

  it("rawblock: written through the loop device into the replicated file, grown on the node, detached and deleted", async () => {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-raw",
      capacity_range: { required_bytes: 64 * MiB },
      volume_capabilities: [BLOCK],
      parameters: { storage_name: "pool1" },
    });
    const path = pvPath("rawblock", "pvc-raw");
    for (const brick of suite.pool.bricks) expect(statSync(join(brick, path)).size, brick).toBe(64 * MiB);
    const target = `${KUBELET}/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-raw/pod-uid`;
    await client.node("NodePublishVolume", { volume_id: "pvc-raw", target_path: target, volume_capability: BLOCK, volume_context: volume.volume_context });
    expect(await inside('stat -c %F "$1"', target)).toBe("block special file\n");
    await inside('printf "kadalu raw block" | dd of="$1" bs=512 seek=8 conv=notrunc,fsync status=none', target);
    expect(await inside('dd if="$1" bs=512 skip=8 count=1 status=none | head -c 16', `/mnt/pool1/${path}`)).toBe("kadalu raw block");
    // A second pod on the node shares the loop device: holding it open, having read the block before, it
    // reads what the first pod wrote (a loop device of its own would answer from its own page cache).
    const second = `${KUBELET}/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-raw/pod-uid-2`;
    await client.node("NodePublishVolume", { volume_id: "pvc-raw", target_path: second, volume_capability: BLOCK, volume_context: volume.volume_context });
    expect(await inside('stat -c %t:%T "$1"', second)).toBe(await inside('stat -c %t:%T "$1"', target));
    expect(
      await inside(
        'exec 3<"$2"; dd if="$2" bs=512 skip=16 count=1 status=none >/dev/null; printf shared | dd of="$1" bs=512 seek=16 conv=notrunc,fsync status=none; dd if="$2" bs=512 skip=16 count=1 status=none | head -c 6',
        target,
        second,
      ),
    ).toBe("shared");
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-raw", target_path: second });
    expect(loopsOf(path).split("\n")).toHaveLength(1);
    expect(await inside('dd if="$1" bs=512 skip=16 count=1 status=none | head -c 6', target)).toBe("shared");
    await client.controller("ControllerExpandVolume", { volume_id: "pvc-raw", capacity_range: { required_bytes: 96 * MiB } });
    await client.node("NodeExpandVolume", { volume_id: "pvc-raw", volume_path: target, capacity_range: { required_bytes: 96 * MiB } });
    expect(await inside('blockdev --getsize64 "$1"', target)).toBe(`${96 * MiB}\n`);
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-raw", target_path: target });
    expect(loopsOf(path)).toBe("");
    await client.controller("DeleteVolume", { volume_id: "pvc-raw" });
    for (const brick of suite.pool.bricks) expect(existsSync(join(brick, path)), brick).toBe(false);
  });

  it("virtblock: XFS in the replicated file, loop-mounted; data survives republishing; grown on the node", async () => {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-virt",
      capacity_range: { required_bytes: 320 * MiB },
      volume_capabilities: [ONE_NODE_MOUNT],
      parameters: { storage_name: "pool1", pv_type: "block" },
    });
    const path = pvPath("virtblock", "pvc-virt");
    const target = `${KUBELET}/pods/uid/volumes/kubernetes.io~csi/pvc-virt/mount`;
    const publish = () =>
      client.node("NodePublishVolume", {
        volume_id: "pvc-virt",
        target_path: target,
        volume_capability: ONE_NODE_MOUNT,
        volume_context: volume.volume_context,
      });
    await publish();
    expect(await inside('findmnt -n -o FSTYPE "$1"', target)).toBe("xfs\n");
    await inside('echo kept > "$1/data" && sync', target);
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: target });
    expect(loopsOf(path)).toBe("");
    await publish();
    expect(await inside('cat "$1/data"', target)).toBe("kept\n");
    const size = async (): Promise<number> => Number((await inside('df -B1 --output=size "$1" | tail -1', target)).trim());
    const before = await size();
    await client.controller("ControllerExpandVolume", { volume_id: "pvc-virt", capacity_range: { required_bytes: 512 * MiB } });
    await client.node("NodeExpandVolume", { volume_id: "pvc-virt", volume_path: target, capacity_range: { required_bytes: 512 * MiB } });
    expect((await size()) - before).toBeGreaterThan(150 * MiB);
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: target });
    await client.controller("DeleteVolume", { volume_id: "pvc-virt" });
    for (const brick of suite.pool.bricks) expect(existsSync(join(brick, path)), brick).toBe(false);
  });
});
