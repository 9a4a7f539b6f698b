/** `uninstall --purge` names what it would orphan and needs a second, explicit confirmation to leave it. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pvPath } from "../../../src/core/pv-layout.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, writeUpstreamStatDb } from "../../../harness/helpers/pools.js";

let cluster: TestCluster;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];
const uninstall = (...args: string[]) => runCli(["uninstall", ...kc(), ...args]);
const exists = (apiVersion: string, kind: string, name: string, namespace?: string): boolean =>
  cluster.server.get(apiVersion, kind, namespace, name) !== undefined;
const CRD = ["apiextensions.k8s.io/v1", "CustomResourceDefinition", "kadalustorages.kadalu-operator.storage"] as const;

function info(name: string): string {
  return JSON.stringify({
    namespace: "kadalu",
    kadalu_version: "1.2.0",
    volname: name,
    volume_id: "v",
    single_pv_per_pool: false,
    type: "Replica1",
    pvReclaimPolicy: "archive",
    bricks: [
      {
        brick_path: `/bricks/${name}/data/brick`,
        kube_hostname: "kube1",
        node: `server-${name}-0-0.${name}`,
        node_id: "node-0",
        host_brick_path: "/d",
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
}

/** A pool with one Bound PV, its StorageClass, an archived PV on its bricks, and an unrelated PV and StorageClass. */
function seedPool(orphans: boolean): void {
  const root = join(cluster.dir, "provisioner");
  seedKadaluInfo(cluster.server, { "pool1.info": info("pool1") });
  cluster.server.seed({
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool1", namespace: "kadalu" },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
  });
  cluster.server.seed({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "standard" }, provisioner: "rancher.io/local-path" });
  cluster.server.clearRequests();
  if (!orphans) return;
  seedProvisioner(cluster.server, root);
  writeUpstreamStatDb(root, "pool1", 10 * 1024 ** 3, [["pvc-archived", 1024 ** 3]]);
  const prefix = pvPath("subvol", "pvc-archived").split("/").slice(0, 3).join("/");
  mkdirSync(join(root, "mnt/pool1", prefix, "archived-pvc-archived"), { recursive: true });
  mkdirSync(join(root, "mnt/pool1/info", prefix), { recursive: true });
  writeFileSync(join(root, "mnt/pool1/info", prefix, "archived-pvc-archived.json"), `{"size": ${1024 ** 3}, "path_prefix": "${prefix}"}`);
  cluster.server.seed({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "kadalu.pool1" }, provisioner: "kadalu" });
  cluster.server.seed({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-1111" },
    spec: { capacity: { storage: "1Gi" }, csi: { driver: "kadalu", volumeHandle: "pvc-1111" }, claimRef: { name: "data", namespace: "shop" } },
    status: { phase: "Bound" },
  });
  cluster.server.seed({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-other" },
    spec: { capacity: { storage: "1Gi" }, csi: { driver: "other.csi" }, claimRef: { name: "x", namespace: "y" } },
    status: { phase: "Bound" },
  });
  cluster.server.clearRequests();
}

const LISTING = [
  "--purge leaves 3 objects behind that nothing will serve or remove:",
  "  persistentvolume/pvc-1111: bound to claim shop/data",
  "  storageclass/kadalu.pool1",
  "  archived PV archived-pvc-archived in pool pool1 (its data stays on the bricks)",
].join("\n");

beforeEach(async () => {
  cluster = await startCluster({ crd: false, namespaces: [] });
  expect((await runCli(["install", ...kc(), "--no-wait"])).code).toBe(0);
});
afterEach(async () => {
  await cluster.stop();
});

describe("uninstall --purge with PVs bound", () => {
  it("--dry-run shows the plan, only objects that exist, what it would orphan, and the refusal reason", async () => {
    seedPool(true);
    const result = await uninstall("--purge", "--dry-run");
    expect(result.stdout).toContain("deployment/operator would be deleted\n");
    expect(result.stdout).toContain("configmap/kadalu-info would be deleted\n");
    expect(result.stderr).not.toContain("servicemonitor/kadalu");
    expect(result.stderr).toContain(`${LISTING}\na real run asks a second confirmation to leave them (with --yes, pass --allow-orphans)\n`);
    expect(result.stderr).not.toContain("pvc-other");
    expect(result.stderr).not.toContain("standard");
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(
      "error: refusing to uninstall while storage pools exist: kadalu/pool1; remove them first (kubectl kadalu storage-remove pool1 -n kadalu), or pass --force to uninstall anyway (their data stays on the bricks)",
    );
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe(
      "dry run: uninstall would be refused as things stand; with --force, 21 objects would be deleted; nothing was sent",
    );
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    // Lists, not one read per object: reads of single objects are the CRD and kadalu-info only.
    const singleReads = cluster.server.requests
      .filter((request) => request.verb === "get" && request.resource && request.subresource !== "exec")
      .map((request) => `${request.resource}/${request.path.split("/").at(-1)}`);
    expect(singleReads.sort()).toEqual(["configmaps/kadalu-info", "customresourcedefinitions/kadalustorages.kadalu-operator.storage"]);
  });

  it("with --yes refuses without --allow-orphans, naming the count, and deletes nothing", async () => {
    seedPool(true);
    const result = await uninstall("--purge", "--force", "--yes");
    expect(result.stderr).toBe(
      `${LISTING}\nerror: refusing to purge: it would leave 3 objects (1 bound PV, 1 StorageClass, 1 archived PV) behind; delete the PVCs and pools first, or pass --allow-orphans with --yes to leave them\n`,
    );
    expect(result.code).toBe(2);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("with --yes --allow-orphans purges and leaves exactly what it listed", async () => {
    seedPool(true);
    const result = await uninstall("--purge", "--force", "--yes", "--allow-orphans");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(LISTING);
    expect(exists(...CRD)).toBe(false);
    expect(exists("v1", "PersistentVolume", "pvc-1111")).toBe(true);
    expect(exists("storage.k8s.io/v1", "StorageClass", "kadalu.pool1")).toBe(true);
  });

  it("on a terminal asks a second time, naming the count; no to it deletes nothing", async () => {
    seedPool(true);
    const refused = await runCli(["uninstall", ...kc(), "--purge", "--force"], { interactive: true, answers: [true, false] });
    expect(refused.prompts).toHaveLength(2);
    expect(refused.prompts[1]).toBe("Leave these 3 objects (1 bound PV, 1 StorageClass, 1 archived PV) behind for good? Nothing will serve or remove them.");
    expect(refused.stderr).toContain("cancelled: nothing was deleted");
    expect(refused.code).toBe(0);
    expect(cluster.server.writes()).toEqual([]);
    const accepted = await runCli(["uninstall", ...kc(), "--purge", "--force"], { interactive: true, answers: [true, true] });
    expect(accepted.code).toBe(0);
    expect(exists(...CRD)).toBe(false);
    expect(exists("v1", "Namespace", "kadalu")).toBe(false);
  });

  it("asks once when nothing would be orphaned, and says when archived PVs could not be looked for", async () => {
    seedPool(false);
    const result = await runCli(["uninstall", ...kc(), "--purge", "--force"], { interactive: true, answers: [true] });
    expect(result.prompts).toHaveLength(1);
    expect(result.stderr).toContain('archived PVs not listed: no running CSI provisioner pod in namespace "kadalu" to look on the bricks');
    expect(result.code).toBe(0);
    expect(exists(...CRD)).toBe(false);
  });
});
