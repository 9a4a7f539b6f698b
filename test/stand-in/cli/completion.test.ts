/** kubectl's plugin completion protocol, line by line, and the completion scripts. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { seedKadaluInfo } from "../../../harness/helpers/pools.js";

const HELPER = fileURLToPath(new URL("../../../bin/kubectl_complete-kadalu", import.meta.url));
const lines = async (...words: string[]): Promise<string[]> => (await runCli(["__complete", ...words])).stdout.trimEnd().split("\n");

describe("__complete", () => {
  it("completes subcommands with descriptions, then the directive", async () => {
    expect(await lines("storage-")).toEqual([
      "storage-add\tAdd a storage pool built from node devices, node directories, PVCs or an external Gluster volume",
      "storage-expand\tGrow an existing pool by whole replica or disperse groups of storage units",
      "storage-replace\tMove one storage unit of a replicated or dispersed pool to another node, directory, device or PVC",
      "storage-list\tList storage pools with their storage units, and with --status how full they are",
      "storage-remove\tRemove a storage pool (refused while PersistentVolumes use it or it holds snapshots; brick data is kept)",
      "storage-devices\tList the block devices of each node, and why a pool may not use one",
      ":4",
    ]);
    expect((await lines("")).filter((line) => !line.startsWith(":")).map((line) => line.split("\t")[0])).toEqual([
      "install",
      "storage-add",
      "storage-expand",
      "storage-replace",
      "storage-list",
      "storage-remove",
      "snapshot-list",
      "storage-devices",
      "option-set",
      "option-reset",
      "remove-archived-pv",
      "healinfo",
      "top",
      "doctor",
      "support-bundle",
      "logs",
      "version",
      "uninstall",
      "completion",
    ]);
  });

  it("completes flags of the subcommand and the global ones", async () => {
    expect(await lines("storage-add", "p1", "--pv-")).toEqual(["--pv-reclaim-policy\twhat deleting a PV does to its data (default delete)", ":4"]);
    expect((await lines("storage-list", "--kube")).slice(0, 1)).toEqual(["--kubeconfig\tpath to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"]);
  });

  it("completes flag values", async () => {
    expect(await lines("storage-add", "p1", "--type", "Rep")).toEqual(["Replica1", "Replica2", "Replica3", ":4"]);
    expect(await lines("install", "--type", "")).toEqual(["kubernetes", "openshift", "microk8s", "rke", ":4"]);
    expect(await lines("storage-list", "-o", "")).toEqual(["table", "wide", "json", "yaml", ":4"]);
    // -o completes what each command accepts.
    expect(await lines("version", "-o", "")).toEqual(["json", "yaml", ":4"]);
    expect(await lines("top", "-o", "")).toEqual(["table", "json", "yaml", ":4"]);
    expect(await lines("healinfo", "--output", "")).toEqual(["json", "yaml", ":4"]);
    expect(await lines("storage-add", "p1", "--pv-reclaim-policy", "a")).toEqual(["archive", ":4"]);
    expect(await lines("completion", "")).toEqual(["bash", "zsh", "fish", ":4"]);
  });

  it("completes option-set keys (the documented set), then on or off", async () => {
    expect(await lines("option-set", "pool1", "performance.re")).toEqual(["performance.read-ahead", "performance.readdir-ahead", ":4"]);
    expect(await lines("option-set", "pool1", "performance.read-ahead", "o")).toEqual(["on", "off", ":4"]);
    expect(await lines("option-set", "pool1", "performance.read-ahead", "on", "performance.io")).toEqual(["performance.io-cache", ":4"]);
  });

  it("gives nothing, quickly, when the cluster does not answer", async () => {
    const started = Date.now();
    expect(await lines("storage-remove", "--kubeconfig", "/nonexistent", "")).toEqual([":4"]);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

describe("__complete against a cluster", () => {
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await startCluster();
    seedKadaluInfo(cluster.server, {
      "pool1.info": '{"volname": "pool1", "volume_id": "v", "type": "Replica3", "bricks": []}',
      "pool2.info": '{"volname": "pool2", "volume_id": "v", "type": "Replica1", "bricks": []}',
    });
    cluster.server.seed({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "brick-a", namespace: "kadalu" }, spec: {} });
  });
  afterEach(async () => {
    await cluster.stop();
  });

  it("completes pool names, node names with a colon and no space, and PVC names", async () => {
    const kc = ["--kubeconfig", cluster.kubeconfig];
    expect(await lines("storage-remove", ...kc, "p")).toEqual(["pool1\tReplica3", "pool2\tReplica1", ":4"]);
    expect(await lines("storage-list", ...kc, "--name", "pool2")).toEqual(["pool2\tReplica1", ":4"]);
    // The POOL argument and --pool of healinfo, top and doctor complete pools too.
    for (const command of ["healinfo", "top", "doctor"]) {
      expect(await lines(command, ...kc, "pool")).toEqual(["pool1\tReplica3", "pool2\tReplica1", ":4"]);
      expect(await lines(command, ...kc, "--pool", "pool1")).toEqual(["pool1\tReplica3", ":4"]);
    }
    expect(await lines("storage-add", "p3", ...kc, "--device", "ku")).toEqual(["kube1:", "kube2:", "kube3:", ":6"]);
    expect(await lines("storage-add", "p3", ...kc, "--pvc", "")).toEqual(["brick-a", ":4"]);
  });

  it("completes option-reset keys from the options the pool has set", async () => {
    cluster.server.seed({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: {
        type: "Replica1",
        storage: [{ node: "kube1", path: "/d" }],
        options: [
          { key: "performance.io-cache", value: "on" },
          { key: "cluster.quorum-type", value: "auto" },
        ],
      },
    });
    expect(await lines("option-reset", "--kubeconfig", cluster.kubeconfig, "pool1", "")).toEqual([
      "performance.io-cache\ton",
      "cluster.quorum-type\tauto",
      ":4",
    ]);
    expect(await lines("option-reset", "--kubeconfig", cluster.kubeconfig, "pool9", "")).toEqual([":4"]);
  });

  it("works through kubectl_complete-kadalu, as kubectl runs it", async () => {
    const output = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [HELPER, "option-set", "--kubeconfig", cluster.kubeconfig, "pool"], { stdio: ["ignore", "pipe", "ignore"] });
      let text = "";
      child.stdout.on("data", (chunk) => (text += chunk));
      child.on("close", () => resolve(text));
    });
    expect(output).toBe("pool1\tReplica3\npool2\tReplica1\n:4\n");
  });
});

describe("completion scripts", () => {
  it.each(["bash", "zsh", "fish"])("%s calls kubectl-kadalu __complete", async (shell) => {
    const result = await runCli(["completion", shell]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("kubectl-kadalu __complete");
  });

  it("refuses an unknown shell", async () => {
    expect((await runCli(["completion", "tcsh"])).code).toBe(2);
  });
});
