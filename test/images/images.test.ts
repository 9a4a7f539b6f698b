/**
 * The image tier: the OCI archives `npm run images` wrote, unpacked from their own layers and run as a
 * runtime would run them (test/images/container.ts): the operator image against the real apiserver,
 * the CSI image on a real GlusterFS pool under csi-sanity; and the build is reproducible.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { buildImage, sourceDateEpoch } from "../../images/build.js";
import { unpackImage, type UnpackedImage } from "../../images/oci.js";
import { RECIPES } from "../../images/recipes.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { startGlusterCsi, type GlusterCsi } from "../../harness/real/gluster-csi.js";
import { kadalu, startOperator } from "../../harness/real/kadalu.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { Processes, waitUntil } from "../../harness/real/processes.js";
import { reasonNotApplicable, runSanity, sanityKubeletDir } from "../../harness/real/sanity.js";
import { glusterfs, kubernetes, noGluster, noKubernetes } from "../../harness/real/tier.js";
import { csiClient } from "../../harness/helpers/csi-client.js";
import { startInImage } from "../../harness/images/container.js";
import { IMAGES_DIR, noImages } from "../../harness/images/tier.js";

const MB = 1024 * 1024;
const version: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
const archive = (name: string): string => join(IMAGES_DIR, `${name}.oci.tar`);

let scratch: string;
let processes: Processes;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "kadalu-images-"));
  chmodSync(scratch, 0o755);
  processes = new Processes(scratch);
});
afterAll(async () => {
  await processes?.stopAll();
  rmSync(scratch, { recursive: true, force: true });
});

function unpack(name: string): UnpackedImage {
  return unpackImage(archive(name), join(scratch, `${name}-root`));
}

describe.skipIf(noImages)("images", () => {
  it("lists every Debian package of the image and every npm package it carries in its SPDX SBOM; sizes", () => {
    for (const recipe of RECIPES) {
      const image = unpack(recipe.name);
      const installed = readFileSync(join(image.root, "var/lib/dpkg/status"), "utf8")
        .match(/^Package: .*$/gm)!
        .map((line) => line.slice("Package: ".length))
        .sort();
      const sbom = JSON.parse(readFileSync(join(IMAGES_DIR, `${recipe.name}.spdx.json`), "utf8"));
      expect(sbom.spdxVersion).toBe("SPDX-2.3");
      const purls: string[] = sbom.packages.map((pkg: any) => pkg.externalRefs[0].referenceLocator);
      expect(
        purls
          .filter((purl) => purl.startsWith("pkg:deb/"))
          .map((purl) => purl.split("/")[2]!.split("@")[0])
          .sort(),
      ).toEqual(installed);
      for (const name of recipe.packages) expect(installed).toContain(name);
      const bundled = JSON.parse(readFileSync(new URL("../../dist/packages.json", import.meta.url), "utf8"))[
        { "kadalu-operator": "operator.cjs", "kadalu-csi": "csi.cjs", "kadalu-server": "server.cjs" }[recipe.name]
      ];
      for (const pkg of bundled) expect(purls).toContain(`pkg:npm/${pkg.name.replace(/^@/, "%40")}@${pkg.version}`);
      expect(image.config.entrypoint[0]).toBe("/usr/bin/node");
      const bytes = Number(execFileSync("du", ["-sb", image.root], { encoding: "utf8" }).split("\t")[0]);
      console.log(
        `${recipe.name}:${version}: ${(bytes / MB).toFixed(1)} MB unpacked, ${(statSync(archive(recipe.name)).size / MB).toFixed(1)} MB archive, ${installed.length} Debian packages, ${purls.length - installed.length - 1} npm packages`,
      );
      rmSync(image.root, { recursive: true, force: true });
    }
  });

  const skopeo = spawnSync("skopeo", ["--version"]).status === 0;
  it.skipIf(!skopeo)("is read by skopeo as the digest we computed, every blob verified on a copy (what a push does)", () => {
    for (const recipe of RECIPES) {
      const inspected = JSON.parse(execFileSync("skopeo", ["inspect", `oci-archive:${archive(recipe.name)}`], { encoding: "utf8" }));
      const ours = JSON.parse(execFileSync("tar", ["-xOf", archive(recipe.name), "./index.json"], { encoding: "utf8" })).manifests[0].digest;
      expect(inspected.Digest).toBe(ours);
      expect(inspected.Architecture).toBe("amd64");
      const copy = join(scratch, `${recipe.name}-copy`);
      execFileSync("skopeo", ["copy", "--quiet", `oci-archive:${archive(recipe.name)}`, `oci:${copy}:${version}`]);
      expect(JSON.parse(readFileSync(join(copy, "index.json"), "utf8")).manifests[0].digest).toBe(ours);
    }
  });

  it("builds the same operator image digest again from the same commit", () => {
    const again = mkdtempSync(join(scratch, "again-"));
    const first = JSON.parse(execFileSync("tar", ["-xOf", archive("kadalu-operator"), "./index.json"], { encoding: "utf8" })).manifests[0].digest;
    const report = buildImage(
      RECIPES.find((recipe) => recipe.name === "kadalu-operator")!,
      again,
      sourceDateEpoch(),
      version,
    );
    expect(report.image.digest).toBe(first);
    expect(execFileSync("cmp", [report.image.archive, archive("kadalu-operator")]).length).toBe(0);
  }, 600_000); // a second full build: minutes on a loaded 2-core machine

  describe.skipIf(noKubernetes)("the operator image on the real apiserver", () => {
    let cluster: RealCluster;
    let agent: NodeAgent;
    afterAll(async () => {
      await agent?.stop();
      await cluster?.stop();
    });

    it("starts its entrypoint as its own non-root user, from its own filesystem, and reconciles a pool", async () => {
      const image = unpack("kadalu-operator");
      expect(image.config.user).toBe("65532:65532");
      cluster = await startRealCluster(kubernetes!);
      agent = await NodeAgent.start(cluster.admin, ["kube1"]);
      const install = await kadalu(cluster.adminKubeconfig, ["install"]);
      expect(install.code, install.stderr).toBe(0);
      const share = join(scratch, "operator-share");
      mkdirSync(share, { mode: 0o755 });
      const operator = await startOperator(cluster, "kadalu", (_cluster, args, env) => {
        // The ServiceAccount's kubeconfig, its CA inline, readable by the image's user in a bound directory.
        const from = args[args.indexOf("--kubeconfig") + 1]!;
        const config = parse(readFileSync(from, "utf8"));
        for (const entry of config.clusters) {
          entry.cluster["certificate-authority-data"] = readFileSync(entry.cluster["certificate-authority"]).toString("base64");
          delete entry.cluster["certificate-authority"];
        }
        const kubeconfig = join(share, "kubeconfig");
        writeFileSync(kubeconfig, stringify(config), { mode: 0o644 });
        args[args.indexOf("--kubeconfig") + 1] = kubeconfig;
        return startInImage(processes, "operator-image", image, { binds: [share], env, args }).process;
      });
      const add = await kadalu(cluster.adminKubeconfig, ["storage-add", "pool1", "--type", "Replica1", "--path", "kube1:/data/pool1", "--yes"]);
      expect(add.code, add.stderr).toBe(0);
      const pool = await waitUntil(
        `the operator in its image to report on pool1\n${operator.tail()}`,
        async () => {
          const found = await cluster.admin.find("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1");
          return found?.status?.state ? found : undefined;
        },
        60_000,
      );
      // The node agent runs the brick pod at once: the first state seen may already be ready.
      expect(["initializing", "ready"]).toContain(pool.status.state);
      const info = await cluster.admin.get("/api/v1/namespaces/kadalu/configmaps/kadalu-info");
      expect(Object.keys(info.data)).toContain("pool1.info");
      expect((await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/statefulsets")).items.map((s: any) => s.metadata.name)).toContain("server-pool1-0");
      // It is the image's Node, as the image's user.
      const pid = operator.child.pid!;
      expect(readlinkSync(`/proc/${pid}/root`)).toBe(image.root);
      expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^Uid:\s+65532\s/m);
      await processes.stop(operator);
    });
  });

  describe.skipIf(noKubernetes || noGluster)("the CSI image on real GlusterFS", () => {
    let pool: GlusterCsi;
    afterAll(async () => {
      await pool?.stop();
    });

    it("serves its socket, mounts the pool with its own glusterfs client, passes csi-sanity, and loop-mounts a virtblock PV with its own tools", async () => {
      const image = unpack("kadalu-csi");
      const dir = join(scratch, "csi");
      mkdirSync(dir);
      const kubeletDir = sanityKubeletDir(join(dir, "sanity"));
      mkdirSync(kubeletDir, { recursive: true });
      pool = await startGlusterCsi(glusterfs!, dir, {
        kubeletDir,
        start: (driverProcesses, _dir, hosts, args) => startInImage(driverProcesses, "csi-image", image, { hosts, binds: [dir], args }),
      });
      const result = await runSanity(kubernetes!.bins["csi-sanity"], `unix://${pool.socket}`, join(dir, "sanity"), { storage_name: "pool1" });
      expect(result.failed, result.output.slice(-4000)).toEqual([]);
      expect(result.passed.length).toBeGreaterThanOrEqual(43);
      expect(result.skipped.filter((spec) => !reasonNotApplicable(spec.reason))).toEqual([]);
      console.log(`csi-sanity on the CSI image: ${result.passed.length} passed, ${result.failed.length} failed, ${result.skipped.length} skipped`);
      // The pool was mounted by the glusterfs of the image: its process runs in the image's root.
      const clients = readdirSync("/proc")
        .filter((pid) => /^\d+$/.test(pid))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--volfile-id\0pool1") && readlinkSync(`/proc/${pid}/root`) === image.root;
          } catch {
            return false;
          }
        });
      expect(clients.length).toBeGreaterThan(0);
      // The image has no coreutils: its Node reads the mount table of the driver's namespace.
      const mounts = await pool.csi.exec(["/usr/bin/node", "-e", "process.stdout.write(require('fs').readFileSync('/proc/self/mounts', 'utf8'))"]);
      expect(mounts.stdout).toMatch(/^kadalu:pool1 \/mnt\/pool1 fuse\.glusterfs /m);
      for (const brick of pool.bricks) expect(existsSync(join(brick, "stat.db")), brick).toBe(true);
      // A virtblock PV: the image's mkfs.xfs, losetup and mount, on the Gluster pool.
      const client = csiClient(`unix://${pool.socket}`);
      try {
        const capability = { mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };
        const { volume } = await client.controller("CreateVolume", {
          name: "pvc-virt",
          capacity_range: { required_bytes: 320 * MB },
          volume_capabilities: [capability],
          parameters: { storage_name: "pool1", pv_type: "block" },
        });
        const target = join(kubeletDir, "pods/uid/volumes/kubernetes.io~csi/pvc-virt/mount");
        await client.node("NodePublishVolume", {
          volume_id: "pvc-virt",
          target_path: target,
          volume_capability: capability,
          volume_context: volume.volume_context,
        });
        const published = await pool.csi.exec(["/usr/bin/node", "-e", "process.stdout.write(require('fs').readFileSync('/proc/self/mounts', 'utf8'))"]);
        expect(published.stdout).toMatch(new RegExp(`^/dev/loop\\d+ ${target} xfs `, "m"));
        await client.node("NodeUnpublishVolume", { volume_id: "pvc-virt", target_path: target });
        await client.controller("DeleteVolume", { volume_id: "pvc-virt" });
      } finally {
        client.close();
      }
      await waitUntil(
        "the image's Gluster client log in the driver's log",
        () => /^.* gluster: \[\d{4}-\d\d-\d\d [\d:.]+.*\] [IWE] \[/m.test(pool.csi.process.tail(5000)) || undefined,
        10_000,
      );
    });
  });
});
