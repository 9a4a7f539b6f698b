/**
 * storage-devices and storage-add --device against the API test server: each node's nodeplugin pod answers
 * exec by running the real `kadalu-csi devices` on a made node tree (real files under /sys/block, /dev, /proc).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { localDirExec } from "../../../harness/apiserver/exec.js";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const MiB = 1024 * 1024;
const CSI_BIN = fileURLToPath(new URL("../../../bin/kadalu-csi", import.meta.url));
let cluster: TestCluster;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];

/** sdb raw 1 GiB, sdc with XFS and mounted, sdd 100 MiB: the same on every node. */
function nodeTree(root: string): void {
  const devices: [string, number, string, Buffer | undefined][] = [
    ["sdb", 1024, "8:16", undefined],
    ["sdc", 2048, "8:32", Buffer.from("XFSB")],
    ["sdd", 100, "8:48", undefined],
  ];
  mkdirSync(join(root, "dev"), { recursive: true });
  for (const [name, mib, dev, head] of devices) {
    const sys = join(root, "sys", "block", name);
    mkdirSync(join(sys, "holders"), { recursive: true });
    writeFileSync(join(sys, "size"), `${(mib * MiB) / 512}\n`);
    writeFileSync(join(sys, "ro"), "0\n");
    writeFileSync(join(sys, "dev"), `${dev}\n`);
    const bytes = Buffer.alloc(0x11000);
    head?.copy(bytes, 0);
    writeFileSync(join(root, "dev", name), bytes);
  }
  mkdirSync(join(root, "proc", "self"), { recursive: true });
  writeFileSync(join(root, "proc", "self", "mountinfo"), "90 27 8:32 / /srv/backup rw - xfs /dev/sdc rw\n");
}

/** A ready nodeplugin pod on `node` whose exec runs the real tool on the node's made tree. */
function nodeplugin(node: string): void {
  const name = `kadalu-csi-nodeplugin-${node}`;
  cluster.server.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kadalu",
      labels: { "app.kubernetes.io/name": "kadalu-csi-nodeplugin", "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "csi-driver" },
    },
    spec: { nodeName: node, containers: [{ name: "kadalu-nodeplugin" }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  } as never);
  const root = join(cluster.dir, node);
  nodeTree(root);
  cluster.server.onExec(
    "kadalu",
    name,
    "kadalu-nodeplugin",
    localDirExec(root, { "node /kadalu/bin/kadalu-csi devices": [process.execPath, CSI_BIN, "devices", "--root", root] }),
  );
}

beforeEach(async () => {
  cluster = await startCluster({ operator: true });
  nodeplugin("kube1");
  nodeplugin("kube2");
  cluster.server.seed({
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool0", namespace: "kadalu" },
    spec: {
      type: "Replica1",
      storage: [
        { node: "kube2", device: "/dev/sdb" },
        { node: "kube1", path: "/data/pool0" },
      ],
    },
  } as never);
  cluster.server.clearRequests();
});
afterEach(async () => {
  await cluster.stop();
});

describe("storage-devices", () => {
  it("lists each node's devices with the reason a pool may not use one, including the pool that has it", async () => {
    const result = await runCli(["storage-devices", ...kc()]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n").map((line) => line.replace(/\s+/g, " "))).toEqual([
      "NODE PATH SIZE FILESYSTEM USABLE REASON",
      "kube1 /dev/sdb 1.0 GiB - yes -",
      "kube1 /dev/sdc 2.0 GiB xfs no has a filesystem (xfs); mounted at /srv/backup",
      "kube1 /dev/sdd 100.0 MiB - no too small (100.0 MiB; XFS needs 300.0 MiB)",
      "kube1 /data/pool0 - - no used by pool pool0",
      "kube2 /dev/sdb 1.0 GiB - no used by pool pool0",
      "kube2 /dev/sdc 2.0 GiB xfs no has a filesystem (xfs); mounted at /srv/backup",
      "kube2 /dev/sdd 100.0 MiB - no too small (100.0 MiB; XFS needs 300.0 MiB)",
      "",
    ]);
    expect(result.stderr).toBe("1 usable device on 2 nodes\n");
    // One list each of pods, pools and kadalu-info, then one exec per node; nothing written.
    expect(cluster.server.writes().filter((r) => r.subresource !== "exec")).toEqual([]);
  });

  it("--node, -o wide, -o json and -o yaml", async () => {
    const wide = await runCli(["storage-devices", "--node", "kube1", "-o", "wide", ...kc()]);
    expect(wide.stdout.split("\n")[0]!.replace(/\s+/g, " ")).toBe("NODE PATH SIZE FILESYSTEM MOUNTED HOLDERS PARENT USABLE REASON");
    expect(wide.stdout.split("\n")[2]!.replace(/\s+/g, " ")).toBe(
      "kube1 /dev/sdc 2.0 GiB xfs /srv/backup - - no has a filesystem (xfs); mounted at /srv/backup",
    );
    expect(wide.stdout).not.toContain("kube2");
    const json = JSON.parse((await runCli(["storage-devices", "--node", "kube2", "-o", "json", ...kc()])).stdout);
    expect(json.nodes).toHaveLength(1);
    expect(json.nodes[0].devices[0]).toMatchObject({
      path: "/dev/sdb",
      sizeBytes: 1024 * MiB,
      usable: false,
      usedBy: "pool0",
      refusals: ["used by pool pool0"],
    });
    expect(json.nodes[0].directories).toEqual([]);
    const yaml = parse((await runCli(["storage-devices", "--node", "kube1", "-o", "yaml", ...kc()])).stdout);
    expect(yaml.nodes[0].directories).toEqual([{ path: "/data/pool0", usedBy: "pool0" }]);
    expect(yaml.nodes[0].devices.map((device: { path: string; usable: boolean }) => `${device.path} ${device.usable}`)).toEqual([
      "/dev/sdb true",
      "/dev/sdc false",
      "/dev/sdd false",
    ]);
  });

  it("a node without a nodeplugin is an error naming the nodes that have one (exit 1); a bad node name is exit 2 with no request", async () => {
    const missing = await runCli(["storage-devices", "--node", "kube3", ...kc()]);
    expect(missing.stderr).toBe('error: node kube3: no ready CSI nodeplugin pod on node "kube3"; nodes with one: kube1, kube2\n');
    expect(missing.code).toBe(1);
    cluster.server.clearRequests();
    const bad = await runCli(["storage-devices", "--node", "Kube_1", ...kc()]);
    expect(bad.stderr).toBe(
      "error: --node \"Kube_1\" is not a node name: it must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit\n",
    );
    expect(bad.code).toBe(2);
    expect(cluster.server.requests).toEqual([]);
  });
});

describe("storage-add --device asks the node", () => {
  it("refuses a device discovery refuses, with the same reason, and creates nothing", async () => {
    const refused = await runCli(["storage-add", "pool1", "--device", "kube1:/dev/sdc", "--yes", ...kc()]);
    expect(refused.stderr).toBe(
      "error: device /dev/sdc on node kube1 cannot be used: has a filesystem (xfs); mounted at /srv/backup; see: kubectl kadalu storage-devices --node kube1\n",
    );
    expect(refused.code).toBe(2);
    const absent = await runCli(["storage-add", "pool1", "--device", "kube1:/dev/sdx", "--yes", ...kc()]);
    expect(absent.stderr).toBe("error: node kube1 has no block device /dev/sdx; its devices: /dev/sdb, /dev/sdc, /dev/sdd\n");
    expect(absent.code).toBe(2);
    expect(cluster.server.writes().filter((r) => r.subresource !== "exec")).toEqual([]);
  });

  it("accepts a usable device, and says which it could not check (no nodeplugin, a file)", async () => {
    const result = await runCli([
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--device",
      "kube1:/dev/sdb",
      "--device",
      "kube2:/dev/sdc",
      "--device",
      "kube3:/var/disk.img",
      "--force",
      "--yes",
      ...kc(),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("device /dev/sdc on node kube2 cannot be used");
    const ok = await runCli([
      "storage-add",
      "pool1",
      "--type",
      "Replica3",
      "--device",
      "kube1:/dev/sdb",
      "--device",
      "kube3:/dev/sdb",
      "--device",
      "kube3:/var/disk.img",
      "--force",
      "--yes",
      ...kc(),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain("note: device /dev/sdb on node kube3 was not checked: no ready CSI nodeplugin pod there\n");
    expect(ok.stderr).toContain("note: device /var/disk.img on node kube3 was not checked: a file, which the server formats as a loop device\n");
    expect(ok.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 created\n");
  });
});

describe("storage-expand --device asks the node", () => {
  it("refuses a device discovery refuses, with the same reason, and changes nothing; grows with a usable one", async () => {
    const refused = await runCli(["storage-expand", "pool0", "--device", "kube1:/dev/sdd", "--yes", ...kc()]);
    expect(refused.stderr).toMatch(/^error: device \/dev\/sdd on node kube1 cannot be used: .+; see: kubectl kadalu storage-devices --node kube1\n$/);
    expect(refused.code).toBe(2);
    expect(cluster.server.writes().filter((r) => r.subresource !== "exec")).toEqual([]);
    const grown = await runCli(["storage-expand", "pool0", "--device", "kube1:/dev/sdb", "--yes", ...kc()]);
    expect(grown.stdout).toBe("kadalustorage.kadalu-operator.storage/pool0 expanded to 3 storage units\n");
    expect(grown.code, grown.stderr).toBe(0);
  });
});
