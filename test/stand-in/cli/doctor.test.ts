/**
 * `doctor` on the sandbox (the real operator and CSI driver on the API test server, pools in local
 * directories): a healthy install, then faults injected one at a time, each named with its next command,
 * and the exit code a script branches on.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, type CliResult } from "../../../harness/helpers/cli.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";
import { installPool1 } from "../../../harness/sandbox/pool1.js";

let sandbox: Sandbox;
const cli = (...args: string[]): Promise<CliResult> => runBin(args, { KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" });
const doctor = (...args: string[]) => cli("doctor", "-n", "kadalu", ...args);
const lineOf = (result: CliResult, check: string): string =>
  result.stdout.split("\n").find((line) => new RegExp(`^\\S+\\s+${check}\\s`).test(line)) ?? `(no ${check} line in)\n${result.stdout}`;
const until = async (what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${sandbox.logs.slice(-10).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

beforeAll(async () => {
  sandbox = await startSandbox();
  await installPool1(sandbox, cli, [["data", "1Gi"]]);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

describe("doctor on the sandbox", () => {
  it("a healthy install: everything ok, heals not asked (the sandbox's brick pods run no Gluster): exit 0", async () => {
    const result = await doctor();
    expect(result.stdout.split("\n")[0]).toMatch(/^SEVERITY\s+CHECK\s+WHERE\s+FINDING\s+NEXT$/);
    expect(lineOf(result, "operator")).toMatch(/^ok\s+operator\s+deployment\/operator\s+available \(version [\w.-]+\)$/);
    expect(lineOf(result, "csi-nodeplugin")).toMatch(/^ok\s+csi-nodeplugin\s+daemonset\/kadalu-csi-nodeplugin\s+ready on 3\/3 nodes$/);
    expect(lineOf(result, "bricks")).toMatch(/^ok\s+bricks\s+pool\/pool1\s+3\/3 server pods ready$/);
    expect(lineOf(result, "mount")).toMatch(/^ok\s+mount\s+pool\/pool1\s+mounted, stat.db readable$/);
    expect(lineOf(result, "heals")).toMatch(/^ok\s+heals\s+pool\/pool1\s+not checked: the sandbox \(context "kadalu-sandbox"\) runs no server containers$/);
    // The operator's budget exists; no disruption controller computes its status here, so nothing is blocked.
    expect(lineOf(result, "drain")).toMatch(
      /^ok\s+drain\s+pool\/pool1\s+1 disruption budget: a drain takes at most what each group survives, and waits for the rest$/,
    );
    // No snapshot CRDs and no restore waiting for them: fine, with the way to add them.
    expect(lineOf(result, "snapshots")).toMatch(
      /^ok\s+snapshots\s+snapshot\.storage\.k8s\.io\s+not available: the cluster has no snapshot CRDs \(kubectl kadalu install --snapshot-controller adds them and a snapshot-controller\)$/,
    );
    expect(result.stderr).toBe("12 checks: 0 critical, 0 warnings\n");
    expect(result.code).toBe(0);
    const json = JSON.parse((await doctor("-o", "json")).stdout);
    expect(json).toMatchObject({ healthy: true, exitCode: 0 });
  });

  it("a PVC that stays Pending: its latest warning event, read through the events' field selector", async () => {
    sandbox.server.seed(
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "huge", namespace: "kadalu" },
        spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "100Ti" } } },
        status: { phase: "Pending" },
      },
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "huge.1", namespace: "kadalu" },
        involvedObject: { kind: "PersistentVolumeClaim", name: "huge", namespace: "kadalu" },
        type: "Warning",
        reason: "ProvisioningFailed",
        message: "pool pool1 has 1.0 GiB free",
        lastTimestamp: new Date().toISOString(),
      },
    );
    try {
      const result = await doctor("--pool", "pool1");
      expect(lineOf(result, "pvc")).toMatch(
        /^warning\s+pvc\s+pvc\/kadalu\/huge\s+Pending \(kadalu\.pool1\): ProvisioningFailed: pool pool1 has 1\.0 GiB free\s+kubectl -n kadalu describe pvc huge$/,
      );
    } finally {
      sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "PersistentVolumeClaim")!, "kadalu", "huge", { dryRun: false });
      sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "Event")!, "kadalu", "huge.1", { dryRun: false });
    }
  });

  it("a heal report that cannot be read is a warning naming why and healinfo", async () => {
    sandbox.server.onExec("kadalu", "server-pool1-0-0", "server", async (context) => {
      context.stderr.write("glfsheal: Transport endpoint is not connected\n");
      return 1;
    });
    const result = await doctor("--pool", "pool1").finally(() => sandbox.server.offExec("kadalu", "server-pool1-0-0", "server"));
    expect(lineOf(result, "heals")).toMatch(
      /^warning\s+heals\s+pool\/pool1\s+heals not checked: \/kadalu\/heal-info\.sh in server-pool1-0-0 \(exit 1\) gave no count for every brick: glfsheal: Transport endpoint is not connected\s+kubectl kadalu healinfo pool1$/,
    );
    expect(result.code).toBe(3);
  });

  it("a server pod not ready: a warning naming it and its logs", async () => {
    const pod = sandbox.server.get("v1", "Pod", "kadalu", "server-pool1-1-0")!;
    sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", { ...pod.status, conditions: [{ type: "Ready", status: "False" }] });
    try {
      const result = await doctor("--pool", "pool1");
      expect(lineOf(result, "bricks")).toMatch(
        /^warning\s+bricks\s+pool\/pool1\s+server pod server-pool1-1-0 \(Running\) not ready\s+kubectl kadalu logs server-pool1-1-0$/,
      );
      expect(result.stdout).not.toMatch(/\soperator\s/);
    } finally {
      sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", pod.status);
    }
  });

  it("a brick directory missing on its node (the kubelet's FailedMount): named by the pool's state, storage-list and doctor, not as a lost quorum", async () => {
    const pod = sandbox.server.get("v1", "Pod", "kadalu", "server-pool1-1-0")!;
    sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", {
      phase: "Pending",
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: "False" },
      ],
      containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }],
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "server-pool1-1-0.mount", namespace: "kadalu" },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: "server-pool1-1-0", namespace: "kadalu", uid: pod.metadata.uid },
      type: "Warning",
      reason: "FailedMount",
      message: 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool1 is not a directory',
      source: { component: "kubelet", host: "kube2" },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    } as never);
    const state = () => sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")?.status;
    try {
      await until("the operator to name the missing directory", () => state()?.state === "error");
      const list = await cli("storage-list", "-n", "kadalu");
      expect(list.stdout.split("\n").find((line) => line.startsWith("pool1 "))).toMatch(
        /^pool1\s+Replica3\s+error\s+.*\s+brick directory \/data\/pool1 is missing on node kube2$/,
      );
      const result = await doctor("--pool", "pool1");
      expect(lineOf(result, "pool-state")).toMatch(
        /^critical\s+pool-state\s+pool\/pool1\s+state error: brick directory \/data\/pool1 is missing on node kube2\s+kubectl -n kadalu describe kadalustorage pool1$/,
      );
      expect(lineOf(result, "bricks")).toMatch(
        /^warning\s+bricks\s+pool\/pool1\s+server pod server-pool1-1-0 \(Pending\) not ready: brick directory \/data\/pool1 is missing on node kube2 \(FailedMount\): create it there\s+kubectl -n kadalu describe pod server-pool1-1-0$/,
      );
      expect(result.stdout).not.toContain("quorum");
      expect(result.code).toBe(4);
    } finally {
      sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", pod.status);
      await until("the pool to be ready again", () => state()?.state === "ready");
    }
  });

  it("storage-add --wait ends at once, naming the brick directory missing on its node", async () => {
    const [pod] = sandbox.server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "server-pool2-0-0",
        namespace: "kadalu",
        labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", "kadalu.io/pool": "pool2" },
      },
      spec: { nodeName: "kube3", containers: [{ name: "server" }] },
      status: { phase: "Pending", containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }] },
    } as never);
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "server-pool2-0-0.mount", namespace: "kadalu" },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: "server-pool2-0-0", namespace: "kadalu", uid: pod!.metadata.uid },
      type: "Warning",
      reason: "FailedMount",
      message: 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool2 is not a directory',
      source: { component: "kubelet", host: "kube3" },
    } as never);
    const add = await cli("storage-add", "pool2", "--type", "Replica1", "--path", "kube3:/data/pool2", "-n", "kadalu", "--yes", "--wait", "--timeout", "10s");
    expect(add.stderr.split("\n").filter(Boolean).at(-1)).toBe('error: storage pool "pool2" failed: brick directory /data/pool2 is missing on node kube3');
    expect(add.code).toBe(1);
    sandbox.server.objects.delete(sandbox.server.registry.byKind("kadalu-operator.storage/v1alpha1", "KadaluStorage")!, "kadalu", "pool2", { dryRun: false });
    sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "Pod")!, "kadalu", "server-pool2-0-0", { dryRun: false });
    await until("pool2 to be gone", () => !sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool2"));
  });

  it("a full pool: critical at 90% provisioned, and --critical-at moves the line", async () => {
    const pool = sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")!;
    const usage = pool.status.usage;
    sandbox.server.setStatus("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1", {
      ...pool.status,
      usage: { ...usage, provisionedBytes: Math.ceil(usage.capacityBytes * 0.95) },
    });
    const full = await doctor("--pool", "pool1");
    expect(lineOf(full, "capacity")).toMatch(
      /^critical\s+capacity\s+pool\/pool1\s+95\.0% provisioned \(\d+ PVs?\)\s+kubectl kadalu storage-expand pool1 --path NODE:\/DIR --path NODE:\/DIR --path NODE:\/DIR$/,
    );
    expect(full.code).toBe(4);
    expect(lineOf(await doctor("--pool", "pool1", "--warn-at", "96", "--critical-at", "99"), "capacity")).toMatch(/^ok\s+capacity/);
    expect((await doctor("--warn-at", "95", "--critical-at", "90")).stderr).toBe("error: --warn-at (95) must not be above --critical-at (90)\n");
  });

  it("the provisioner's pool directory gone: critical, the mount is missing", async () => {
    rmSync(join(sandbox.provisionerRoot, "mnt", "pool1", "stat.db"));
    const result = await doctor("--pool", "pool1");
    expect(lineOf(result, "mount")).toMatch(
      /^critical\s+mount\s+pool\/pool1\s+the provisioner has not mounted the pool: PVs of it cannot be created\s+kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner$/,
    );
  });

  it("support-bundle: SUMMARY.md and doctor.json first, then objects, events, logs and pool usage; no Secret data, no token, --redact applied", async () => {
    const secretValue = "s3cr3t-do-not-ship";
    const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"system:serviceaccount:kadalu:kadalu-operator"}').toString("base64url")}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg`;
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "glusterquota-ssh-secret", namespace: "kadalu" },
      data: { "ssh-privatekey": Buffer.from(secretValue).toString("base64") },
    } as never);
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/service-account-token",
      metadata: { name: "operator-token", namespace: "kadalu" },
      data: { token: Buffer.from(token).toString("base64") },
    } as never);
    const operatorPod = sandbox.server.list("v1", "Pod", "kadalu").find((pod) => pod.metadata.name.startsWith("operator-"))!.metadata.name;
    sandbox.server.setPodLogs(
      "kadalu",
      operatorPod,
      "kadalu-operator",
      `${"older line\n".repeat(400)}connected to storage.example.com with ${token}\nlast line\n`,
    );
    const out = mkdtempSync(join(tmpdir(), "kadalu-bundle-"));
    try {
      const result = await cli("support-bundle", "-n", "kadalu", "-d", out, "--redact", "storage.example.com", "--max-log-bytes", "2000");
      expect(result.code, result.stderr).toBe(0);
      const path = result.stdout.trim();
      expect(path).toMatch(new RegExp(`^${out}/kadalu-support-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(result.stderr).toMatch(
        /^running doctor\n.*collecting the logs of \d+ containers\n\d+ files, [\d.]+ \w?i?B; doctor: \d+ critical, \d+ warnings?\n$/s,
      );
      const names = execFileSync("tar", ["-tzf", path], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((name) => name.replace(/^[^/]+\//, ""));
      expect(names.slice(0, 2)).toEqual(["SUMMARY.md", "doctor.json"]);
      for (const name of [
        "objects/kadalustorages.yaml",
        "objects/kadalu-info.yaml",
        "objects/workloads.yaml",
        "objects/storageclasses.yaml",
        "objects/persistentvolumes.yaml",
        "objects/persistentvolumeclaims.yaml",
        "events/namespace.yaml",
        "pools.json",
        "versions.json",
        `logs/${operatorPod}/kadalu-operator.log`,
      ])
        expect(names).toContain(name);
      const root = join(out, "x");
      execFileSync("mkdir", [root]);
      execFileSync("tar", ["-xzf", path, "-C", root, "--strip-components=1"]);
      const everything = names.map((name) => readFileSync(join(root, name), "utf8")).join("\n");
      expect(everything).not.toContain(secretValue);
      expect(everything).not.toContain(Buffer.from(secretValue).toString("base64"));
      expect(everything).not.toContain(token);
      expect(everything).not.toContain("storage.example.com");
      expect(everything).not.toMatch(/kind: Secret\b/);
      const log = readFileSync(join(root, "logs", operatorPod, "kadalu-operator.log"), "utf8");
      expect(log).toMatch(/^\[\.\.\. \d+ earlier bytes left out \(--max-log-bytes 2000\)\]\n/);
      expect(log).toContain("connected to [REDACTED] with [REDACTED-TOKEN]\nlast line\n");
      expect(readFileSync(join(root, "SUMMARY.md"), "utf8")).toMatch(/^# Kadalu support bundle\n[\s\S]*\| severity \| check \| where \| finding \| next \|/);
      expect(
        JSON.parse(readFileSync(join(root, "pools.json"), "utf8")).items?.[0]?.name ?? JSON.parse(readFileSync(join(root, "pools.json"), "utf8")),
      ).toBeTruthy();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("the operator scaled to 0: critical, with the command that scales it back; exit 4", async () => {
    const deployment = sandbox.server.get("apps/v1", "Deployment", "kadalu", "operator")!;
    sandbox.server.objects.commit(
      sandbox.server.registry.byKind("apps/v1", "Deployment")!,
      deployment,
      { ...deployment, spec: { ...deployment.spec, replicas: 0 } },
      undefined,
      { dryRun: false },
    );
    await until(
      "the operator's availability to drop",
      () => sandbox.server.get("apps/v1", "Deployment", "kadalu", "operator")?.status?.availableReplicas === 0,
    );
    const result = await doctor();
    expect(lineOf(result, "operator")).toMatch(
      /^critical\s+operator\s+deployment\/operator\s+the operator is scaled to 0: pools are not reconciled\s+kubectl -n kadalu scale deployment operator --replicas=1$/,
    );
    expect(result.code).toBe(4);
  });

  it("an unknown pool is a runtime failure (exit 1); bad thresholds are usage errors (exit 2)", async () => {
    const missing = await doctor("--pool", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: storage pool "nope" not found in namespace "kadalu"; pools: pool1\n');
    const badPercent = await doctor("--warn-at", "eighty");
    expect(badPercent.code).toBe(2);
    expect(badPercent.stderr).toBe('error: --warn-at must be a percentage between 0 and 100, not "eighty"\n');
  });
});
