/**
 * healinfo's "PVCs at risk" against the API test server: the heal report is one captured from GlusterFS
 * (test/fixtures/heal), the PVs are PersistentVolume objects, and `<gfid:...>` entries are named by the
 * real script in a brick directory of real symlinks and xattrs laid out as a brick's .glusterfs is.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setAttributeSync } from "@napi-rs/xattr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { localDirExec } from "../../../harness/apiserver/exec.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo, seedServerPod } from "../../../harness/helpers/pools.js";

const REPORT = readFileSync(new URL("../../fixtures/heal/replica3-one-brick-down.txt", import.meta.url), "utf8");
const PV_A = "pvc-6f1c2a4e-0d4b-4c55-9a53-3b2f1e7d9c01";
const PV_B = "pvc-a03e5b77-8f21-4f0e-b6d4-52c9e8a1f2b3";
const BRICK = "/bricks/pool1/data/brick";
const ROOT_GFID = "00000000-0000-0000-0000-000000000001";
const ROOT = process.getuid?.() === 0;
let cluster: TestCluster;
const cli = (...args: string[]) => runCli([...args, "--kubeconfig", cluster.kubeconfig]);

const info = JSON.stringify({
  namespace: "kadalu",
  kadalu_version: "1.2.0",
  volname: "pool1",
  volume_id: "v",
  single_pv_per_pool: false,
  type: "Replica3",
  pvReclaimPolicy: "delete",
  bricks: [0, 1, 2].map((i) => ({
    brick_path: BRICK,
    kube_hostname: `kube${i + 1}`,
    node: `server-pool1-${i}-0.pool1`,
    node_id: `node-${i}`,
    host_brick_path: "/d",
    brick_device: "",
    pvc_name: "",
    brick_device_dir: "",
    decommissioned: "",
    brick_index: i,
  })),
  disperse: { data: 0, redundancy: 0 },
  options: {},
});

/** Server pod `index` answers heal-info.sh with `report`, and runs anything else on `root` as its filesystem. */
function serverPod(index: number, report: string, root = cluster.dir): void {
  const name = `server-pool1-${index}-0`;
  seedServerPod(cluster.server, name, "Running", true);
  const local = localDirExec(root);
  cluster.server.onExec("kadalu", name, "server", async (context) => {
    if (context.command[0] !== "/kadalu/heal-info.sh") return local(context);
    context.stdout.write(report);
    return 0;
  });
}

const pv = (name: string, claim?: { namespace: string; name: string }) =>
  cluster.server.seed({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      storageClassName: "kadalu.pool1",
      csi: { driver: "kadalu", volumeHandle: name, volumeAttributes: { hostvol: "pool1" } },
      ...(claim ? { claimRef: { namespace: claim.namespace, name: claim.name } } : {}),
    },
  } as never);

beforeEach(async () => {
  cluster = await startCluster({ operator: true });
  seedKadaluInfo(cluster.server, { "pool1.info": info });
});
afterEach(async () => {
  await cluster.stop();
});

describe("healinfo: PVCs at risk", () => {
  it("maps a real report's pending paths to PVs, and PVs to their claims with one PV list", async () => {
    serverPod(0, REPORT);
    pv(PV_A, { namespace: "apps", name: "data" });
    pv(PV_B, { namespace: "apps", name: "logs" });
    pv("pvc-unrelated", { namespace: "apps", name: "other" });
    cluster.server.clearRequests();
    const result = await cli("healinfo", "pool1");
    expect(result.code, result.stderr).toBe(0);
    // The report as it came, then what it puts at risk: each entry once, though two bricks list it.
    expect(result.stdout).toBe(
      `== pool1 (Replica3) ==\n${REPORT}PVCs at risk: apps/data (4 entries), apps/logs (3 entries)\nNot in a PV: 2 entries (the pool's own files and directories)\n\n`,
    );
    expect(cluster.server.requests.filter((r) => r.resource === "persistentvolumes").map((r) => r.verb)).toEqual(["list"]);
  });

  it("-o json and yaml carry the PVCs, PVs and counts", async () => {
    serverPod(0, REPORT);
    pv(PV_A, { namespace: "apps", name: "data" });
    pv(PV_B);
    const json = JSON.parse((await cli("healinfo", "-o", "json")).stdout);
    expect(json.pools[0].atRisk).toEqual({
      pvcs: [
        { pvc: "apps/data", pv: PV_A, entries: 4 },
        { pv: PV_B, entries: 3 },
      ],
      outsidePvs: 2,
      unresolved: 0,
    });
    expect(parseYaml((await cli("healinfo", "-o", "yaml")).stdout)).toEqual(json);
    expect((await cli("healinfo")).stdout).toContain(`PVCs at risk: apps/data (4 entries), ${PV_B} (no claim, 3 entries)\n`);
  });

  it("says nothing more when no entry is pending", async () => {
    const clean = REPORT.replace(/^List of files needing a heal[\s\S]*$/m, "").replace(/Total Number of entries: 9/g, "Total Number of entries: 0");
    serverPod(0, clean);
    const result = await cli("healinfo", "pool1");
    expect(result.stdout).toBe(`== pool1 (Replica3) ==\n${clean}\n`);
    expect(cluster.server.requests.filter((r) => r.resource === "persistentvolumes")).toEqual([]);
  });

  it("doctor's heal finding names the PVCs at risk", async () => {
    cluster.server.seed({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica3", storage: [1, 2, 3].map((i) => ({ node: `kube${i}`, path: "/d" })) },
    } as never);
    serverPod(0, REPORT);
    pv(PV_A, { namespace: "apps", name: "data" });
    pv(PV_B, { namespace: "apps", name: "logs" });
    const report = JSON.parse((await cli("doctor", "--pool", "pool1", "-o", "json")).stdout) as {
      findings: { check: string; message: string; next?: string }[];
    };
    const heals = report.findings.find((finding) => finding.check === "heals");
    expect(heals).toMatchObject({
      message: "9 heal entries pending on the bricks that answered (not every brick gave a count); PVCs at risk: apps/data (4), apps/logs (3)",
      next: "kubectl kadalu healinfo pool1",
    });
  });

  describe.skipIf(!ROOT)("entries given as gfids", () => {
    const gfid = (n: number): string => `${String(n).padStart(8, "0")}-aaaa-4bbb-8ccc-${String(n).padStart(12, "0")}`;
    const handle = (brick: string, id: string): string => join(brick, ".glusterfs", id.slice(0, 2), id.slice(2, 4), id);
    /** A directory's handle is a symlink into its parent's handle; a file's carries gfid2path. As glusterfsd makes them. */
    function brickTree(brick: string): Map<string, string> {
      const dirs: [string, string, string][] = [
        [gfid(1), ROOT_GFID, "subvol"],
        [gfid(2), gfid(1), "5f"],
        [gfid(3), gfid(2), "93"],
        [gfid(4), gfid(3), PV_A],
        [gfid(5), gfid(1), "01"],
        [gfid(6), gfid(5), "af"],
        [gfid(7), gfid(6), PV_B],
        [gfid(8), gfid(7), "sub"],
      ];
      for (const [id, parent, name] of dirs) {
        mkdirSync(dirname(handle(brick, id)), { recursive: true });
        symlinkSync(`../../${parent.slice(0, 2)}/${parent.slice(2, 4)}/${parent}/${name}`, handle(brick, id));
      }
      const files: [string, string, string][] = [
        [gfid(10), gfid(4), "a"],
        [gfid(11), gfid(4), "new-file"],
        [gfid(12), gfid(8), "c"],
      ];
      for (const [id, parent, name] of files) {
        mkdirSync(dirname(handle(brick, id)), { recursive: true });
        writeFileSync(handle(brick, id), "data");
        setAttributeSync(handle(brick, id), "trusted.gfid2path.0123456789abcdef", `${parent}/${name}`);
      }
      return new Map([
        [`/subvol/5f/93/${PV_A}/a`, gfid(10)],
        [`/subvol/5f/93/${PV_A}/new-file`, gfid(11)],
        [`/subvol/01/af/${PV_B}/sub/c`, gfid(12)],
        [`/subvol/5f/93/${PV_A}`, gfid(4)],
        [`/subvol/01/af/${PV_B}/sub`, gfid(8)],
      ]);
    }

    it("names them on the brick that lists them, and counts each entry once", async () => {
      const root = join(cluster.dir, "pod0");
      const gfids = brickTree(join(root, BRICK));
      // Brick 0 lists its entries as gfids (one that no handle names), brick 1 the same entries as paths.
      const [head, rest] = REPORT.split("List of files needing a heal on pool1:\n") as [string, string];
      const [brick0, ...others] = rest.split("\n\n");
      const asGfids = brick0!
        .split("\n")
        .map((line) => (gfids.has(line.trim()) ? `<gfid:${gfids.get(line.trim())}> ` : line))
        .join("\n")
        .replace("/stat.db ", `<gfid:${gfid(99)}> `);
      expect(asGfids.match(/<gfid:/g)).toHaveLength(6);
      serverPod(0, `${head}List of files needing a heal on pool1:\n${[asGfids, ...others].join("\n\n")}`, root);
      pv(PV_A, { namespace: "apps", name: "data" });
      pv(PV_B, { namespace: "apps", name: "logs" });
      const json = JSON.parse((await cli("healinfo", "pool1", "-o", "json")).stdout);
      // Brick 1 still lists /stat.db by path: it is counted there, and brick 0's unknown gfid is not resolved.
      expect(json.pools[0].atRisk).toEqual({
        pvcs: [
          { pvc: "apps/data", pv: PV_A, entries: 4 },
          { pvc: "apps/logs", pv: PV_B, entries: 3 },
        ],
        outsidePvs: 2,
        unresolved: 1,
      });
      const exec = cluster.server.requests.filter((r) => r.subresource === "exec");
      expect(exec).toHaveLength(2);
    });

    it("leaves a gfid unresolved when the brick has no handle for it", async () => {
      const only = REPORT.replace(`/subvol/5f/93/${PV_A}/a `, `<gfid:${gfid(10)}> `);
      mkdirSync(join(cluster.dir, "empty", BRICK, ".glusterfs"), { recursive: true });
      serverPod(0, only, join(cluster.dir, "empty"));
      const json = JSON.parse((await cli("healinfo", "pool1", "-o", "json")).stdout);
      expect(json.pools[0].atRisk.unresolved).toBe(1);
      expect((await cli("healinfo", "pool1")).stdout).toContain("Not resolved: 1 entry (gfids no running brick could name)\n");
    });
  });
});
