/**
 * The kadalu-server image on its own GlusterFS 11.1: its entrypoint serves a Replica1 pool as a brick pod
 * would (kadalu-info and the StatefulSet's environment), in namespaces of its own; the image's glusterfs
 * client mounts the pool as our CSI does (csi/os/mounter.ts's command lines), the provisioner's code sets a
 * PV's limit (csi/os/xattr.ts), and a user of the PV sees the size: df, EDQUOT, and more room once raised.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { glusterMountArgs } from "../../csi/os/mounter.js";
import { setQuota } from "../../csi/os/xattr.js";
import { buildImage, sourceDateEpoch } from "../../images/build.js";
import { unpackImage, type UnpackedImage } from "../../images/oci.js";
import { RECIPES } from "../../images/recipes.js";
import { decodeInfo, type NativePoolInfo } from "../../src/core/info/codec.js";
import { Processes, waitUntil } from "../../harness/real/processes.js";
import { BrickNamespace, brickCommand } from "../../harness/images/brick-namespace.js";
import { IMAGES_DIR, noImage } from "../../harness/images/tier.js";

const MB = 1024 * 1024;
const VOLUME_ID = "8e0d9877-d295-48f9-9ee7-83cf593d27ff";
const BRICK_PATH = "/bricks/pool1/data/brick";
const version: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
const archive = join(IMAGES_DIR, "kadalu-server.oci.tar");
const noServerImage = noImage("kadalu-server");

/** This host's GlusterFS client version (10.3 on Debian bookworm), or undefined when it has none. */
const hostClientVersion = spawnSync("glusterfs", ["--version"], { encoding: "utf8" }).stdout?.match(/^glusterfs (\S+)/)?.[1];

const noNamespaces =
  process.getuid?.() !== 0 || spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "true"]).status !== 0 || spawnSync("ip", ["-V"]).status !== 0
    ? "needs root, unshare with network, mount and PID namespaces, and ip (iproute2)"
    : undefined;

/** kadalu-info's entry for a one-brick pool whose brick answers on the namespace's loopback. */
function replica1(options: Record<string, string> = {}): NativePoolInfo {
  return {
    namespace: "kadalu",
    kadalu_version: version,
    volname: "pool1",
    volume_id: VOLUME_ID,
    single_pv_per_pool: false,
    type: "Replica1",
    pvReclaimPolicy: "delete",
    bricks: [
      {
        brick_path: BRICK_PATH,
        kube_hostname: "kube1",
        node: "127.0.0.1",
        node_id: "node-0",
        host_brick_path: "/data/pool1",
        brick_device: "",
        pvc_name: "",
        brick_device_dir: "",
        decommissioned: "",
        brick_index: 0,
      },
    ],
    disperse: { data: 0, redundancy: 0 },
    options,
  };
}

/** The operator's StatefulSet environment for brick 0 (operator/objects.ts). */
const BRICK_ENV = {
  VOLUME: "pool1",
  VOLUME_TYPE: "Replica1",
  BRICK_PATH,
  NODEID: "node-0",
  VOLUME_ID,
  BRICK_INDEX: "0",
  BRICK_DEVICE: "",
  HOSTNAME: "kube1",
  SUBVOL_ROOT: "subvol",
  KADALU_WATCH_MS: "500",
};

let scratch: string;
let processes: Processes;
let image: UnpackedImage;
beforeAll(() => {
  if (noServerImage || noNamespaces) return;
  scratch = mkdtempSync(join(tmpdir(), "kadalu-server-image-"));
  processes = new Processes(scratch);
  image = unpackImage(archive, join(scratch, "root"));
});
afterAll(async () => {
  await processes?.stopAll();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(noServerImage)("the kadalu-server image", () => {
  it("holds GlusterFS 11.1 with simple-quota, the glusterfs link, /run/gluster, within 250 MB", () => {
    const root = noNamespaces ? unpackImage(archive, mkdtempSync(join(tmpdir(), "kadalu-server-root-"))).root : image.root;
    const xlators = join(root, "usr/lib/x86_64-linux-gnu/glusterfs");
    const [glusterVersion] = readdirSync(xlators);
    expect(glusterVersion).toMatch(/^11\./);
    expect(statSync(join(xlators, glusterVersion!, "xlator/features/simple-quota.so")).isFile()).toBe(true);
    expect(readdirSync(join(root, "usr/sbin"))).toEqual(expect.arrayContaining(["glusterfsd", "glusterfs", "mkfs.xfs"]));
    expect(readdirSync(join(root, "usr/bin"))).toEqual(expect.arrayContaining(["setfattr", "getfattr", "mount"]));
    expect(statSync(join(root, "run/gluster")).isDirectory()).toBe(true);
    expect(readdirSync(join(root, "usr/bin")).filter((name) => name.startsWith("python"))).toEqual([]);
    const bytes = Number(execFileSync("du", ["-sb", root], { encoding: "utf8" }).split("\t")[0]);
    console.log(`kadalu-server:${version}: ${(bytes / MB).toFixed(1)} MB unpacked, ${(statSync(archive).size / MB).toFixed(1)} MB archive`);
    expect(bytes).toBeLessThanOrEqual(250 * MB);
    const sbom = JSON.parse(readFileSync(join(IMAGES_DIR, "kadalu-server.spdx.json"), "utf8"));
    const purls: string[] = sbom.packages.map((pkg: any) => pkg.externalRefs[0].referenceLocator);
    expect(purls.find((purl) => purl.startsWith("pkg:deb/debian/glusterfs-common@11.1"))).toBeDefined();
    if (noNamespaces) rmSync(root, { recursive: true, force: true });
  });

  it("builds the same server image digest again from the same commit", () => {
    const again = mkdtempSync(join(tmpdir(), "kadalu-server-again-"));
    try {
      const first = JSON.parse(execFileSync("tar", ["-xOf", archive, "./index.json"], { encoding: "utf8" })).manifests[0].digest;
      const report = buildImage(
        RECIPES.find((recipe) => recipe.name === "kadalu-server")!,
        again,
        sourceDateEpoch(),
        version,
      );
      expect(report.image.digest).toBe(first);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }, 600_000); // a second full build: minutes on a loaded 2-core machine

  describe.skipIf(noNamespaces)("its entrypoint serving a Replica1 pool", () => {
    let brick: BrickNamespace;
    const writeInfo = (pool: NativePoolInfo): void => {
      mkdirSync(join(image.root, "var/lib/gluster"), { recursive: true });
      writeFileSync(join(image.root, "var/lib/gluster/pool1.info"), JSON.stringify(pool));
    };
    /** Mounts the pool with the image's glusterfs and CSI's command line for `role`, at `inside`. */
    const mountPool = async (role: "provisioner" | "nodeplugin", inside: string): Promise<void> => {
      mkdirSync(join(image.root, inside), { recursive: true });
      const args = glusterMountArgs(decodeInfo("pool1", JSON.stringify(replica1())).info!, inside, role);
      await brick.inImage("glusterfs", args);
      await waitUntil(
        `the ${role} mount at ${inside}`,
        async () => (await brick.host("grep", [" fuse.glusterfs ", "/proc/self/mounts"])).stdout.includes(`${image.root}${inside} `) || undefined,
        20_000,
      );
    };
    const df = async (inside: string): Promise<{ size: number; used: number }> => {
      const line = (await brick.host("df", ["-B1", "--output=size,used", join(image.root, inside)])).stdout.trim().split("\n")[1]!.trim().split(/\s+/);
      return { size: Number(line[0]), used: Number(line[1]) };
    };
    /** dd of `mib` MiB into a new file of the PV, as the app's user would: the error, or "" when it all went. */
    const write = async (inside: string, mib: number): Promise<string> => {
      try {
        await brick.host("dd", ["if=/dev/zero", `of=${join(image.root, inside)}`, "bs=1M", `count=${mib}`, "conv=fsync"]);
        return "";
      } catch (error) {
        return String((error as { stderr?: string }).stderr ?? error);
      }
    };

    it("reports ready on its brick port; a PV's limit set by the provisioner's code is what df shows and what writes meet", async () => {
      writeInfo(replica1());
      mkdirSync(join(image.root, "var/log/gluster"), { recursive: true });
      brick = await BrickNamespace.start(processes, "server-pool1", image, BRICK_ENV);
      // The brick serves the client volfile itself: the provisioner's and the node plugin's mounts need no glusterd.
      await mountPool("provisioner", "/mnt/provisioner");
      await mountPool("nodeplugin", "/mnt/pool1");
      mkdirSync(brick.path("/mnt/provisioner/subvol/pvc-1"), { recursive: true });
      const logged: string[] = [];
      expect(await setQuota(brick.path("/mnt/provisioner/subvol/pvc-1"), 10 * MB, (line) => logged.push(line)), logged.join("\n")).toBe(true);
      // The node plugin binds the PV's directory at the pod's volume path.
      mkdirSync(join(image.root, "mnt/pod-volume"), { recursive: true });
      await brick.host("mount", ["--bind", join(image.root, "mnt/pool1/subvol/pvc-1"), join(image.root, "mnt/pod-volume")]);

      const before = await df("/mnt/pod-volume");
      expect(Math.abs(before.size - 10 * MB)).toBeLessThanOrEqual(MB);
      expect(await write("/mnt/pod-volume/first", 30)).toMatch(/Disk quota exceeded/);
      const full = await df("/mnt/pod-volume");
      expect(full.used).toBeGreaterThan(9 * MB);
      expect(full.used).toBeLessThanOrEqual(full.size);

      // Expansion: the provisioner sets the larger limit; the app can write on at once.
      expect(await setQuota(brick.path("/mnt/provisioner/subvol/pvc-1"), 20 * MB, (line) => logged.push(line)), logged.join("\n")).toBe(true);
      expect(Math.abs((await df("/mnt/pod-volume")).size - 20 * MB)).toBeLessThanOrEqual(MB);
      expect(await write("/mnt/pod-volume/second", 5)).toBe("");
      expect(await write("/mnt/pod-volume/third", 30)).toMatch(/Disk quota exceeded/);
      // Another PV beside it has its own limit.
      mkdirSync(brick.path("/mnt/provisioner/subvol/pvc-2"), { recursive: true });
      expect(await setQuota(brick.path("/mnt/provisioner/subvol/pvc-2"), 5 * MB, (line) => logged.push(line))).toBe(true);
      expect(Math.abs((await df("/mnt/pool1/subvol/pvc-2")).size - 5 * MB)).toBeLessThanOrEqual(MB);
      // Logged to stdout (what kubectl logs shows): the runtime's own lines and glusterfsd's.
      const log = readFileSync(brick.process.log, "utf8");
      expect(log).toContain(`kadalu-server: pool pool1 brick 0 kube1:${BRICK_PATH} on port 24007`);
      expect(log).toMatch(/^glusterfsd: .*features\/simple-quota/m);
    });

    it("starts glusterfsd again when it dies; the PV keeps its limit", async () => {
      const [glusterfsd] = brick.children("glusterfsd");
      expect(glusterfsd, readFileSync(brick.process.log, "utf8").slice(-2000)).toBeDefined();
      process.kill(glusterfsd!, "SIGKILL");
      await waitUntil(
        "the runtime to notice",
        () => readFileSync(brick.process.log, "utf8").includes("glusterfsd exited (SIGKILL); starting it again in 1.0 s") || undefined,
        10_000,
      );
      await waitUntil(
        "a new glusterfsd to answer on the brick port",
        async () => (brick.children("glusterfsd").some((pid) => pid !== glusterfsd) && (await brick.portAnswers())) || undefined,
        20_000,
        200,
      );
      // The clients reconnect by themselves (protocol/client retries every few seconds).
      await waitUntil("the PV to be reachable again", async () => Math.abs((await df("/mnt/pod-volume")).size - 20 * MB) <= MB || undefined, 30_000, 500);
      expect(await write("/mnt/pod-volume/fourth", 30)).toMatch(/Disk quota exceeded/);
    });

    it("serves /metrics on upstream's server exporter port: the brick up, its restart, its filesystem, each PV's quota", async () => {
      // A PV where the CSI driver makes them, 3 MiB written into its 8 MiB; df (a statfs) makes the brick write its usage down.
      const pv = "/mnt/provisioner/subvol/ab/cd/pvc-metrics";
      mkdirSync(brick.path(pv), { recursive: true });
      expect(await setQuota(brick.path(pv), 8 * MB, () => undefined)).toBe(true);
      expect(await write("/mnt/pool1/subvol/ab/cd/pvc-metrics/data", 3)).toBe("");
      await df("/mnt/pool1/subvol/ab/cd/pvc-metrics");
      const scrape = promisify(execFile)(
        "nsenter",
        [
          `--net=/proc/${brick.pid}/ns/net`,
          "--",
          process.execPath,
          "-e",
          "fetch('http://127.0.0.1:8050/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.message); process.exit(1); })",
        ],
        { timeout: 20_000 },
      );
      const text = (await scrape).stdout;
      const value = (name: string, extra = ""): number => {
        const line = text.split("\n").find((entry) => entry.startsWith(`${name}{pool="pool1",namespace="kadalu",brick="kube1:${BRICK_PATH}"${extra}} `));
        expect(line, `${name}${extra} in\n${text}`).toBeDefined();
        return Number(line!.split(" ").pop());
      };
      expect(value("kadalu_brick_up")).toBe(1);
      // The previous test killed glusterfsd once.
      expect(value("kadalu_brick_restarts_total")).toBe(1);
      expect(text).not.toContain("kadalu_self_heal_daemon_up{");
      const [size, used] = (await brick.host("df", ["-B1", "--output=size,used", join(image.root, BRICK_PATH)])).stdout
        .trim()
        .split("\n")[1]!
        .trim()
        .split(/\s+/)
        .map(Number);
      expect(value("kadalu_brick_capacity_bytes")).toBe(size);
      expect(Math.abs(value("kadalu_brick_used_bytes") - used!)).toBeLessThan(256 * MB);
      expect(value("kadalu_brick_inodes")).toBeGreaterThan(value("kadalu_brick_inodes_used"));
      expect(value("kadalu_pv_quota_limit_bytes", ',pv="pvc-metrics"')).toBe(8 * MB);
      const usage = value("kadalu_pv_quota_used_bytes", ',pv="pvc-metrics"');
      expect(usage).toBeGreaterThanOrEqual(3 * MB);
      expect(usage).toBeLessThan(4 * MB);
      expect(text).toMatch(/^kadalu_memory_usage_in_bytes\{name="[^"]+"\} [1-9]/m);
      expect(readFileSync(brick.process.log, "utf8")).toContain("kadalu-server: metrics on port 8050 at /metrics");
    });

    it("serves a new option in the client volfile once kadalu-info changes", async () => {
      expect(readdirSync(brick.path("/mnt/pool1/.meta/graphs/active"))).not.toContain("pool1-quick-read");
      writeInfo(replica1({ "performance.quick-read": "on" }));
      await waitUntil(
        "the runtime to write the volfiles again",
        () => readFileSync(brick.process.log, "utf8").includes("kadalu-info changed; volfiles written again: pool1.vol") || undefined,
        10_000,
      );
      await mountPool("nodeplugin", "/mnt/again");
      expect(readdirSync(brick.path("/mnt/again/.meta/graphs/active"))).toContain("pool1-quick-read");
    });

    it.skipIf(hostClientVersion === undefined)(
      "a GlusterFS 10 client (this host's, as on Debian bookworm nodes) mounts the pool and meets the PV's limit",
      async () => {
        expect(hostClientVersion).toMatch(/^10\./);
        mkdirSync(brick.path("/mnt/provisioner/subvol/pvc-old"), { recursive: true });
        const logged: string[] = [];
        expect(await setQuota(brick.path("/mnt/provisioner/subvol/pvc-old"), 10 * MB, (line) => logged.push(line)), logged.join("\n")).toBe(true);
        // CSI's node plugin command line, run by the host's client in the brick's namespaces, its log in the test's directory.
        const args = glusterMountArgs(decodeInfo("pool1", JSON.stringify(replica1())).info!, join(image.root, "mnt/old-client"), "nodeplugin");
        args[args.indexOf("-l") + 1] = join(scratch, "old-client.log");
        mkdirSync(join(image.root, "mnt/old-client"), { recursive: true });
        await brick.host("glusterfs", args);
        await waitUntil(
          "the 10.x client's mount",
          async () => (await brick.host("grep", [" fuse.glusterfs ", "/proc/self/mounts"])).stdout.includes(`${image.root}/mnt/old-client `) || undefined,
          20_000,
        );
        expect(Math.abs((await df("/mnt/old-client/subvol/pvc-old")).size - 10 * MB)).toBeLessThanOrEqual(MB);
        expect(await write("/mnt/old-client/subvol/pvc-old/small", 2)).toBe("");
        expect(await write("/mnt/old-client/subvol/pvc-old/big", 30)).toMatch(/Disk quota exceeded/);
        const full = await df("/mnt/old-client/subvol/pvc-old");
        expect(full.used).toBeGreaterThan(9 * MB);
        expect(full.used).toBeLessThanOrEqual(full.size);
        // The 11.1 client sees the same file the 10.x client wrote.
        expect(statSync(brick.path("/mnt/pool1/subvol/pvc-old/small")).size).toBe(2 * MB);
        await brick.host("umount", [join(image.root, "mnt/old-client")]);
      },
    );

    it("stops glusterfsd and its mounts on SIGTERM; refuses a brick that belongs to another pool", async () => {
      expect(await brick.stop(processes)).toBe(0);
      const other = "e79048bf-ac4d-47cf-8d1f-0a07366ff1ea";
      writeInfo({ ...replica1(), volume_id: other });
      const refused = processes.start("server-other", "unshare", brickCommand(image), { ...image.config.env, ...BRICK_ENV, VOLUME_ID: other });
      expect(await refused.exited).toBe(1);
      expect(readFileSync(refused.log, "utf8")).toContain(
        `kadalu-server: error: brick ${BRICK_PATH} belongs to another pool (volume id ${VOLUME_ID}), not pool pool1 (volume id ${other})`,
      );
    });
  });
});
