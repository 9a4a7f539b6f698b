/** The commands that ask before they change anything: how to set each up, ask it, and see its change. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { pvPath } from "../../src/core/pv-layout.js";
import { runCli } from "../helpers/cli.js";
import type { TestCluster } from "../helpers/cluster.js";
import { seedKadaluInfo, seedProvisioner, writeUpstreamStatDb } from "../helpers/pools.js";

const API = "kadalu-operator.storage/v1alpha1";
const ARCHIVED = "archived-pvc-7";

export interface PromptPath {
  args: string[];
  question: string;
  setup(cluster: TestCluster): Promise<void> | void;
  /** Whether the command's change was made. */
  changed(cluster: TestCluster): boolean;
  cancelled: string;
  done: string;
  /** Part of what it shows before asking, if it shows anything. */
  preview?: string;
}

const seedPool = (cluster: TestCluster, options: { key: string; value: string }[] = []): void => {
  cluster.server.seed({
    apiVersion: API,
    kind: "KadaluStorage",
    metadata: { name: "pool1", namespace: "kadalu" },
    spec: { type: "Replica1", storage: [{ node: "kube1", path: "/data/pool1" }], ...(options.length ? { options } : {}) },
  });
};
const pool = (cluster: TestCluster, name: string) => cluster.server.get(API, "KadaluStorage", "kadalu", name) as { spec: { options?: unknown[] } } | undefined;
const archivedDir = (cluster: TestCluster): string =>
  join(cluster.dir, "provisioner/mnt/pool1", pvPath("subvol", "pvc-7").split("/").slice(0, 3).join("/"), ARCHIVED);

/** Brick pod `index` of pool1, Ready, whose heal-info (as heal-info.sh prints glfsheal's summary) has nothing pending. */
function seedHealthyBrick(cluster: TestCluster, index: number): void {
  const name = `server-pool1-${index}-0`;
  cluster.server.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kadalu",
      labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", "app.kubernetes.io/name": "server" },
    },
    spec: { nodeName: `kube${index + 1}`, containers: [{ name: "server" }], volumes: [{ name: "glusterfsd-mountdir", hostPath: { path: "/data/pool1" } }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  } as never);
  cluster.server.onExec("kadalu", name, "server", async (context) => {
    context.stdout.write(
      [
        "Giving heal summary of volume: pool1",
        ...[0, 1, 2].map((brick) =>
          [
            `Brick server-pool1-${brick}-0.pool1:/bricks/pool1/data/brick`,
            "Status: Connected",
            "Total Number of entries: 0",
            "Number of entries in heal pending: 0",
            "Number of entries in split-brain: 0",
            "Number of entries possibly healing: 0",
            "",
          ].join("\n"),
        ),
        "",
      ].join("\n"),
    );
    return 0;
  });
}

export const PATHS: Record<string, PromptPath> = {
  "storage-add": {
    args: ["storage-add", "pool2", "--path", "kube1:/data/pool2"],
    question: "Create this storage pool?",
    // storage-add makes pools only where Kadalu's operator is installed.
    setup: (cluster) => void cluster.server.seed({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "operator", namespace: "kadalu" }, spec: {} }),
    changed: (cluster) => pool(cluster, "pool2") !== undefined,
    cancelled: "cancelled: nothing was created",
    done: "kadalustorage.kadalu-operator.storage/pool2 created",
    preview: 'Storage pool to create in namespace "kadalu":\napiVersion: kadalu-operator.storage/v1alpha1\nkind: KadaluStorage\n',
  },
  "storage-expand": {
    args: ["storage-expand", "pool1", "--path", "kube2:/data/pool1"],
    question: 'Add 1 storage unit to pool "pool1"?',
    setup: (cluster) => seedPool(cluster),
    changed: (cluster) => (pool(cluster, "pool1") as { spec: { storage: unknown[] } } | undefined)?.spec.storage.length === 2,
    cancelled: "cancelled: nothing was changed",
    done: "kadalustorage.kadalu-operator.storage/pool1 expanded to 2 storage units",
    preview: 'Storage pool "pool1" (Replica1) in namespace "kadalu" grows from 1 storage unit to 2, by 1 group:\n  group 2: kube2:/data/pool1\n',
  },
  "storage-replace": {
    args: ["storage-replace", "pool1", "kube3:/data/pool1", "--path", "kube3:/data/pool1-new"],
    question: 'Replace storage unit 3 of pool "pool1"?',
    setup: (cluster) => {
      cluster.server.seed({
        apiVersion: API,
        kind: "KadaluStorage",
        metadata: { name: "pool1", namespace: "kadalu" },
        spec: { type: "Replica3", storage: ["kube1", "kube2", "kube3"].map((node) => ({ node, path: "/data/pool1" })) },
      });
      for (const index of [0, 1, 2]) seedHealthyBrick(cluster, index);
    },
    changed: (cluster) => JSON.stringify((pool(cluster, "pool1") as { spec: { storage: unknown[] } } | undefined)?.spec.storage).includes("/data/pool1-new"),
    cancelled: "cancelled: nothing was changed",
    done: "kadalustorage.kadalu-operator.storage/pool1 storage unit 3 replaced: kube3:/data/pool1 -> kube3:/data/pool1-new",
    preview: 'Storage pool "pool1" (Replica3) in namespace "kadalu": storage unit 3 of replica group 1 moves\n',
  },
  "storage-remove": {
    args: ["storage-remove", "pool1"],
    question: 'Remove storage pool "pool1"?',
    setup: (cluster) => seedPool(cluster),
    changed: (cluster) => pool(cluster, "pool1") === undefined,
    cancelled: "cancelled: nothing was removed",
    done: "kadalustorage.kadalu-operator.storage/pool1 deleted",
  },
  "option-reset": {
    args: ["option-reset", "pool1", "--all"],
    question: 'Remove the option of pool "pool1"?',
    setup: (cluster) => seedPool(cluster, [{ key: "performance.quick-read", value: "on" }]),
    changed: (cluster) => (pool(cluster, "pool1")?.spec.options ?? []).length === 0,
    cancelled: "cancelled: nothing was changed",
    done: 'pool "pool1" has 0 options',
  },
  "remove-archived-pv": {
    args: ["remove-archived-pv", "pool1"],
    question: "Delete the data of this archived PV for good?",
    setup(cluster) {
      const root = join(cluster.dir, "provisioner");
      seedKadaluInfo(cluster.server, {
        "pool1.info": JSON.stringify({ namespace: "kadalu", volname: "pool1", volume_id: "v", type: "Replica1", pvReclaimPolicy: "archive", bricks: [] }),
      });
      seedProvisioner(cluster.server, root);
      writeUpstreamStatDb(root, "pool1", 100 * 1024 ** 3, [["pvc-7", 1024 ** 3]]);
      const prefix = pvPath("subvol", "pvc-7").split("/").slice(0, 3).join("/");
      mkdirSync(archivedDir(cluster), { recursive: true });
      mkdirSync(join(root, "mnt/pool1/info", prefix), { recursive: true });
      writeFileSync(join(root, "mnt/pool1/info", prefix, `${ARCHIVED}.json`), `{"size": ${1024 ** 3}, "path_prefix": "${prefix}"}`);
    },
    changed: (cluster) => !existsSync(archivedDir(cluster)),
    cancelled: "cancelled: nothing was removed",
    done: 'removed 1 archived PV from pool "pool1", freeing 1.0 GiB',
    preview: ARCHIVED,
  },
  uninstall: {
    args: ["uninstall"],
    // The count asked about is the count deleted: what exists, not the whole removal list.
    question: 'Uninstall Kadalu from namespace "kadalu" (18 objects;',
    async setup(cluster) {
      expect((await runCli(["install", "--no-wait", "--kubeconfig", cluster.kubeconfig])).code).toBe(0);
    },
    changed: (cluster) => cluster.server.get("apps/v1", "Deployment", "kadalu", "operator") === undefined,
    cancelled: "cancelled: nothing was deleted",
    done: 'Kadalu uninstalled from namespace "kadalu": 18 objects deleted',
  },
};

/** Writes other than an exec (reading through a pod, as remove-archived-pv lists, is a create of pods/exec). */
export const changes = (cluster: TestCluster): string[] =>
  cluster.server
    .writes()
    .filter((record) => record.subresource !== "exec")
    .map((record) => `${record.verb} ${record.resource}`);
