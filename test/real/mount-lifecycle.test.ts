/**
 * The driver's mounts on real GlusterFS: every multi-PV pool mounted at start (before any CSI call), a
 * published volume whose glusterfs client is killed detected (ENOTCONN: an abnormal volume condition),
 * then unmounted and mounted again by the next call, and the publish repaired.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CallError } from "../../harness/helpers/csi-client.js";
import { waitUntil } from "../../harness/real/processes.js";
import { glusterCsiSuite } from "../../harness/real/gluster-csi-suite.js";
import { noGluster } from "../../harness/real/tier.js";

const MOUNT = { mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } };

/** PIDs of glusterfs client processes serving `mountpoint`. */
function clientPids(mountpoint: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv.some((arg) => arg.endsWith("glusterfs")) && argv.includes("--volfile-id") && argv.at(-2) === mountpoint ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

describe.skipIf(noGluster)("mount lifecycle on real GlusterFS", () => {
  const suite = glusterCsiSuite("mounts", { kubeletDir: "/mnt/kubelet" });
  const { client } = suite;
  const mounts = async (): Promise<string> => (await suite.pool.csi.exec(["cat", "/proc/self/mounts"])).stdout;

  it("mounts every multi-PV pool at start, before any CSI call", async () => {
    await waitUntil(
      "pool1 to be mounted at /mnt/pool1",
      async () => /^kadalu:pool1 \/mnt\/pool1 fuse\.glusterfs /m.test(await mounts()) || undefined,
      30_000,
      200,
    );
  });

  it("a pool not in kadalu-info yet is UNAVAILABLE (retryable), not INVALID_ARGUMENT", async () => {
    const error = await client
      .controller("CreateVolume", {
        name: "pvc-new",
        capacity_range: { required_bytes: 1024 },
        volume_capabilities: [MOUNT],
        parameters: { storage_name: "pool9" },
      })
      .catch((e: CallError) => e);
    expect(error).toBeInstanceOf(CallError);
    expect((error as CallError).code).toBe(14);
  });

  it("detects a killed glusterfs client, remounts on the next call, and repairs the publish", async () => {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-1",
      capacity_range: { required_bytes: 1 << 20 },
      volume_capabilities: [MOUNT],
      parameters: { storage_name: "pool1" },
    });
    const target = "/mnt/kubelet/pods/uid-1/volumes/kubernetes.io~csi/pvc-1/mount";
    await client.node("NodePublishVolume", { volume_id: "pvc-1", target_path: target, volume_capability: MOUNT, volume_context: volume.volume_context });
    await suite.pool.csi.exec(["sh", "-c", `echo hello > ${target}/file`]);
    const healthy = await client.node("NodeGetVolumeStats", { volume_id: "pvc-1", volume_path: target });
    expect(healthy.volume_condition).toEqual({ abnormal: false, message: "" });

    const [pid] = clientPids("/mnt/pool1");
    expect(pid, "the glusterfs client of /mnt/pool1").toBeDefined();
    process.kill(pid!, "SIGKILL");
    await waitUntil("the client to be gone", () => clientPids("/mnt/pool1").length === 0 || undefined, 10_000);
    // The mount is still listed, and dead.
    expect(await mounts()).toMatch(/ \/mnt\/pool1 fuse\.glusterfs /);
    const dead = await client.node("NodeGetVolumeStats", { volume_id: "pvc-1", volume_path: target });
    expect(dead.volume_condition.abnormal).toBe(true);
    expect(dead.volume_condition.message).toMatch(/ENOTCONN/);

    // The next controller call finds the dead mount, unmounts it, mounts again and drops the stale stat.db handle.
    const { volume: second } = await client.controller("CreateVolume", {
      name: "pvc-2",
      capacity_range: { required_bytes: 1 << 20 },
      volume_capabilities: [MOUNT],
      parameters: { storage_name: "pool1" },
    });
    expect(second.volume_context.hostvol).toBe("pool1");
    expect(clientPids("/mnt/pool1")).toHaveLength(1);
    // (The Gluster clients' own lines are in the same log now: look further back than the last hundred.)
    expect(suite.pool.csi.process.tail(5000)).toContain("pool pool1: the mount at /mnt/pool1 stopped answering; mounting it again");
    // Publishing again replaces the dead bind; the data written before is there.
    await client.node("NodePublishVolume", { volume_id: "pvc-1", target_path: target, volume_capability: MOUNT, volume_context: volume.volume_context });
    expect((await suite.pool.csi.exec(["cat", `${target}/file`])).stdout).toBe("hello\n");
    const repaired = await client.node("NodeGetVolumeStats", { volume_id: "pvc-1", volume_path: target });
    expect(repaired.volume_condition.abnormal).toBe(false);
    await client.node("NodeUnpublishVolume", { volume_id: "pvc-1", target_path: target });
    for (const name of ["pvc-1", "pvc-2"]) await client.controller("DeleteVolume", { volume_id: name });
  });
});
