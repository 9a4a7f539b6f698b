/**
 * Switching an upstream Kadalu 1.2.0 cluster over, on real components: upstream's published manifests
 * and what its operator creates (test/fixtures/upstream-1.2.0, rendered from upstream's templates) in a
 * real kube-apiserver with the real workload controllers; PVs of every kind written in upstream's layout
 * on real GlusterFS volumes (a Replica3 pool with a subvol, a virtblock and a rawblock PV, an External
 * pool, a single-PV External pool); heal reports from the real Gluster. `install --upgrade` refuses while
 * a brick is down, then switches over restarting brick pods one at a time, and every PV is published,
 * grown and deleted by this plugin's driver afterwards.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { parseAllDocuments } from "yaml";
import { encodePvMetadata, pvMetadataPath, pvPath, pvPrefix, type PvType } from "../../src/core/pv-layout.js";
import { pendingHeals } from "../../src/core/upgrade/switch-over.js";
import { csiClient, type CsiClient } from "../../harness/helpers/csi-client.js";
import { writeUpstreamStatDb } from "../../harness/helpers/pools.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { BRICK_ADDRESS, Glusterd } from "../../harness/real/gluster.js";
import { BIN, kadalu, startOperator, startProvisioner, type CliResult, type RunningProvisioner } from "../../harness/real/kadalu.js";
import { startContained, type Contained } from "../../harness/real/namespace.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { Processes, waitUntil, type Started } from "../../harness/real/processes.js";
import { stepper } from "../../harness/real/steps.js";
import { glusterfs, kubernetes, noGluster, noKubernetes } from "../../harness/real/tier.js";

const NODES = ["kube1", "kube2", "kube3"];
const HOSTS = Object.fromEntries([0, 1, 2].map((index) => [`server-pool1-${index}-0.pool1`, BRICK_ADDRESS]));
const MiB = 1024 ** 2;
const KUBELET = "/mnt/kubelet";
const SERVER_PODS = [0, 1, 2].map((index) => `server-pool1-${index}-0`);
const upstream = parseAllDocuments(readFileSync(new URL("../fixtures/upstream-1.2.0/cluster.yaml", import.meta.url), "utf8"))
  .map((doc) => doc.toJS())
  .filter(Boolean);

/** Where the API serves each kind the fixture holds. */
function collection(object: { apiVersion: string; kind: string; metadata: { namespace?: string } }): string {
  const plural = {
    CustomResourceDefinition: "customresourcedefinitions",
    Namespace: "namespaces",
    ServiceAccount: "serviceaccounts",
    ClusterRole: "clusterroles",
    ClusterRoleBinding: "clusterrolebindings",
    Role: "roles",
    RoleBinding: "rolebindings",
    Deployment: "deployments",
    DaemonSet: "daemonsets",
    StatefulSet: "statefulsets",
    CSIDriver: "csidrivers",
    ConfigMap: "configmaps",
    KadaluStorage: "kadalustorages",
    Service: "services",
    StorageClass: "storageclasses",
    PersistentVolume: "persistentvolumes",
    PersistentVolumeClaim: "persistentvolumeclaims",
    Pod: "pods",
  }[object.kind]!;
  const base = object.apiVersion === "v1" ? "/api/v1" : `/apis/${object.apiVersion}`;
  // Upstream's manifests give some cluster-wide objects a namespace; the API ignores it there (kubectl does too).
  const clusterWide = ["CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver", "StorageClass", "PersistentVolume"].includes(
    object.kind,
  );
  return `${base}${object.metadata.namespace && !clusterWide ? `/namespaces/${object.metadata.namespace}` : ""}/${plural}`;
}

/** The upstream PVs: name, kind, size, pool. */
const PVS: { name: string; pvtype: PvType; size: number; pool: string }[] = [
  { name: "pvc-sub", pvtype: "subvol", size: 64 * MiB, pool: "pool1" },
  { name: "pvc-virt", pvtype: "virtblock", size: 320 * MiB, pool: "pool1" },
  { name: "pvc-raw", pvtype: "rawblock", size: 64 * MiB, pool: "pool1" },
  { name: "pvc-ext", pvtype: "subvol", size: 64 * MiB, pool: "ext1" },
];

/** The volume context upstream's provisioner returned for each (csi/controllerserver.py). */
function upstreamContext(pv: (typeof PVS)[number]): Record<string, string> {
  const external = pv.pool !== "pool1";
  return {
    type: external ? "External" : "Replica3",
    hostvol: pv.pool,
    pvtype: pv.pvtype,
    path: pvPath(pv.pvtype, pv.name),
    fstype: "xfs",
    single_pv_per_pool: "False",
    ...(external ? { gvolname: pv.pool, gserver: "127.0.0.2", options: "" } : {}),
  };
}

describe.skipIf(noKubernetes || noGluster)("switching an upstream 1.2.0 cluster over, on real components", () => {
  let scratch: string;
  let cluster: RealCluster;
  let agent: NodeAgent;
  let gluster: Glusterd;
  let bricks: string[];
  let processes: Processes;
  let operator: Started | undefined;
  let provisioner: RunningProvisioner | undefined;
  let nodeplugin: Contained;
  let controller: CsiClient;
  let node: CsiClient;
  const cli = (...args: string[]): Promise<CliResult> => kadalu(cluster.adminKubeconfig, args);
  const pods = async (): Promise<any[]> => (await cluster.admin.get("/api/v1/namespaces/kadalu/pods")).items;
  const ready = (pod: any): boolean =>
    pod?.status?.phase === "Running" && !pod.metadata.deletionTimestamp && pod.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
  const healReport = (): Promise<string> => gluster.healInfo("pool1");
  const published = new Set<string>();
  const step = stepper(240_000);

  /** Writes what upstream's provisioner left on each volume, through a FUSE mount in a namespace of its own. */
  async function writeUpstreamVolumes(): Promise<void> {
    const writer = startContained(processes, "upstream-writer", scratch, HOSTS, "sleep", ["3600"]);
    const sh = (script: string, ...args: string[]) => writer.exec(["sh", "-c", script, "sh", ...args]);
    try {
      await waitUntil(
        "the writer's namespace",
        () =>
          writer.exec(["true"]).then(
            () => true,
            () => undefined,
          ),
        10_000,
      );
      for (const volume of ["pool1", "ext1", "sp1"]) {
        await sh('mkdir -p "$2" && "$3" --volfile-server=127.0.0.2 --volfile-id="$1" "$2"', volume, `/mnt/${volume}`, glusterfs!.glusterfs);
        await waitUntil(`${volume} mounted`, async () => (await sh('stat -f -c %T "$1"', `/mnt/${volume}`)).stdout.includes("fuse") || undefined, 20_000);
      }
      for (const pv of PVS) {
        const root = `/mnt/${pv.pool}`;
        const path = `${root}/${pvPath(pv.pvtype, pv.name)}`;
        const metadata = `${root}/${pvMetadataPath(pv.pvtype, pv.name)}`;
        await sh(
          'mkdir -p "$(dirname "$1")" "$(dirname "$2")" && printf %s "$3" > "$2"',
          path,
          metadata,
          encodePvMetadata(pv.size, pvPrefix(pv.pvtype, pv.name)),
        );
        if (pv.pvtype === "subvol") await sh('mkdir -p "$1" && echo "written by upstream" > "$1/marker"', path);
        if (pv.pvtype === "virtblock") await sh('truncate -s "$2" "$1" && mkfs.xfs -q "$1"', path, String(pv.size));
        if (pv.pvtype === "rawblock")
          await sh('truncate -s "$2" "$1" && printf "upstream raw block" | dd of="$1" bs=512 seek=8 conv=notrunc status=none', path, String(pv.size));
      }
      for (const volume of ["pool1", "ext1"]) {
        const rows = PVS.filter((pv) => pv.pool === volume).map((pv): [string, number] => [pv.name, pv.size]);
        const file = writeUpstreamStatDb(join(scratch, `statdb-${volume}`), volume, 10 * 1024 ** 3, rows);
        await writer.exec(["cp", file, `/mnt/${volume}/stat.db`]);
      }
      await sh('echo "the whole volume is one PV" > /mnt/sp1/marker');
      for (const volume of ["pool1", "ext1", "sp1"]) await writer.exec(["umount", `/mnt/${volume}`]);
    } finally {
      await processes.stop(writer.process);
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "kadalu-switch-over-"));
    processes = new Processes(scratch);
    cluster = await startRealCluster(kubernetes!);
    agent = await NodeAgent.start(cluster.admin, NODES, ["kadalu", "default"]);
    gluster = await Glusterd.start(glusterfs!, join(scratch, "gluster"));
    bricks = await gluster.createReplica3("pool1");
    await gluster.createVolume("ext1", 1, 1);
    await gluster.createVolume("sp1", 1, 1);
    await writeUpstreamVolumes();
    // Upstream's objects as `kubectl apply` (its users, and its operator) made them.
    for (const object of upstream) {
      await cluster.admin.post(`${collection(object)}?fieldManager=kubectl-client-side-apply`, object);
      if (object.kind === "CustomResourceDefinition") {
        await waitUntil(
          "upstream's CRD to be established",
          async () =>
            (await cluster.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${object.metadata.name}`)).status?.conditions?.some(
              (c: any) => c.type === "Established" && c.status === "True",
            ) || undefined,
          30_000,
          200,
        );
      }
    }
    // A PVC of upstream's subvol PV, used by a pod on kube2: what the preflight lists as in use.
    const pv = PVS[0]!;
    await cluster.admin.post("/api/v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: pv.name },
      spec: {
        capacity: { storage: "64Mi" },
        accessModes: ["ReadWriteMany"],
        storageClassName: "kadalu.pool1",
        persistentVolumeReclaimPolicy: "Delete",
        claimRef: { namespace: "default", name: "data" },
        csi: { driver: "kadalu", volumeHandle: pv.name, volumeAttributes: upstreamContext(pv) },
      },
    });
    await cluster.admin.post("/api/v1/namespaces/default/persistentvolumeclaims", {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data" },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], volumeName: pv.name, resources: { requests: { storage: "64Mi" } } },
    });
    await cluster.admin.post("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "app" },
      spec: {
        nodeName: "kube2",
        containers: [{ name: "app", image: "example.invalid/app:1" }],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
      },
    });
    // The brick pods answer `heal-info.sh` with the real glfsheal's report, as upstream's script gives it.
    for (const name of SERVER_PODS) {
      agent.onExec("kadalu", name, "server", async (context) => {
        if (context.command[0] !== "/kadalu/heal-info.sh" || !context.command[1]) return 127;
        try {
          context.stdout.write(await gluster.healInfo(context.command[1]));
          return 0;
        } catch (error) {
          context.stderr.write(`${(error as Error).message}\n`);
          return 1;
        }
      });
    }
    await waitUntil("upstream's pods to run", async () => (await pods()).filter(ready).length >= 8 || undefined, 90_000, 300);
  }, 300_000);

  afterAll(async () => {
    // A step that failed half way may have left a PV published: its loop device would outlive the test.
    for (const target of published) await node?.node("NodeUnpublishVolume", { volume_id: "any", target_path: target }).catch(() => undefined);
    controller?.close();
    node?.close();
    await processes?.stopAll();
    await provisioner?.stop();
    await agent?.stop();
    await cluster?.stop();
    await gluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  step("without --upgrade, install names the upstream version it found and changes nothing", async () => {
    const refused = await cli("install", "--no-wait");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: Kadalu 1\.2\.0 is installed in namespace "kadalu" and this plugin is [\w.-]+; run again with --upgrade/);
  });

  step("with a brick down the preflight shows the plan, refuses naming the override, and changes nothing", async () => {
    const brick = bricks[1]!;
    const pid = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .find((entry) => {
        try {
          const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
          return cmdline.includes("glusterfsd") && cmdline.includes(brick);
        } catch {
          return false;
        }
      });
    expect(pid, "the brick process of the second brick").toBeDefined();
    process.kill(Number(pid), "SIGKILL");
    await waitUntil("the heal report to miss a brick", async () => /Number of entries: -/.test(await healReport()) || undefined, 20_000, 300);
    const refused = await cli("install", "--upgrade", "--no-wait");
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout, refused.stderr).toContain("Switch-over preflight\n");
    expect(refused.stdout).toContain("    - Kadalu 1.2.0 -> ");
    expect(refused.stdout).toContain("    - statefulset/kadalu-csi-provisioner: containers csi-attacher, kadalu-logging removed\n");
    expect(refused.stdout).toContain("    - daemonset/kadalu-csi-nodeplugin: containers kadalu-logging removed\n");
    expect(refused.stdout).toContain("    - clusterrole/kadalu-csi-external-attacher: deleted (upstream's RBAC for sidecars this plugin does not run)\n");
    expect(refused.stdout).toContain(
      "    - pool pool1: brick pods server-pool1-0-0, server-pool1-1-0, server-pool1-2-0: one at a time, each after the one before is ready and its heals are done\n",
    );
    expect(refused.stdout).toContain("    - node kube2: default/app (pvc-sub, claim data)\n");
    expect(refused.stdout).toMatch(
      / {4}- pool pool1: heals could not be checked: \/kadalu\/heal-info\.sh in server-pool1-0-0 \(exit \d+\) gave no count for every brick: .* \[--allow-unsafe pending-heals\]\n/,
    );
    expect(refused.stderr).toMatch(
      /^error: not switching over while pool pool1: heals could not be checked: .*, or run again with --allow-unsafe pending-heals\n$/,
    );
    const operatorDeployment = await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/deployments/operator");
    expect(operatorDeployment.spec.selector.matchLabels).toEqual({ name: "kadalu" });
    // The brick comes back; Gluster heals what it missed.
    await waitUntil(
      "pool1 to have no heal pending",
      async () => {
        const report = await healReport();
        if (pendingHeals(report) === 0) return true;
        // glusterd may not have noticed the brick died yet: start it until it runs.
        if (/Number of entries: -/.test(report)) await gluster.cli(["volume", "start", "pool1", "force"]);
        throw new Error(`${report}\n${await gluster.cli(["volume", "status", "pool1"])}`);
      },
      60_000,
      1000,
    );
  });

  step("install --upgrade switches over: leftovers gone, bricks restarted one at a time after heals, pools kept", async () => {
    const running = cli("install", "--upgrade", "--no-wait", "--timeout", "3m");
    // This plugin's operator runs once its Deployment is there (pods do not run on this tier: it is a local process).
    await waitUntil(
      "this plugin's operator Deployment",
      async () =>
        (await cluster.admin.find("/apis/apps/v1/namespaces/kadalu/deployments/operator"))?.spec.selector.matchLabels?.["app.kubernetes.io/name"] ===
          "kadalu-operator" || undefined,
      60_000,
      200,
    );
    operator = await startOperator(cluster);
    // Never two brick pods of the replica set down at once.
    let worst = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        const live = new Map((await pods()).map((pod) => [pod.metadata.name, pod]));
        worst = Math.max(worst, SERVER_PODS.filter((name) => !ready(live.get(name))).length);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const result = await running.finally(() => (done = true));
    await watching;
    expect(result.code, `${result.stderr}\n${operator.tail(30)}`).toBe(0);
    expect(result.stdout).toMatch(/\n3 brick pods of 1 pool restarted one at a time in [\d.]+ ?m?s\n$/);
    expect(worst).toBe(1);
    const restarted = result.stderr.split("\n").filter((line) => /^pod\/server-pool1-\d-0 deleted$/.test(line));
    expect(restarted).toEqual(SERVER_PODS.map((name) => `pod/${name} deleted`));
    expect(result.stderr).toContain("clusterrolebinding/kadalu-csi-external-resizer deleted");
    for (const name of ["kadalu-csi-external-attacher", "kadalu-csi-external-provisioner", "kadalu-csi-external-resizer"]) {
      expect(await cluster.admin.find(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`)).toBeUndefined();
    }
    const provisionerSet = await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/statefulsets/kadalu-csi-provisioner");
    expect(provisionerSet.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["csi-provisioner", "csi-resizer", "kadalu-provisioner"]);
    const nodepluginSet = await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/daemonsets/kadalu-csi-nodeplugin");
    expect(nodepluginSet.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["csi-node-driver-registrar", "kadalu-nodeplugin"]);
    for (const index of [0, 1, 2]) {
      const set = await cluster.admin.get(`/apis/apps/v1/namespaces/kadalu/statefulsets/server-pool1-${index}`);
      expect(set.spec.updateStrategy.type).toBe("OnDelete");
      const pod = await cluster.admin.get(`/api/v1/namespaces/kadalu/pods/server-pool1-${index}-0`);
      expect(pod.metadata.labels["controller-revision-hash"]).toBe(set.status.updateRevision);
    }
    // The pools are upstream's still: same volume ids, the External ones untouched.
    const info = (await cluster.admin.get("/api/v1/namespaces/kadalu/configmaps/kadalu-info")).data;
    expect(JSON.parse(info["pool1.info"]).volume_id).toBe("5f0c1a8e-9c55-4a38-a6a4-1d6f5f0e1a01");
    expect(JSON.parse(info["ext1.info"])).toMatchObject({ type: "External", gluster_hosts: "127.0.0.2", gluster_volname: "ext1", single_pv_per_pool: false });
    expect(JSON.parse(info["sp1.info"])).toMatchObject({ type: "External", single_pv_per_pool: true });
    await waitUntil(
      "pool1 ready with its 3 bricks",
      async () =>
        (await cluster.admin.get("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1")).status?.state === "ready" || undefined,
      60_000,
      300,
    );
    // A second run finds nothing to do.
    const again = await cli("install", "--upgrade", "--no-wait");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to change");
  });

  step("every upstream PV is published, grown and deleted by this plugin's driver", async () => {
    provisioner = await startProvisioner(cluster, kubernetes!, agent, HOSTS);
    const infoDir = join(cluster.dir, "kadalu-info");
    await waitUntil("kadalu-info in the provisioner's volume", () => existsSync(join(infoDir, "sp1.info")) || undefined, 20_000, 200);
    const socket = join(scratch, "nodeplugin.sock");
    nodeplugin = startContained(processes, "kadalu-nodeplugin", scratch, HOSTS, process.execPath, [
      BIN.csi,
      "--endpoint",
      `unix://${socket}`,
      "--node-id",
      "kube2",
      "--role",
      "nodeplugin",
      "--info-dir",
      infoDir,
      "--kubelet-dir",
      KUBELET,
    ]);
    await waitUntil(`the nodeplugin to serve\n${nodeplugin.process.tail()}`, () => nodeplugin.process.tail(200).includes("serving on") || undefined, 30_000);
    controller = csiClient(`unix://${provisioner.socket}`);
    node = csiClient(`unix://${socket}`);
    const publish = async (request: { volume_id: string; target_path: string; [field: string]: unknown }) => {
      published.add(request.target_path);
      return node.node("NodePublishVolume", request);
    };
    const inside = async (script: string, ...args: string[]): Promise<string> => (await nodeplugin.exec(["sh", "-c", script, "sh", ...args])).stdout;
    const mount = (mode: string) => ({ mount: {}, access_mode: { mode } });
    const BLOCK = { block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } };

    const list = await cli("storage-list", "--status", "-o", "wide");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/\npool1\s+Replica3\s+\S+\s+3\s+delete\s+.*\s3\s+0\s+0\s+0 B\s+64\.0 MiB\s+149\.3 MiB\s+320\.0 MiB\s+(\d+[smhd]|-)\s+.+\n/);

    // subvol, on the Replica3 pool and on the External pool: the data upstream wrote is there, and it grows.
    for (const pv of PVS.filter((p) => p.pvtype === "subvol")) {
      const target = `${KUBELET}/pods/app-uid/volumes/kubernetes.io~csi/${pv.name}/mount`;
      await publish({ volume_id: pv.name, target_path: target, volume_capability: mount("MULTI_NODE_MULTI_WRITER"), volume_context: upstreamContext(pv) });
      expect(await inside('cat "$1/marker"', target)).toBe("written by upstream\n");
      const grown = await controller.controller("ControllerExpandVolume", { volume_id: pv.name, capacity_range: { required_bytes: 128 * MiB } });
      expect(grown).toMatchObject({ capacity_bytes: 128 * MiB, node_expansion_required: false });
      await node.node("NodeUnpublishVolume", { volume_id: pv.name, target_path: target });
    }

    // virtblock: upstream's XFS file, loop-mounted, grown on the node.
    const virt = PVS[1]!;
    const virtTarget = `${KUBELET}/pods/app-uid/volumes/kubernetes.io~csi/${virt.name}/mount`;
    await publish({ volume_id: virt.name, target_path: virtTarget, volume_capability: mount("SINGLE_NODE_WRITER"), volume_context: upstreamContext(virt) });
    expect(await inside('findmnt -n -o FSTYPE "$1"', virtTarget)).toBe("xfs\n");
    await controller.controller("ControllerExpandVolume", { volume_id: virt.name, capacity_range: { required_bytes: 512 * MiB } });
    await node.node("NodeExpandVolume", { volume_id: virt.name, volume_path: virtTarget, capacity_range: { required_bytes: 512 * MiB } });
    expect(Number((await inside('df -B1 --output=size "$1" | tail -1', virtTarget)).trim())).toBeGreaterThan(400 * MiB);
    await node.node("NodeUnpublishVolume", { volume_id: virt.name, target_path: virtTarget });

    // rawblock: upstream's file as a loop device; what upstream wrote reads back; it grows.
    const raw = PVS[2]!;
    const rawTarget = `${KUBELET}/plugins/kubernetes.io/csi/volumeDevices/publish/${raw.name}/app-uid`;
    await publish({ volume_id: raw.name, target_path: rawTarget, volume_capability: BLOCK, volume_context: upstreamContext(raw) });
    expect(await inside('dd if="$1" bs=512 skip=8 count=1 status=none | head -c 18', rawTarget)).toBe("upstream raw block");
    await controller.controller("ControllerExpandVolume", { volume_id: raw.name, capacity_range: { required_bytes: 96 * MiB } });
    await node.node("NodeExpandVolume", { volume_id: raw.name, volume_path: rawTarget, capacity_range: { required_bytes: 96 * MiB } });
    expect(await inside('blockdev --getsize64 "$1"', rawTarget)).toBe(`${96 * MiB}\n`);
    await node.node("NodeUnpublishVolume", { volume_id: raw.name, target_path: rawTarget });

    // The single-PV pool: the whole volume, as upstream published it.
    const spTarget = `${KUBELET}/pods/app-uid/volumes/kubernetes.io~csi/sp1-pv/mount`;
    await publish({
      volume_id: "sp1-pv",
      target_path: spTarget,
      volume_capability: mount("MULTI_NODE_MULTI_WRITER"),
      volume_context: {
        type: "External",
        hostvol: "sp1",
        pvtype: "subvol",
        fstype: "xfs",
        single_pv_per_pool: "True",
        gvolname: "sp1",
        gserver: "127.0.0.2",
        options: "",
      },
    });
    expect(await inside('cat "$1/marker"', spTarget)).toBe("the whole volume is one PV\n");
    await node.node("NodeUnpublishVolume", { volume_id: "sp1-pv", target_path: spTarget });

    // Deleted: every file, metadata file and stat.db row of each, on every brick of the Replica3 pool.
    for (const pv of PVS) await controller.controller("DeleteVolume", { volume_id: pv.name });
    for (const brick of bricks) {
      for (const pv of PVS.filter((p) => p.pool === "pool1")) {
        expect(existsSync(join(brick, pvPath(pv.pvtype, pv.name))), `${brick} ${pv.name}`).toBe(false);
        expect(existsSync(join(brick, pvMetadataPath(pv.pvtype, pv.name))), `${brick} ${pv.name} metadata`).toBe(false);
      }
    }
    const after = await cli("storage-list", "--status", "-o", "wide");
    expect(after.stdout).toMatch(/\npool1\s+Replica3\s+\S+\s+3\s+delete\s+.*\s0\s+\d+\s+0\s+0 B\s+-\s+-\s+-\s+(\d+[smhd]|-)\s+.+\n/);
  });
});
