/**
 * `npm run package`: the linux-amd64 single binary is built here (its Node from the npm registry, pinned
 * by integrity) and run as users run it: help, a dry run, storage-list --status against the API test
 * server (stat.db read by the embedded Node's node:sqlite), kubectl's completion through the helper's
 * name; the manifest holds five platforms and the real sha256 of what was built.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runProgram as runBin } from "../../../harness/helpers/cli.js";
import { startCluster } from "../../../harness/helpers/cluster.js";
import { buildSingleBinary, cannotBuildSingleBinary } from "../../../harness/helpers/single-binary.js";
import { seedKadaluInfo, seedProvisioner, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const GiB = 1024 ** 3;
let dir: string;
let manifest: any;
let built: string | undefined;

const skip = cannotBuildSingleBinary();
if (skip) console.log(`single-binary tests skipped: ${skip}`);

beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "kadalu-package-"));
  manifest = parse(buildSingleBinary(dir));
  const entry = manifest.spec.platforms.find((p: any) => p.selector.matchLabels.os === "linux" && p.selector.matchLabels.arch === "amd64");
  const unpacked = join(dir, "unpacked");
  mkdirSync(unpacked);
  execFileSync("tar", ["-xzf", join(dir, entry.uri.split("/").pop()), "-C", unpacked]);
  built = join(unpacked, entry.files[0].from);
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)("single binaries for krew", () => {
  it("lists five platforms, each with its binary (.exe on Windows), LICENSE and a sha256", () => {
    expect(manifest).toMatchObject({ apiVersion: "krew.googlecontainertools.github.com/v1alpha2", kind: "Plugin", metadata: { name: "kadalu" } });
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(manifest.spec.version).toBe(`v${pkg.version}`);
    expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(50);
    expect(manifest.spec.caveats).not.toContain("Node.js 20 or newer");
    const platforms = manifest.spec.platforms.map((p: any) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`);
    expect(platforms).toEqual(["darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64"]);
    for (const platform of manifest.spec.platforms) {
      const windows = platform.selector.matchLabels.os === "windows";
      expect(platform.bin).toBe(windows ? "kubectl-kadalu.exe" : "kubectl-kadalu");
      expect(platform.uri).toMatch(/^https:\/\/github\.com\/.*\.tar\.gz$/);
      expect(platform.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(platform.files.map((file: any) => file.from.split("/").pop())).toEqual([platform.bin, "LICENSE"]);
    }
  });

  it("holds the real sha256 of the linux-amd64 archive it built", () => {
    const entry = manifest.spec.platforms.find((p: any) => p.selector.matchLabels.os === "linux" && p.selector.matchLabels.arch === "amd64");
    expect(entry.sha256).toBe(
      createHash("sha256")
        .update(readFileSync(join(dir, entry.uri.split("/").pop())))
        .digest("hex"),
    );
  });

  it("runs without a Node.js installed: help, a dry run, and completion under the helper's name", () => {
    const env = { PATH: "/usr/bin:/bin", HOME: dir };
    const help = spawnSync(built!, ["--help"], { env, encoding: "utf8", timeout: 60_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl kadalu/);
    expect(help.stderr).toBe("");
    const dryRun = spawnSync(
      built!,
      [
        "storage-add",
        "pool1",
        "--type",
        "Replica3",
        "--device",
        "kube1:/dev/sdb",
        "--device",
        "kube2:/dev/sdb",
        "--device",
        "kube3:/dev/sdb",
        "--dry-run",
        "-o",
        "json",
      ],
      { env, encoding: "utf8", timeout: 60_000 },
    );
    expect(dryRun.status, dryRun.stderr).toBe(0);
    expect(JSON.parse(dryRun.stdout).spec.storage).toHaveLength(3);
    const bad = spawnSync(built!, ["storage-remove", "Bad_Name"], { env, encoding: "utf8", timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: pool name "Bad_Name" must consist of/);
    const helper = join(dir, "kubectl_complete-kadalu");
    symlinkSync(built!, helper);
    const complete = spawnSync(helper, ["stor"], { env, encoding: "utf8", timeout: 60_000 });
    expect(complete.stdout.split("\n")[0]).toMatch(/^storage-add\t/);
  });

  it("reads every pool's stat.db with the embedded node:sqlite for storage-list --status", async () => {
    const cluster = await startCluster({ operator: true });
    try {
      const podRoot = join(cluster.dir, "provisioner");
      const info = (name: string) =>
        JSON.stringify({
          namespace: "kadalu",
          kadalu_version: "1.2.0",
          volname: name,
          volume_id: "00000000-0000-4000-8000-000000000001",
          single_pv_per_pool: false,
          type: "Replica1",
          pvReclaimPolicy: "delete",
          bricks: [
            {
              brick_path: `/bricks/${name}/data/brick`,
              kube_hostname: "kube1",
              node: `server-${name}-0-0.${name}`,
              node_id: "node-0",
              host_brick_path: "/data",
              brick_device: "",
              pvc_name: "",
              brick_device_dir: "",
              decommissioned: "",
              brick_index: 0,
            },
          ],
          disperse: { data: 0, redundancy: 0 },
          options: {},
        });
      writeUpstreamStatDb(podRoot, "pool1", 100 * GiB, [
        ["pvc-a", GiB],
        ["pvc-b", 2 * GiB],
      ]);
      writeUpstreamStatDb(podRoot, "pool2", 10 * GiB, []);
      seedKadaluInfo(cluster.server, { "pool1.info": info("pool1"), "pool2.info": info("pool2") });
      seedProvisioner(cluster.server, podRoot);
      // Not spawnSync: the API test server runs in this process and must answer meanwhile.
      const result = await runBin(built!, ["storage-list", "--status", "-o", "json", "--kubeconfig", cluster.kubeconfig], { PATH: "/usr/bin:/bin", HOME: dir });
      expect(result.code, result.stderr).toBe(0);
      const usage = Object.fromEntries(JSON.parse(result.stdout).pools.map((pool: any) => [pool.name, pool.usage]));
      expect(usage.pool1).toMatchObject({ capacityBytes: 100 * GiB, provisionedBytes: 3 * GiB, pvCount: 2, minPvBytes: GiB, maxPvBytes: 2 * GiB });
      expect(usage.pool2).toMatchObject({ capacityBytes: 10 * GiB, provisionedBytes: 0, pvCount: 0 });
    } finally {
      await cluster.stop();
    }
  });

  it("installs through krew from the manifest and the archive, where krew is here", () => {
    const krew = spawnSync("kubectl", ["krew", "version"], { encoding: "utf8" });
    if (krew.status !== 0) {
      console.log("krew install not tried: kubectl krew is not installed on this machine");
      return;
    }
    const entry = manifest.spec.platforms.find((p: any) => p.selector.matchLabels.os === "linux" && p.selector.matchLabels.arch === "amd64");
    const krewRoot = join(dir, "krew");
    const install = spawnSync(
      "kubectl",
      ["krew", "install", `--manifest=${join(dir, "krew-manifest.yaml")}`, `--archive=${join(dir, entry.uri.split("/").pop())}`],
      { env: { ...process.env, KREW_ROOT: krewRoot }, encoding: "utf8" },
    );
    expect(install.status, install.stderr).toBe(0);
    expect(spawnSync(join(krewRoot, "bin", "kubectl-kadalu"), ["--help"]).status).toBe(0);
  });
});
