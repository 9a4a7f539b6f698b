/**
 * The user's story on real components: a real kube-apiserver and kube-controller-manager (PV binder and
 * expander, GC, workload controllers), the real csi-provisioner and csi-resizer on the driver's socket,
 * the operator and the CSI provisioner as local processes (each with its own ServiceAccount's token), and
 * a real GlusterFS Replica3 volume as the pool. Pods do not run: the node agent reports them Running.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import {
  allows,
  OPERATOR_CLUSTER_RULES,
  OPERATOR_NAMESPACE_RULES,
  PROVISIONER_CLUSTER_RULES,
  PROVISIONER_NAMESPACE_RULES,
  type PolicyRule,
} from "../../src/core/manifests/rbac.js";
import { StatDb } from "../../src/statdb/stat-db.js";
import type { AuditEvent } from "../../harness/real/cluster.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { Glusterd, BRICK_ADDRESS } from "../../harness/real/gluster.js";
import { ADD_STORY_POOL, kadalu, startOperator, startProvisioner, STORY_NODES, type RunningProvisioner } from "../../harness/real/kadalu.js";
import { NodeAgent } from "../../harness/real/node-agent.js";
import { waitUntil, type Started } from "../../harness/real/processes.js";
import { stepper } from "../../harness/real/steps.js";
import { glusterfs, kubernetes, noGluster, noKubernetes, noPrometheus, prometheus } from "../../harness/real/tier.js";
import { volumeDirectories } from "../../harness/helpers/pools.js";
import { csiClient } from "../../harness/helpers/csi-client.js";
import { podProcessesExec } from "../../harness/helpers/pod-processes.js";
import { ALERT_GROUPS, alertRuleFile } from "../../src/core/metrics/alerts.js";
import { METRICS } from "../../src/core/metrics/catalog.js";
import { dashboardQueries } from "../../harness/metrics/promql.js";
import { promtool, RealPrometheus } from "../../harness/real/prometheus.js";

const UPSTREAM_NAMES = METRICS.filter((spec) => spec.upstream).map((spec) => spec.name);

const NODES = STORY_NODES;
const PVCS: [string, string][] = [
  ["data-small", "500Mi"],
  ["data-medium", "1Gi"],
  ["data-large", "2Gi"],
];
const HOSTS = Object.fromEntries([0, 1, 2].map((index) => [`server-pool1-${index}-0.pool1`, BRICK_ADDRESS]));

describe.skipIf(noKubernetes || noGluster)("the story on a real apiserver, real sidecars and real GlusterFS", () => {
  let cluster: RealCluster;
  let agent: NodeAgent;
  let gluster: Glusterd;
  let bricks: string[];
  let operator: Started & { metricsPort: number };
  let provisioner: RunningProvisioner;
  let scratch: string;
  const pvc = (name: string) => cluster.admin.find(`/api/v1/namespaces/default/persistentvolumeclaims/${name}`);
  const pool = () => cluster.admin.find("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1");
  const statefulSets = async (): Promise<string[]> =>
    (await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/statefulsets")).items.map((s: any) => s.metadata.name).sort();
  const cli = (...args: string[]) => kadalu(cluster.adminKubeconfig, args);
  const step = stepper();

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "kadalu-story-"));
    cluster = await startRealCluster(kubernetes!);
    agent = await NodeAgent.start(cluster.admin, NODES);
    gluster = await Glusterd.start(glusterfs!, join(scratch, "gluster"));
    bricks = await gluster.createReplica3("pool1");
  });
  afterAll(async () => {
    await provisioner?.stop();
    await agent?.stop();
    await cluster?.stop();
    await gluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  step("install: server-side applied, and every component ready", async () => {
    const install = await cli("install", "--wait", "--timeout", "90s");
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain("Kadalu is ready");
    operator = await startOperator(cluster);
    provisioner = await startProvisioner(cluster, kubernetes!, agent, HOSTS);
  });

  step("storage-add: the operator creates the bricks and the pool becomes ready", async () => {
    const add = await cli(...ADD_STORY_POOL);
    expect(add.code, `${add.stderr}\n${operator.tail()}`).toBe(0);
    expect(add.stderr).toContain('storage pool "pool1" is ready (3/3 bricks ready)');
    expect(await statefulSets()).toEqual(["kadalu-csi-provisioner", "server-pool1-0", "server-pool1-1", "server-pool1-2"]);
    const sc = await cluster.admin.get("/apis/storage.k8s.io/v1/storageclasses/kadalu.pool1");
    expect(sc.provisioner).toBe("kadalu");
  });

  step("PVCs are provisioned by the real csi-provisioner and bound by the real PV binder", async () => {
    for (const [name, size] of PVCS) {
      await cluster.admin.post("/api/v1/namespaces/default/persistentvolumeclaims", {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name },
        spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: size } } },
      });
    }
    for (const [name] of PVCS) {
      await waitUntil(
        `PVC ${name} to be Bound\n${provisioner.provisioner.tail()}`,
        async () => (await pvc(name))?.status?.phase === "Bound" || undefined,
        60_000,
        200,
      );
    }
    const claim = await pvc("data-large");
    const pv = await cluster.admin.get(`/api/v1/persistentvolumes/${claim.spec.volumeName}`);
    expect(pv.spec.csi.driver).toBe("kadalu");
    expect(pv.spec.csi.volumeAttributes.hostvol).toBe("pool1");
    // The PV directory is on every brick of the real Replica3 volume.
    for (const brick of bricks) expect(existsSync(join(brick, pv.spec.csi.volumeAttributes.path)), brick).toBe(true);
  });

  step("storage-list --status reads stat.db from the provisioner through a real exec", async () => {
    const list = await cli("storage-list", "--status", "-o", "wide");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      /\npool1\s+Replica3\s+ready\s+3\s+delete\s+[\d.]+ \w?i?B\s+3\.5 GiB\s+[\d.]+%\s+3\s+0\s+0\s+0 B\s+500\.0 MiB\s+1\.2 GiB\s+2\.0 GiB\s+\d+[smhd]\s+\S+\s+\S+\s+-\n/,
    );
  });

  step(
    "metrics: a real Prometheus scrapes the operator and the provisioner, promtool lints what they serve, every dashboard query answers and every alert rule evaluates",
    async () => {
      const client = csiClient(`unix://${provisioner.socket}`);
      await expect(client.controller("CreateVolume", { name: "", capacity_range: { required_bytes: 1 } })).rejects.toThrow(/INVALID_ARGUMENT/);
      client.close();
      for (const port of [operator.metricsPort, provisioner.metricsPort]) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
        const lint = await promtool(prometheus!, ["check", "metrics"], text);
        // Upstream's names are kept as they are (dashboards and alerts use them), and prom-client's own
        // process metrics as the library names them (nodejs_active_handles_total is a gauge), whatever the linter thinks.
        const problems = lint.output
          .split("\n")
          .filter((line) => line.trim() && !UPSTREAM_NAMES.some((name) => line.startsWith(`${name} `)) && !/^nodejs_active_\w+_total /.test(line));
        expect(problems, lint.output).toEqual([]);
      }
      const ruleFile = join(scratch, "kadalu-alerts.yaml");
      writeFileSync(ruleFile, alertRuleFile());
      const prom = await RealPrometheus.start(
        prometheus!,
        cluster.processes,
        join(scratch, "prometheus"),
        { operator: operator.metricsPort, provisioner: provisioner.metricsPort },
        ruleFile,
      );
      await waitUntil(
        "three scrapes of both targets",
        async () => {
          const up = await prom.query("count_over_time(up[1m]) >= 3 and up == 1");
          return up.result.length === 2 || undefined;
        },
        30_000,
        250,
      );
      const dashboard = JSON.parse(readFileSync(new URL("../../dashboards/kadalu.json", import.meta.url), "utf8"));
      for (const query of dashboardQueries(dashboard)) {
        const answer = await prom.query(query.replaceAll("$pool", ".*").replaceAll("$__rate_interval", "30s"));
        // Every query answers with data, but the reconcile errors: none failed here (the alert test covers it).
        if (!query.includes('outcome="error"')) expect(answer.result.length, query).toBeGreaterThan(0);
      }
      const total = Number((await prom.query('kadalu_storage_total_capacity_bytes{name="pool1"}')).result[0]!.value[1]);
      // Gluster divides a brick's statfs by the bricks sharing its filesystem (shared-brick-count): here all three.
      const brickFs = statfsSync(bricks[0]!);
      expect(Math.abs(total - (brickFs.bsize * brickFs.blocks) / bricks.length) / total).toBeLessThan(0.02);
      const pvNames = (await prom.query("kadalu_pvc_total_capacity_bytes")).result.map((series) => series.metric.name).sort();
      const bound = await Promise.all(PVCS.map(async ([name]) => (await pvc(name)).spec.volumeName as string));
      expect(pvNames).toEqual(bound.sort());
      expect((await prom.query('kadalu_pool_pvs{pool="pool1"}')).result[0]!.value[1]).toBe("3");
      expect((await prom.query('kadalu_csi_operation_errors_total{method="CreateVolume",code="INVALID_ARGUMENT"}')).result[0]!.value[1]).toBe("1");
      await waitUntil(
        "the rules evaluated",
        async () => {
          const groups = (await prom.api<{ groups: { rules: { health: string; lastEvaluation: string }[] }[] }>("rules")).groups;
          return groups[0]?.rules.every((rule) => !rule.lastEvaluation.startsWith("0001")) || undefined;
        },
        20_000,
        250,
      );
      const rules = (await prom.api<{ groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] }>("rules")).groups.flatMap(
        (group) => group.rules,
      );
      expect(rules.map((rule) => [rule.name, rule.health, rule.lastError ?? ""])).toEqual(ALERT_GROUPS[0]!.rules.map((rule) => [rule.alert, "ok", ""]));
      // The pool is healthy and far from full: nothing is pending or firing.
      expect(rules.filter((rule) => rule.state !== "inactive").map((rule) => rule.name)).toEqual([]);
      await cluster.processes.stop(prom.process);
    },
    noPrometheus,
  );

  step("top: the sampling script in each brick pod reads the real glusterfsd, kadalu-csi proc-sample the provisioner's real FUSE client", async () => {
    const pidsOf = (match: (args: string[]) => boolean): number[] =>
      readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((entry) => {
          try {
            return match(readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean));
          } catch {
            return false;
          }
        })
        .map(Number);
    // Each brick pod sees its own glusterfsd, as its PID namespace would show it.
    const brickPids = bricks.map((brick) => pidsOf((args) => args[0]?.endsWith("glusterfsd") === true && args.includes(brick)));
    bricks.forEach((_brick, index) =>
      agent.onExec(
        "kadalu",
        `server-pool1-${index}-0`,
        "server",
        podProcessesExec(() => brickPids[index]!),
      ),
    );
    const result = await cli("top", "-o", "json", "--interval", "1s");
    expect(result.code, result.stderr).toBe(0);
    const { processes, pools } = JSON.parse(result.stdout);
    const brickRows = processes.filter((row: any) => row.program === "glusterfsd");
    expect(brickRows.map((row: any) => [row.pod, row.pid, row.role]).sort()).toEqual(
      bricks.map((brick, index) => [`server-pool1-${index}-0`, brickPids[index]![0], `brick ${brick}`]),
    );
    for (const row of brickRows) expect(row.rssBytes, JSON.stringify(row)).toBeGreaterThan(1024 * 1024);
    const clients = processes.filter((row: any) => row.pod === "kadalu-csi-provisioner-0");
    expect(clients.map((row: any) => [row.pool, row.program, row.role])).toEqual([["pool1", "glusterfs", "client /mnt/pool1"]]);
    expect(pools.map((total: any) => [total.pool, total.processes])).toEqual([["pool1", 4]]);
  });

  step(
    "doctor: healthy, then each injected fault named with its next command (dead FUSE mount, Pending PVC, brick pod down, full pool, operator scaled to 0)",
    async () => {
      const doctor = (...args: string[]) => cli("doctor", ...args);
      const line = (result: { stdout: string }, check: string, where = ""): string =>
        result.stdout.split("\n").find((l) => new RegExp(`^\\S+\\s+${check}\\s+${where}`).test(l)) ?? `(no ${check} line)\n${result.stdout}`;
      // The brick pods answer upstream's heal-info.sh with the real glfsheal's report.
      for (const index of [0, 1, 2]) {
        agent.onExec("kadalu", `server-pool1-${index}-0`, "server", async (context) => {
          if (context.command[0] !== "/kadalu/heal-info.sh" || !context.command[1]) return 127;
          context.stdout.write(await gluster.healInfo(context.command[1]));
          return 0;
        });
      }
      const healthy = await doctor();
      expect(healthy.code, `${healthy.stdout}${healthy.stderr}`).toBe(0);
      expect(line(healthy, "mount")).toMatch(/^ok\s+mount\s+pool\/pool1\s+mounted, stat\.db readable$/);
      expect(line(healthy, "heals")).toMatch(/^ok\s+heals\s+pool\/pool1\s+no heal pending$/);

      // The provisioner's FUSE client dies: its mount answers ENOTCONN. The driver mounts a dead pool again by
      // itself, sometimes before doctor looks: then the client is killed again (five times at most).
      const killFuse = (): void => {
        const fuse = readdirSync("/proc")
          .filter((entry) => /^\d+$/.test(entry))
          .find((entry) => {
            try {
              const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
              return args[args.indexOf("--volfile-id") + 1] === "pool1" && args.at(-1) === "/mnt/pool1";
            } catch {
              return false;
            }
          });
        expect(fuse, "the provisioner's FUSE client of pool1").toMatch(/^\d+$/);
        process.kill(Number(fuse), "SIGKILL");
      };
      let dead = { code: -1, stdout: "", stderr: "" };
      for (let attempt = 0; attempt < 5 && dead.code !== 4; attempt += 1) {
        if (attempt > 0)
          await waitUntil(
            "the provisioner to mount pool1 again",
            async () => line(await doctor("--pool", "pool1"), "mount").startsWith("ok") || undefined,
            60_000,
            1000,
          );
        killFuse();
        dead = await doctor("--pool", "pool1");
      }
      expect(dead.code, `${dead.stdout}${dead.stderr}`).toBe(4);
      expect(line(dead, "mount")).toMatch(
        /^critical\s+mount\s+pool\/pool1\s+the provisioner's mount of the pool does not answer \(ENOTCONN\): its FUSE client died or no brick answers\s+kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner$/,
      );
      // The driver mounts it again by itself.
      await waitUntil(
        "the provisioner to mount pool1 again",
        async () => line(await doctor("--pool", "pool1"), "mount").startsWith("ok") || undefined,
        60_000,
        1000,
      );

      // A PVC no pool has room for: the real csi-provisioner's event says why.
      await cluster.admin.post("/api/v1/namespaces/default/persistentvolumeclaims", {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "too-big" },
        spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "100Ti" } } },
      });
      await waitUntil(
        "the provisioner's ProvisioningFailed event",
        async () => line(await doctor(), "pvc").includes("ProvisioningFailed") || undefined,
        60_000,
        1000,
      );
      expect(line(await doctor(), "pvc")).toMatch(
        /^warning\s+pvc\s+pvc\/default\/too-big\s+Pending \(kadalu\.pool1\): ProvisioningFailed: .*ResourceExhausted.*no pool has room.*\s+kubectl -n default describe pvc too-big$/,
      );
      await cluster.admin.delete("/api/v1/namespaces/default/persistentvolumeclaims/too-big");

      // A brick pod not ready, and the pool almost full (as the provisioner reports it).
      const brickPod = "/api/v1/namespaces/kadalu/pods/server-pool1-2-0";
      const live = await cluster.admin.get(brickPod);
      await cluster.admin.merge(`${brickPod}/status`, {
        status: { conditions: live.status.conditions.map((c: any) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False" } : c)) },
      });
      const usage = (await pool()).status.usage;
      await cluster.admin.merge("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1/status", {
        status: { usage: { ...usage, provisionedBytes: Math.ceil(usage.capacityBytes * 0.85) } },
      });
      const degraded = await doctor("--pool", "pool1");
      expect(line(degraded, "bricks")).toMatch(
        /^warning\s+bricks\s+pool\/pool1\s+server pod server-pool1-2-0 \(Running\) not ready\s+kubectl kadalu logs server-pool1-2-0$/,
      );
      expect(line(degraded, "capacity")).toMatch(/^warning\s+capacity\s+pool\/pool1\s+85\.0% provisioned/);
      expect(degraded.code).toBe(3);
      await cluster.admin.merge(`${brickPod}/status`, { status: { conditions: live.status.conditions } });
      await cluster.admin.merge("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1/status", { status: { usage } });

      // The operator's Deployment scaled to 0: the real Deployment controller reports it unavailable.
      await cluster.admin.merge("/apis/apps/v1/namespaces/kadalu/deployments/operator", { spec: { replicas: 0 } });
      await waitUntil("the operator to be unavailable", async () => line(await doctor(), "operator").startsWith("critical") || undefined, 60_000, 500);
      const down = await doctor();
      expect(line(down, "operator")).toMatch(
        /^critical\s+operator\s+deployment\/operator\s+the operator is scaled to 0: pools are not reconciled\s+kubectl -n kadalu scale deployment operator --replicas=1$/,
      );
      expect(down.code).toBe(4);
      await cluster.admin.merge("/apis/apps/v1/namespaces/kadalu/deployments/operator", { spec: { replicas: 1 } });
      await waitUntil(
        "the operator to be available again",
        async () => ((await cluster.admin.get("/apis/apps/v1/namespaces/kadalu/deployments/operator")).status?.availableReplicas ?? 0) >= 1 || undefined,
        60_000,
        500,
      );
    },
  );

  step("support-bundle on the real cluster: doctor's report first, the real pods' objects and logs, no Secret and no token", async () => {
    const result = await cli("support-bundle", "-d", scratch);
    expect(result.code, result.stderr).toBe(0);
    const path = result.stdout.trim();
    const names = execFileSync("tar", ["-tzf", path], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((name) => name.replace(/^[^/]+\//, ""));
    expect(names.slice(0, 2)).toEqual(["SUMMARY.md", "doctor.json"]);
    expect(names).toContain("logs/kadalu-csi-provisioner-0/kadalu-provisioner.log");
    expect(names).toContain("objects/persistentvolumes.yaml");
    const text = execFileSync("tar", ["-xzOf", path], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    expect(text).toContain("driver: kadalu");
    expect(text).not.toMatch(/kind: Secret\b/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
  });

  step("a PVC expands through the real csi-resizer (its pod informer syncs under the provisioner's token)", async () => {
    await cluster.admin.merge("/api/v1/namespaces/default/persistentvolumeclaims/data-small", { spec: { resources: { requests: { storage: "1Gi" } } } });
    await waitUntil(
      `data-small to report 1Gi\n${provisioner.resizer.tail()}`,
      async () => (await pvc("data-small"))?.status?.capacity?.storage === "1Gi" || undefined,
      60_000,
      200,
    );
    const list = await cli("storage-list", "--status", "-o", "wide");
    expect(list.stdout).toMatch(/\s4\.0 GiB\s+[\d.]+%\s+3\s+0\s+0\s+0 B\s+1\.0 GiB\s+1\.3 GiB\s+2\.0 GiB\s+\d+[smhd]\s+\S+\s+\S+\s+-\n/);
  });

  step("storage-remove is refused while PVCs use the pool", async () => {
    const refused = await cli("storage-remove", "pool1", "--yes");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: storage pool "pool1" is still used by 3 PersistentVolumes: pvc-.*\(claim default\/data-/);
  });

  step("a foreground cascading delete is blocked too: the real garbage collector leaves the bricks serving", async () => {
    await cluster.admin.delete("/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages/pool1", { propagationPolicy: "Foreground" });
    await waitUntil("the operator to block the deletion", async () => (await pool())?.status?.state === "blocked" || undefined, 30_000, 200);
    // The garbage collector has acted on the foreground delete once it took its foregroundDeletion
    // finalizer off the pool (after deleting the dependents it found, if any); its discovery of a new CRD
    // can take up to 30 s.
    await waitUntil(
      "the garbage collector to process the foreground delete",
      async () => {
        const live = await pool();
        return !(live?.metadata.finalizers ?? []).includes("foregroundDeletion") || (await statefulSets()).length < 4 || undefined;
      },
      90_000,
      500,
    );
    expect(await statefulSets()).toEqual(["kadalu-csi-provisioner", "server-pool1-0", "server-pool1-1", "server-pool1-2"]);
    expect((await cluster.admin.get("/api/v1/namespaces/kadalu/services/pool1")).metadata.deletionTimestamp).toBeUndefined();
    expect((await pool())?.status?.state).toBe("blocked");
  });

  step("deleting the PVCs removes each PV's directory, metadata and stat.db row; the blocked pool then goes", async () => {
    // With the operator down, the pool's "blocked" status outlives the PVs: the window in which
    // storage-remove --wait must wait for a fresh verdict instead of failing on the stale one.
    await cluster.processes.stop(operator);
    for (const [name] of PVCS) await cluster.admin.delete(`/api/v1/namespaces/default/persistentvolumeclaims/${name}`);
    await waitUntil(
      `the PVs to be deleted\n${provisioner.provisioner.tail()}`,
      async () => (await cluster.admin.get("/api/v1/persistentvolumes")).items.length === 0 || undefined,
      60_000,
      200,
    );
    expect((await pool())?.status?.state).toBe("blocked");
    let exited = false;
    const removing = cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "90s").finally(() => (exited = true));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(exited, "storage-remove --wait gave up on a stale verdict").toBe(false);
    operator = await startOperator(cluster);
    const removed = await removing;
    expect(removed.code, `${removed.stderr}\n${operator.tail()}`).toBe(0);
    expect(removed.stderr).toContain('storage pool "pool1" removed');
    expect((await cluster.admin.get("/api/v1/persistentvolumes")).items).toEqual([]);
    expect(await statefulSets()).toEqual(["kadalu-csi-provisioner"]);
    for (const brick of bricks) {
      expect(volumeDirectories(brick), brick).toEqual([]);
      const db = StatDb.open(join(brick, "stat.db"), { readonly: true });
      expect(db.totals().count).toBe(0);
      db.close();
    }
    // The finalizer came off without a conflict: the operator logged no failed reconcile.
    expect(readFileSync(operator.log, "utf8")).not.toMatch(/ error reconcile/);
  });

  step("uninstall removes what install applied", async () => {
    const result = await cli("uninstall", "--yes");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Kadalu uninstalled from namespace "kadalu": \d+ objects deleted\n$/);
  });

  step("every request of the operator and of the provisioner pod's three containers was allowed by the rendered RBAC", async () => {
    const events = cluster.audit();
    const check = (user: string, allowed: (event: AuditEvent, request: { group: string; resource: string; verb: string; name?: string }) => boolean) => {
      const mine = events.filter((event) => event.user.username === user && event.objectRef?.resource);
      const refused = mine
        .filter((event) => {
          const ref = event.objectRef!;
          const request = {
            group: ref.apiGroup ?? "",
            resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource!,
            verb: event.verb,
            name: ref.name,
          };
          return event.responseStatus?.code === 403 || !allowed(event, request);
        })
        .map((event) => `${event.verb} ${event.requestURI} -> ${event.responseStatus?.code}`);
      return { count: mine.length, refused: [...new Set(refused)] };
    };
    const inNamespace = (rules: PolicyRule[], event: AuditEvent, request: { group: string; resource: string; verb: string; name?: string }) =>
      event.objectRef?.namespace === "kadalu" && allows(rules, request);
    const operatorRequests = check(
      "system:serviceaccount:kadalu:kadalu-operator",
      (event, request) => allows(OPERATOR_CLUSTER_RULES, request) || inNamespace(OPERATOR_NAMESPACE_RULES, event, request),
    );
    const provisionerRequests = check(
      "system:serviceaccount:kadalu:kadalu-csi-provisioner",
      (event, request) => allows(PROVISIONER_CLUSTER_RULES, request) || inNamespace(PROVISIONER_NAMESPACE_RULES, event, request),
    );
    expect(operatorRequests.refused).toEqual([]);
    expect(provisionerRequests.refused).toEqual([]);
    expect(operatorRequests.count).toBeGreaterThan(10);
    expect(provisionerRequests.count).toBeGreaterThan(10);
  });
});
