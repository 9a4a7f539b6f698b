/**
 * storage-list, storage-add --wait, doctor and the pool's status on the sandbox (the real operator and
 * CSI provisioner on the API test server, pools in local directories): what one says, the others say.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csiClient } from "../../../harness/helpers/csi-client.js";
import { runCli, type CliResult } from "../../../harness/helpers/cli.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";

const API = "kadalu-operator.storage/v1alpha1";
let sandbox: Sandbox;
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: { ...process.env, KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" } });
const pool1 = () => sandbox.server.get(API, "KadaluStorage", "kadalu", "pool1")!;
const until = async <T>(what: string, value: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const start = Date.now();
  for (;;) {
    const found = await value();
    if (found !== undefined) return found;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${sandbox.logs.slice(-10).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
const finding = (doctor: CliResult, check: string) =>
  JSON.parse(doctor.stdout).findings.find((f: { check: string; where: string }) => f.check === check && f.where === "pool/pool1");

/** `kubectl get kds`'s columns, as the CRD declares them, read from the object as the API server would. */
function printerColumns(): Record<string, unknown> {
  const crd = sandbox.server.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", undefined, "kadalustorages.kadalu-operator.storage")!;
  const columns: { name: string; jsonPath: string }[] = crd.spec.versions[0].additionalPrinterColumns;
  const read = (path: string): unknown =>
    path
      .split(".")
      .slice(1)
      .reduce<any>((value, key) => value?.[key], pool1());
  return Object.fromEntries(columns.map((column) => [column.name, read(column.jsonPath)]));
}

beforeAll(async () => {
  sandbox = await startSandbox();
  expect((await cli("install", "--wait", "--timeout", "60s")).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

describe("storage-list on the sandbox", () => {
  it("right after storage-add --wait: doctor finds the pool mounted, storage-list shows its real capacity", async () => {
    const add = await cli(
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--path",
      "kube1:/data/pool1",
      "--path",
      "kube2:/data/pool1",
      "--path",
      "kube3:/data/pool1",
      "--pv-reclaim-policy",
      "archive",
      "--yes",
      "--wait",
      "--timeout",
      "60s",
    );
    expect(add.code, add.stderr).toBe(0);
    const [doctor, list] = await Promise.all([
      cli("doctor", "-n", "kadalu", "-o", "json"),
      cli("storage-list", "pool1", "--status", "-n", "kadalu", "-o", "json"),
    ]);
    expect(finding(doctor, "mount")).toMatchObject({ severity: "ok", message: "mounted, stat.db readable" });
    expect(doctor.code).not.toBe(4);
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout).pools[0];
    expect(listed).toMatchObject({ name: "pool1", state: "ready", message: "" });
    expect(listed.usage.capacityBytes).toBeGreaterThan(0);
    expect(listed.usage.capacityBytes).toBe(pool1().status.usage.capacityBytes);
  }, 90_000);

  it("after remove-archived-pv, the status, kubectl get kds, doctor and storage-list agree within one provisioner pass", async () => {
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "default" },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
    } as never);
    await until("the PVC's row in the status", () => (pool1().status?.usage?.pvCount === 1 ? true : undefined));
    sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "PersistentVolumeClaim")!, "default", "data", { dryRun: false });
    const archived = await until("the PV archived", async () => {
      const pool = JSON.parse((await cli("storage-list", "pool1", "--status", "-n", "kadalu", "-o", "json")).stdout).pools[0];
      return pool.usage?.archivedPvCount === 1 ? pool.usage : undefined;
    });
    expect(archived).toMatchObject({ pvCount: 1, livePvCount: 0, archivedPvCount: 1, archivedBytes: 1024 ** 3 });
    expect(archived.archived[0].name).toBe(`archived-${archived.archived[0].pv}`);
    const removed = await cli("remove-archived-pv", "pool1", "--yes", "-n", "kadalu");
    expect(removed.code, removed.stderr).toBe(0);
    // The provisioner remounts and measures every 10 s; the usage write follows within a second.
    await until("the status to drop the archived PV's row", () => (pool1().status?.usage?.pvCount === 0 ? true : undefined), 15_000);
    const [list, doctor] = await Promise.all([
      cli("storage-list", "pool1", "--status", "-n", "kadalu", "-o", "json"),
      cli("doctor", "-n", "kadalu", "-o", "json"),
    ]);
    const usage = JSON.parse(list.stdout).pools[0].usage;
    expect(usage).toMatchObject({ pvCount: 0, livePvCount: 0, archivedPvCount: 0, provisionedBytes: 0 });
    expect(printerColumns()).toMatchObject({ State: "ready", Capacity: pool1().status.usage.capacity, Used: "0 B", PVs: 0 });
    expect(usage.capacityBytes).toBe(pool1().status.usage.capacityBytes);
    expect(finding(doctor, "capacity").message).toBe("0.0% provisioned (0 PVs)");
  }, 90_000);

  it("a snapshot taken through the provisioner: storage-list --status counts it, and its provisioned is the status's", async () => {
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "snapped", namespace: "default" },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
    } as never);
    const pv = await until(
      "the PVC's PV",
      () => sandbox.server.list("v1", "PersistentVolume").find((item: any) => item.spec?.claimRef?.name === "snapped") as any,
    );
    writeFileSync(join(sandbox.provisionerRoot, "mnt", "pool1", pv.spec.csi.volumeAttributes.path, "data"), Buffer.alloc(3 * 1024 ** 2, 1));
    const client = csiClient(`unix://${join(sandbox.dir, "csi", "csi.sock")}`);
    try {
      await client.controller("CreateSnapshot", { name: "snap-a", source_volume_id: pv.metadata.name });
      const expected = 1024 ** 3 + 3 * 1024 ** 2;
      await until("the status to count the snapshot", () => (pool1().status?.usage?.provisionedBytes === expected ? true : undefined), 15_000);
      const list = await cli("storage-list", "pool1", "--status", "-n", "kadalu", "-o", "json");
      expect(JSON.parse(list.stdout).pools[0].usage).toMatchObject({
        pvCount: 1,
        snapshotCount: 1,
        snapshotBytes: 3 * 1024 ** 2,
        provisionedBytes: pool1().status.usage.provisionedBytes,
      });
      const table = await cli("storage-list", "pool1", "--status", "-o", "wide", "-n", "kadalu");
      expect(table.stdout).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+archive\s+[\d.]+ \w?i?B\s+1\.0 GiB\s+[\d.]+%\s+1\s+0\s+1\s+3\.0 MiB\s/);
      await client.controller("DeleteSnapshot", { snapshot_id: "pool1/snap-a" });
      await until("the status to drop the snapshot", () => (pool1().status?.usage?.provisionedBytes === 1024 ** 3 ? true : undefined), 15_000);
      expect(JSON.parse((await cli("storage-list", "pool1", "--status", "-n", "kadalu", "-o", "json")).stdout).pools[0].usage).toMatchObject({
        snapshotCount: 0,
        snapshotBytes: 0,
        provisionedBytes: 1024 ** 3,
      });
    } finally {
      client.close();
    }
    // The pool archives what is deleted: the archived PV goes too, so the pool ends as it began.
    sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "PersistentVolumeClaim")!, "default", "snapped", { dryRun: false });
    await until("the PV archived", () => (sandbox.server.list("v1", "PersistentVolume").length === 0 ? true : undefined));
    expect((await cli("remove-archived-pv", "pool1", "--yes", "-n", "kadalu")).code).toBe(0);
  }, 90_000);

  it("a pool removed and added again under its name is usable as soon as the provisioner has mounted it", async () => {
    const remove = await cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "30s", "-n", "kadalu");
    expect(remove.code, remove.stderr).toBe(0);
    // The provisioner still holds the old pool's directory, with the same usage: the new object needs it written.
    const add = await cli(
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--path",
      "kube1:/data/pool1",
      "--path",
      "kube2:/data/pool1",
      "--path",
      "kube3:/data/pool1",
      "--yes",
      "--wait",
      "--timeout",
      "30s",
    );
    expect(add.code, add.stderr).toBe(0);
    const doctor = await cli("doctor", "-n", "kadalu", "-o", "json");
    expect(finding(doctor, "mount")).toMatchObject({ severity: "ok" });
  }, 90_000);
});
