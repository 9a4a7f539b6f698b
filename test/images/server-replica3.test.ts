/**
 * A Replica3 pool of three kadalu-server brick "pods": the image's entrypoint three times, each in
 * network, mount and PID namespaces of its own (each its own port 24007, as pods have), wired to a
 * bridge in a fourth namespace (the "node" network, never the host's) where the image's glusterfs
 * client mounts the pool with CSI's command lines. Asserts what a user sees: the PV's size in df,
 * EDQUOT past it, more room once the limit is raised, and a brick that was down while a file was
 * written gets that file healed by the self-heal daemons, every brick's copy identical.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { glusterMountArgs } from "../../csi/mounter.js";
import { setQuota } from "../../csi/xattr.js";
import { unpackImage, type UnpackedImage } from "../../images/oci.js";
import type { NativePoolInfo } from "../../src/core/info/codec.js";
import { Processes, waitUntil, type Started } from "../real/processes.js";
import { BrickNamespace } from "./brick-namespace.js";
import { IMAGES_DIR, noImage } from "./tier.js";

const run = promisify(execFile);
const MB = 1024 * 1024;
const VOLUME_ID = "3b6f0c52-5d1e-4d8a-9a53-2f0e8d1c7a44";
// Every brick pod sees its brick at the same path, as the operator's StatefulSets mount it.
const BRICK_PATH = "/bricks/pool3/data/brick";
const SUBNET = "10.199.37";
const address = (index: number): string => `${SUBNET}.${index + 2}`;
const version: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
const archive = join(IMAGES_DIR, "kadalu-server.oci.tar");

const noNetworking = process.getuid?.() !== 0
  || spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "sh", "-c", "ip link add name br0 type bridge && ip link add name va type veth peer name vb"]).status !== 0
  ? "needs root, unshare (network, mount and PID namespaces) and ip with bridge and veth links" : undefined;

function replica3(): NativePoolInfo {
  return {
    namespace: "kadalu", kadalu_version: version, volname: "pool3", volume_id: VOLUME_ID, single_pv_per_pool: false, type: "Replica3", pvReclaimPolicy: "delete",
    bricks: [0, 1, 2].map((index) => ({
      brick_path: BRICK_PATH, kube_hostname: `kube${index}`, node: address(index), node_id: `node-${index}`, host_brick_path: `/data/pool3-${index}`,
      brick_device: "", pvc_name: "", brick_device_dir: "", decommissioned: "", brick_index: index,
    })),
    disperse: { data: 0, redundancy: 0 }, options: {},
  };
}

/** The operator's StatefulSet environment for brick `index` (operator/objects.ts); SHD_REQUIRED as for every replicated pool. */
const brickEnv = (index: number): Record<string, string> => ({
  VOLUME: "pool3", VOLUME_TYPE: "Replica3", BRICK_PATH, NODEID: `node-${index}`, VOLUME_ID, BRICK_INDEX: String(index), BRICK_DEVICE: "",
  HOSTNAME: `kube${index}`, SUBVOL_ROOT: "subvol", SHD_REQUIRED: "1",
});

let scratch: string;
let processes: Processes;
let roots: UnpackedImage[];
let client: UnpackedImage;
let node: Started;
const bricks: (BrickNamespace | undefined)[] = [];

/** A command in the node namespace (network and mounts); its mounts are seen from the host under nodePath. */
const inNode = (command: string, args: string[]): Promise<{ stdout: string; stderr: string }> =>
  run("nsenter", [`--target=${node.child.pid}`, "--mount", "--net", "--", command, ...args], { timeout: 60_000 });
const nodePath = (inside: string): string => `/proc/${node.child.pid}/root${client.root}${inside}`;

/** Starts brick `index` from its own root filesystem and plugs its namespace into the node's bridge. */
async function startBrick(index: number): Promise<BrickNamespace> {
  const brick = await BrickNamespace.start(processes, `server-pool3-${index}`, roots[index]!, brickEnv(index));
  const link = `vb${index}`;
  await inNode("sh", ["-c", `ip link add name ${link} type veth peer name eth0 netns ${brick.pid} && ip link set ${link} master br0 up`]);
  await run("nsenter", [`--net=/proc/${brick.pid}/ns/net`, "--", "sh", "-c", `ip addr add ${address(index)}/24 dev eth0 && ip link set eth0 up`]);
  bricks[index] = brick;
  return brick;
}

beforeAll(async () => {
  if (noImage("kadalu-server") || noNetworking) return;
  scratch = mkdtempSync(join(tmpdir(), "kadalu-server-replica3-"));
  processes = new Processes(scratch);
  roots = [0, 1, 2].map((index) => unpackImage(archive, join(scratch, `brick${index}`)));
  client = unpackImage(archive, join(scratch, "client"));
  for (const root of roots) {
    mkdirSync(join(root.root, "var/lib/gluster"), { recursive: true });
    writeFileSync(join(root.root, "var/lib/gluster/pool3.info"), JSON.stringify(replica3()));
  }
  // The node: a network namespace with the bridge the brick pods hang on, and a mount namespace for the client's mounts.
  node = processes.start("node", "unshare", ["--mount", "--net", "--propagation", "private", "--", "sleep", "3600"]);
  await waitUntil("the node namespace", () => readFileSync(`/proc/${node.child.pid}/cmdline`, "utf8").startsWith("sleep") || undefined, 10_000, 20);
  await inNode("sh", ["-c", [
    "ip link set lo up", "ip link add name br0 type bridge", `ip addr add ${SUBNET}.1/24 dev br0`, "ip link set br0 up",
    `mount --rbind /dev ${client.root}/dev`, `mount -t proc proc ${client.root}/proc`,
  ].join(" && ")]);
  for (const index of [0, 1, 2]) await startBrick(index);
}, 180_000);

afterAll(async () => {
  if (!processes) return;
  // The FUSE clients live in the node's mount namespace: unmounting ends them, then the namespace goes.
  try {
    for (const mountpoint of ["/mnt/pod-volume", "/mnt/pool3", "/mnt/provisioner"]) await inNode("umount", ["-l", `${client.root}${mountpoint}`]).catch(() => undefined);
    await processes.stop(node);
    for (const brick of bricks) await brick?.stop(processes);
  } finally {
    await processes.stopAll();
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe.skipIf(noImage("kadalu-server") || noNetworking)("the kadalu-server image serving a Replica3 pool from three brick pods", () => {
  const mountPool = async (role: "provisioner" | "nodeplugin", inside: string): Promise<void> => {
    mkdirSync(join(client.root, inside), { recursive: true });
    await inNode("chroot", [client.root, "glusterfs", ...glusterMountArgs(replica3(), inside, role)]);
    await waitUntil(`the ${role} mount at ${inside}`, async () => (await inNode("grep", [" fuse.glusterfs ", "/proc/self/mounts"])).stdout.includes(`${client.root}${inside} `) || undefined, 30_000, 200);
  };
  const df = async (inside: string): Promise<number> =>
    Number((await inNode("df", ["-B1", "--output=size", `${client.root}${inside}`])).stdout.trim().split("\n")[1]);
  const write = async (inside: string, mib: number): Promise<string> => {
    try {
      await inNode("dd", ["if=/dev/urandom", `of=${client.root}${inside}`, "bs=1M", `count=${mib}`, "conv=fsync"]);
      return "";
    } catch (error) {
      return String((error as { stderr?: string }).stderr ?? error);
    }
  };
  const brickCopy = (index: number, file: string): Buffer | undefined => {
    try {
      return readFileSync(join(roots[index]!.root, BRICK_PATH, file));
    } catch {
      return undefined;
    }
  };

  it("mounts through any brick, df shows the PV's limit, writes past it fail with EDQUOT", async () => {
    await mountPool("provisioner", "/mnt/provisioner");
    await mountPool("nodeplugin", "/mnt/pool3");
    mkdirSync(nodePath("/mnt/provisioner/subvol/pvc-1"), { recursive: true });
    const logged: string[] = [];
    expect(await setQuota(nodePath("/mnt/provisioner/subvol/pvc-1"), 10 * MB, (line) => logged.push(line)), logged.join("\n")).toBe(true);
    mkdirSync(join(client.root, "mnt/pod-volume"), { recursive: true });
    await inNode("mount", ["--bind", `${client.root}/mnt/pool3/subvol/pvc-1`, `${client.root}/mnt/pod-volume`]);

    expect(Math.abs(await df("/mnt/pod-volume") - 10 * MB)).toBeLessThanOrEqual(MB);
    expect(await write("/mnt/pod-volume/big", 30)).toMatch(/Disk quota exceeded/);
    // Every brick enforces the limit on its own copy.
    for (const index of [0, 1, 2]) expect(brickCopy(index, "subvol/pvc-1/big")?.length ?? 0).toBeLessThanOrEqual(11 * MB);
    // The self-heal daemon runs beside every brick of a replicated pool.
    for (const brick of bricks) expect(brick!.children("glusterfs"), readFileSync(brick!.process.log, "utf8").slice(-1500)).toHaveLength(1);
  });

  it("raises the limit on expansion; heals a file written while a brick pod was down: every brick's copy identical", async () => {
    const logged: string[] = [];
    expect(await setQuota(nodePath("/mnt/provisioner/subvol/pvc-1"), 20 * MB, (line) => logged.push(line)), logged.join("\n")).toBe(true);
    expect(Math.abs(await df("/mnt/pod-volume") - 20 * MB)).toBeLessThanOrEqual(MB);
    expect(await bricks[2]!.stop(processes)).toBe(0);
    expect(await write("/mnt/pod-volume/while-down", 2)).toBe("");
    const written = readFileSync(nodePath("/mnt/pod-volume/while-down"));
    expect(brickCopy(2, "subvol/pvc-1/while-down")).toBeUndefined();
    await startBrick(2);
    await waitUntil("the self-heal daemons to copy the file to the brick that was down", () => brickCopy(2, "subvol/pvc-1/while-down")?.equals(written) || undefined, 120_000, 1000);
    for (const index of [0, 1]) expect(brickCopy(index, "subvol/pvc-1/while-down")?.equals(written)).toBe(true);
  });
});
