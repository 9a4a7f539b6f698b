/** The kadalu-csi binary, the Gluster mount command line, and usage written to KadaluStorage status. */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildExternalInfo, buildNativeInfo, encodeInfo } from "../../../src/core/info/codec.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";
import { startCsi } from "../../../csi/main.js";
import { glusterMountArgs } from "../../../csi/os/mounter.js";
import { csiClient } from "../../../harness/helpers/csi-client.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const BIN = fileURLToPath(new URL("../../../bin/kadalu-csi", import.meta.url));

/** SIGTERM, then wait for the exit (its background work touches the directory the test removes next). */
async function stopChild(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  // A driver that does not stop within the bound is killed: no test leaves a process behind.
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(killer);
}
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-csi-proc-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("kadalu-csi binary", () => {
  it("serves on the socket from --endpoint with --pool-dir pools, replacing a stale socket", async () => {
    const socket = join(dir, "csi.sock");
    mkdirSync(join(dir, "p1"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(socket, "stale");
    const child = spawn(
      process.execPath,
      [
        BIN,
        "--endpoint",
        `unix://${socket}`,
        "--node-id",
        "n1",
        "--role",
        "provisioner",
        "--pool-dir",
        `pool1=${join(dir, "p1")}`,
        "--info-dir",
        join(dir, "none"),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        let text = "";
        child.stdout.on("data", (chunk) => {
          text += chunk;
          if (text.includes("serving on")) resolve(text);
        });
        child.on("exit", (code) => reject(new Error(`exited ${code}`)));
      });
      expect(output).toMatch(/kadalu-csi 0\.1\.0 \(provisioner\) serving on unix:\/\//);
      const client = csiClient(`unix://${socket}`);
      expect((await client.identity("Probe")).ready).toEqual({ value: true });
      const { volume } = await client.controller("CreateVolume", {
        name: "pvc-1",
        capacity_range: { required_bytes: 1024 },
        volume_capabilities: [{ mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
        parameters: {},
      });
      expect(volume.volume_context.hostvol).toBe("pool1");
      expect(existsSync(join(dir, "p1/subvol/d3/d3/pvc-1"))).toBe(true);
      client.close();
    } finally {
      await stopChild(child);
    }
  });

  it("says what is missing when started without an endpoint", async () => {
    const child = spawn(process.execPath, [BIN, "--role", "provisioner"], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toBe("error: --endpoint (or CSI_ENDPOINT) is required, e.g. unix:///plugin/csi.sock\n");
  });
});

describe("quota xattrs", () => {
  it("are logged, not fatal, where they cannot be set", async () => {
    const { setQuota } = await import("../../../csi/os/xattr.js");
    const logged: string[] = [];
    expect(await setQuota(join(dir, "missing"), 5, (message) => logged.push(message))).toBe(false);
    expect(logged).toEqual([expect.stringMatching(/^quota xattrs not set on .*missing: .*No such file or directory/)]);
    mkdirSync(join(dir, "present"));
    // trusted.* needs root: as root they are set, otherwise refused (EPERM) and logged.
    const root = process.getuid?.() === 0;
    expect(await setQuota(join(dir, "present"), 5, (message) => logged.push(message))).toBe(root);
    expect(logged).toHaveLength(root ? 1 : 2);
  });
});

describe("Gluster mount command line (upstream's)", () => {
  const resource = (spec: KadaluStorage["spec"]): KadaluStorage => ({
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool1" },
    spec,
  });
  it("mounts native pools from every brick, with simple-quota's client pid and write-behind held until sync in the provisioner", () => {
    const info = buildNativeInfo(resource({ type: "Replica3", storage: ["a", "b", "c"].map((node) => ({ node, device: "/dev/sdb" })) }), {
      namespace: "kadalu",
      kadaluVersion: "x",
      volumeId: "v",
    });
    expect(glusterMountArgs(info, "/mnt/pool1", "provisioner")).toEqual([
      "--process-name",
      "fuse",
      "-l",
      "/var/log/gluster/gluster.log",
      "--volfile-id",
      "pool1",
      "--fs-display-name",
      "kadalu:pool1",
      "--client-pid",
      "-14",
      "--xlator-option=pool1-write-behind.trickling-writes=off",
      "--volfile-server",
      "server-pool1-0-0.pool1",
      "--volfile-server",
      "server-pool1-1-0.pool1",
      "--volfile-server",
      "server-pool1-2-0.pool1",
      "/mnt/pool1",
    ]);
    const nodeplugin = glusterMountArgs(info, "/mnt/pool1", "nodeplugin");
    expect(nodeplugin).not.toContain("--client-pid");
    expect(nodeplugin.filter((arg) => arg.startsWith("--xlator-option"))).toEqual([]);
  });

  it("mounts External pools by their Gluster volume, hosts and options", () => {
    const info = buildExternalInfo(
      resource({ type: "External", storage: [], details: { gluster_hosts: ["g1", "g2"], gluster_volname: "gv0", gluster_options: "log-level=DEBUG" } }),
      "v",
    );
    expect(glusterMountArgs(info, "/mnt/pool1", "nodeplugin")).toEqual([
      "--process-name",
      "fuse",
      "-l",
      "/var/log/gluster/gluster.log",
      "--volfile-id",
      "gv0",
      "--volfile-server",
      "g1",
      "--volfile-server",
      "g2",
      "--log-level=DEBUG",
      "/mnt/pool1",
    ]);
  });

  it("never hands the privileged client an option outside the documented list, whoever wrote kadalu-info", () => {
    const info = buildExternalInfo(
      resource({ type: "External", storage: [], details: { gluster_hosts: ["g1"], gluster_volname: "gv0", gluster_options: "volfile=/tmp/evil" } }),
      "v",
    );
    expect(() => glusterMountArgs(info, "/mnt/pool1", "nodeplugin")).toThrow(
      'External pool pool1 cannot be mounted: gluster option "volfile=/tmp/evil" is not one of the client options',
    );
  });
});

describe("usage in KadaluStorage status", () => {
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await startCluster();
  });
  afterEach(async () => {
    await cluster.stop();
  });

  it("is written after creates, rate-limited, without touching the operator's fields", async () => {
    cluster.server.seed({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
    });
    cluster.server.setStatus("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1", { state: "ready" });
    mkdirSync(join(dir, "p1"));
    const running = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "n1",
        role: "provisioner",
        infoDir: join(dir, "info"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map([["pool1", join(dir, "p1")]]),
        kubeconfig: cluster.kubeconfig,
        usageDelayMs: 200,
      },
      () => undefined,
    );
    const client = csiClient(`unix://${join(dir, "csi.sock")}`);
    try {
      for (const i of [1, 2, 3])
        await client.controller("CreateVolume", {
          name: `pvc-${i}`,
          capacity_range: { required_bytes: i * 1024 ** 3 },
          volume_capabilities: [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }],
          parameters: {},
        });
      await running.usage!.flush();
      const status = cluster.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")!.status;
      expect(status.state).toBe("ready");
      expect(status.usage).toMatchObject({ provisionedBytes: 6 * 1024 ** 3, provisioned: "6.0 GiB", pvCount: 3 });
      expect(status.usage.capacityBytes).toBeGreaterThan(0);
      expect(cluster.server.writes().filter((r) => r.subresource === "status")).toHaveLength(1);
      const { allows, PROVISIONER_CLUSTER_RULES } = await import("../../../src/core/manifests/rbac.js");
      const calls = cluster.server.requests
        .filter((r) => r.resource === "kadalustorages")
        .map((r) => ({ group: "kadalu-operator.storage", resource: r.subresource ? `kadalustorages/${r.subresource}` : "kadalustorages", verb: r.verb }));
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.filter((call) => !allows(PROVISIONER_CLUSTER_RULES, call))).toEqual([]);
    } finally {
      client.close();
      await running.stop();
    }
  });
});

describe("a pool the mounted kadalu-info does not have yet", () => {
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await startCluster();
  });
  afterEach(async () => {
    await cluster.stop();
  });

  it("is read from the API at once, with the one get the provisioner's Role allows: mounted, its usage reported, its PVs made; an unknown pool stays retryable", async () => {
    const pool: KadaluStorage = {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "fresh", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
    };
    cluster.server.seed(pool);
    cluster.server.setStatus("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "fresh", { state: "ready" });
    cluster.server.seed({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kadalu-info", namespace: "kadalu" },
      data: { "fresh.info": encodeInfo(buildNativeInfo(pool, { namespace: "kadalu", kadaluVersion: "x", volumeId: "v1" })) },
    });
    // The volume as the kubelet has it before its next sync: mounted, without the new pool.
    mkdirSync(join(dir, "info"));
    mkdirSync(join(dir, "pools", "fresh"), { recursive: true });
    const running = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "n1",
        role: "provisioner",
        infoDir: join(dir, "info"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map(),
        poolRoot: join(dir, "pools"),
        kubeconfig: cluster.kubeconfig,
        remountMs: 60_000,
        usageDelayMs: 100,
      },
      () => undefined,
    );
    const client = csiClient(`unix://${join(dir, "csi.sock")}`);
    const create = (name: string, storage: string) =>
      client.controller("CreateVolume", {
        name,
        capacity_range: { required_bytes: 1024 ** 2 },
        volume_capabilities: [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }],
        parameters: { storage_name: storage },
      });
    try {
      // What `storage-add --wait` waits for: the provisioner mounted the pool and wrote its usage, long before the next remount round.
      const started = Date.now();
      while (!cluster.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "fresh")!.status.usage && Date.now() - started < 10_000)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(cluster.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "fresh")!.status.usage).toMatchObject({ pvCount: 0 });
      const created: any = await create("pvc-1", "fresh");
      expect(created.volume).toMatchObject({ volume_id: "pvc-1", volume_context: { hostvol: "fresh", type: "Replica1" } });
      expect(existsSync(join(dir, "pools", "fresh", created.volume.volume_context.path))).toBe(true);
      await expect(create("pvc-2", "nosuch")).rejects.toMatchObject({
        code: 14,
        details: expect.stringContaining("pool nosuch is not in kadalu-info yet; pools: fresh"),
      });
      const { allows, PROVISIONER_NAMESPACE_RULES } = await import("../../../src/core/manifests/rbac.js");
      const reads = cluster.server.requests.filter((r) => r.resource === "configmaps");
      expect(new Set(reads.map((r) => `${r.verb} ${r.namespace}/${r.name}`))).toEqual(new Set(["get kadalu/kadalu-info"]));
      expect(reads.filter((r) => !allows(PROVISIONER_NAMESPACE_RULES, { group: "", resource: "configmaps", verb: r.verb, name: r.name }))).toEqual([]);
    } finally {
      client.close();
      await running.stop();
    }
  });
  it("reaches the nodeplugin too: a pod's volume on the new pool is published at once, with the one get its Role allows", async () => {
    const pool: KadaluStorage = {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "fresh", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
    };
    cluster.server.seed({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kadalu-info", namespace: "kadalu" },
      data: { "fresh.info": encodeInfo(buildNativeInfo(pool, { namespace: "kadalu", kadaluVersion: "x", volumeId: "v1" })) },
    });
    mkdirSync(join(dir, "info"));
    mkdirSync(join(dir, "pools", "fresh", "subvol", "ab", "cd", "pvc-1"), { recursive: true });
    const running = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "n1",
        role: "nodeplugin",
        infoDir: join(dir, "info"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map(),
        poolRoot: join(dir, "pools"),
        kubeconfig: cluster.kubeconfig,
        kubeletDir: join(dir, "kubelet"),
      },
      () => undefined,
    );
    const client = csiClient(`unix://${join(dir, "csi.sock")}`);
    const publish = (hostvol: string) =>
      client.node("NodePublishVolume", {
        volume_id: "pvc-1",
        target_path: join(dir, "kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-1/mount"),
        volume_capability: { mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } },
        volume_context: { hostvol, type: "Replica1", path: "subvol/ab/cd/pvc-1", pvtype: "subvol" },
      });
    try {
      await publish("fresh");
      expect(readlinkSync(join(dir, "kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-1/mount"))).toBe(
        join(dir, "pools", "fresh", "subvol", "ab", "cd", "pvc-1"),
      );
      await expect(publish("nosuch")).rejects.toMatchObject({ code: 5, details: expect.stringContaining("pool nosuch is not known on this node") });
      const { allows, NODEPLUGIN_NAMESPACE_RULES } = await import("../../../src/core/manifests/rbac.js");
      const requests = cluster.server.requests.filter((r) => r.resource);
      expect(requests.map((r) => `${r.verb} ${r.resource} ${r.namespace}/${r.name}`)).toEqual([
        "get configmaps kadalu/kadalu-info",
        "get configmaps kadalu/kadalu-info",
      ]);
      expect(requests.filter((r) => !allows(NODEPLUGIN_NAMESPACE_RULES, { group: "", resource: r.resource!, verb: r.verb, name: r.name }))).toEqual([]);
    } finally {
      client.close();
      await running.stop();
    }
  });
});

describe("waiting for a Gluster server", () => {
  it("returns once a host answers, and names every host tried when none does within the bound", async () => {
    const { createServer } = await import("node:net");
    const { waitForServer } = await import("../../../csi/os/mounter.js");
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const port = (server.address() as { port: number }).port;
    await waitForServer(["127.0.0.1"], port, 1000);
    server.close();
    await new Promise((resolve) => server.once("close", resolve));
    const started = Date.now();
    await expect(waitForServer(["127.0.0.1", "localhost"], port, 600)).rejects.toThrow(
      `no Gluster server answered on port ${port} of 127.0.0.1, localhost within 1s`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("kill -9 during a burst of creates", () => {
  it("holds stat.db while busy, lets another writer in once idle, counts what that writer changed, and never remakes it empty", async () => {
    const pool = join(dir, "p1");
    mkdirSync(pool);
    const socket = join(dir, "csi.sock");
    const child = spawn(
      process.execPath,
      [
        BIN,
        "--endpoint",
        `unix://${socket}`,
        "--node-id",
        "n1",
        "--role",
        "provisioner",
        "--pool-dir",
        `pool1=${pool}`,
        "--info-dir",
        join(dir, "none"),
        "--stat-db-hold-ms",
        "1500",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let text = "";
      child.stdout!.on("data", (chunk) => (text += chunk));
      const deadline = Date.now() + 10_000;
      while (!text.includes("serving on") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const client = csiClient(`unix://${socket}`);
      const caps = [{ mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }];
      await client.controller("CreateVolume", { name: "pvc-1", capacity_range: { required_bytes: 1024 ** 3 }, volume_capabilities: caps, parameters: {} });
      const free = Number((await client.controller("GetCapacity", { parameters: {} })).available_capacity);
      const Database = (await import("better-sqlite3")).default;
      // Busy: another writer that will not wait is refused.
      const impatient = new Database(join(pool, "stat.db"), { timeout: 0 });
      expect(() => impatient.prepare("DELETE FROM pv_stats WHERE pvname = 'pvc-1'").run()).toThrow(/database is locked/);
      impatient.close();
      // Idle: one that waits gets its turn (as upstream's `sqlite3` in the provisioner, or `kadalu-csi archived`).
      const patient = new Database(join(pool, "stat.db"), { timeout: 10_000 });
      expect(patient.prepare("DELETE FROM pv_stats WHERE pvname = 'pvc-1'").run().changes).toBe(1);
      patient.close();
      // The provisioner sees the row gone: 1 GiB more is free (90% of it, by the capacity rule).
      const after = Number((await client.controller("GetCapacity", { parameters: {} })).available_capacity);
      expect(after - free).toBeGreaterThan(0.85 * 1024 ** 3);
      expect(after - free).toBeLessThan(0.95 * 1024 ** 3);
      // Removed while idle, it is not made again empty (every row lost without a word): the call says so.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      rmSync(join(pool, "stat.db"));
      await expect(
        client.controller("CreateVolume", { name: "pvc-2", capacity_range: { required_bytes: 1024 ** 3 }, volume_capabilities: caps, parameters: {} }),
      ).rejects.toThrow(/stat\.db is gone since it was last open; restart the provisioner's pod to rebuild it from the PVs' metadata/);
      expect(existsSync(join(pool, "stat.db"))).toBe(false);
      client.close();
    } finally {
      await stopChild(child);
    }
  });

  it("leaves no PV without its stat.db row once the provisioner has started again", async () => {
    const pool = join(dir, "p1");
    mkdirSync(pool);
    const socket = join(dir, "csi.sock");
    const args = [
      BIN,
      "--endpoint",
      `unix://${socket}`,
      "--node-id",
      "n1",
      "--role",
      "provisioner",
      "--pool-dir",
      `pool1=${pool}`,
      "--info-dir",
      join(dir, "none"),
    ];
    const serve = async (): Promise<{ child: ReturnType<typeof spawn>; output: () => string }> => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout!.on("data", (chunk) => (text += chunk));
      const deadline = Date.now() + 10_000;
      while (!text.includes("serving on") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return { child, output: () => text };
    };
    const first = await serve();
    const client = csiClient(`unix://${socket}`);
    const caps = [{ mount: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }];
    let done = 0;
    const burst = Array.from({ length: 300 }, (_, i) =>
      client.controller("CreateVolume", { name: `pvc-${i}`, capacity_range: { required_bytes: 1024 }, volume_capabilities: caps, parameters: {} }).then(
        () => (done += 1),
        () => undefined,
      ),
    );
    // Killed in the middle of the burst: some acknowledged, some half done, some never started.
    const until = Date.now() + 10_000;
    while (done < 20 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
    first.child.kill("SIGKILL");
    await Promise.all(burst);
    client.close();
    const second = await serve();
    try {
      // Starting repairs the pool; what the metadata names, stat.db accounts for.
      const deadline = Date.now() + 5000;
      while (!second.output().includes("serving on") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const again = csiClient(`unix://${socket}`);
      await again.controller("GetCapacity", { parameters: {} });
      again.close();
      const { readdirSync } = await import("node:fs");
      const { StatDb } = await import("../../../src/statdb/stat-db.js");
      const named = readdirSync(join(pool, "info/subvol"), { recursive: true })
        .map(String)
        .filter((file) => file.endsWith(".json"))
        .map((file) => file.split("/").pop()!.slice(0, -5))
        .sort();
      const db = StatDb.open(join(pool, "stat.db"), { readonly: true });
      const rows = db
        .listPvs()
        .map((row) => row.pvname)
        .sort();
      db.close();
      expect(named.length, "some creates finished before the kill").toBeGreaterThan(0);
      expect(rows, second.output()).toEqual(named);
    } finally {
      await stopChild(second.child);
    }
  });
});
