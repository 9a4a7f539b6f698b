/**
 * `doctor` names each pod's own failure: the operator, CSI and brick pods on the API test server, with the
 * container statuses, Events and previous logs a kubelet and scheduler would leave. Each line says what is
 * wrong and the command to run next, and that command runs as printed.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

let cluster: TestCluster;
const cli = (...args: string[]) => runCli(args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfig, NO_COLOR: "1" } });
const lines = (result: CliResult, check: string): string[] => result.stdout.split("\n").filter((line) => new RegExp(`^\\S+\\s+${check}\\s`).test(line));
const IMAGE = (name: string) => `ghcr.io/kubectl-kadalu/${name}:0.1.0`;
const NOW = "2026-12-06T00:00:00Z";

function workload(kind: string, name: string, container: string, image: string, status: Record<string, number>) {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: "kadalu" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: container, image }] } },
    },
    status,
  };
}

function pod(name: string, container: string, image: string, nodeName: string | undefined, status: Record<string, unknown>) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "kadalu", labels: { "app.kubernetes.io/part-of": "kadalu" } },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: container, image }] },
    status,
  };
}

const running = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
const notReady = (container: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  phase: "Running",
  conditions: [{ type: "Ready", status: "False" }],
  containerStatuses: [{ name: container, ready: false, restartCount: 0, state, ...extra }],
});

function event(podName: string, uid: string | undefined, reason: string, message: string, component = "kubelet") {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${podName}.${reason.toLowerCase()}`, namespace: "kadalu" },
    involvedObject: { apiVersion: "v1", kind: "Pod", name: podName, namespace: "kadalu", ...(uid ? { uid } : {}) },
    type: "Warning",
    reason,
    message,
    source: { component },
    firstTimestamp: NOW,
    lastTimestamp: NOW,
    count: 3,
  };
}

beforeAll(async () => {
  cluster = await startCluster();
  const seed = (...objects: unknown[]) => cluster.server.seed(...(objects as never[]));
  seed(
    workload("Deployment", "operator", "kadalu-operator", IMAGE("kadalu-operator"), { replicas: 1, availableReplicas: 0 }),
    pod(
      "operator-7d4b9c-abcde",
      "kadalu-operator",
      IMAGE("kadalu-operator"),
      "kube1",
      notReady(
        "kadalu-operator",
        { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
        { restartCount: 3, lastState: { terminated: { reason: "Error", exitCode: 1 } } },
      ),
    ),
    workload("StatefulSet", "kadalu-csi-provisioner", "kadalu-provisioner", IMAGE("kadalu-csi"), { replicas: 1, readyReplicas: 0 }),
    pod("kadalu-csi-provisioner-0", "kadalu-provisioner", IMAGE("kadalu-csi"), undefined, {
      phase: "Pending",
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.",
        },
      ],
    }),
    workload("DaemonSet", "kadalu-csi-nodeplugin", "kadalu-nodeplugin", IMAGE("kadalu-csi"), { desiredNumberScheduled: 3, numberReady: 2 }),
    pod("kadalu-csi-nodeplugin-a", "kadalu-nodeplugin", IMAGE("kadalu-csi"), "kube1", running),
    pod("kadalu-csi-nodeplugin-b", "kadalu-nodeplugin", IMAGE("kadalu-csi"), "kube2", {
      ...notReady("kadalu-nodeplugin", { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${IMAGE("kadalu-csi")}"` } }),
      phase: "Pending",
    }),
    pod("kadalu-csi-nodeplugin-c", "kadalu-nodeplugin", IMAGE("kadalu-csi"), "kube3", running),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kadalu-info", namespace: "kadalu" },
      data: { "pool1.info": readFileSync(new URL("../../fixtures/info/pool1.info", import.meta.url), "utf8") },
    },
    {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: {
        type: "Replica3",
        storage: [
          { node: "kube1", device: "/dev/vdc" },
          { node: "kube2", device: "/dev/vdc" },
          { node: "kube3", device: "/dev/vdc" },
        ],
      },
      status: { state: "initializing", message: "1/3 brick pods ready" },
    },
    pod(
      "server-pool1-0-0",
      "server",
      IMAGE("kadalu-server"),
      "kube1",
      notReady("server", { waiting: { reason: "CrashLoopBackOff" } }, { restartCount: 2, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } } }),
    ),
    pod("server-pool1-1-0", "server", IMAGE("kadalu-server"), "kube2", notReady("server", { running: {} })),
    pod("server-pool1-2-0", "server", IMAGE("kadalu-server"), "kube3", running),
  );
  const uid = (name: string) => cluster.server.get("v1", "Pod", "kadalu", name)!.metadata.uid;
  seed(
    event(
      "kadalu-csi-nodeplugin-b",
      uid("kadalu-csi-nodeplugin-b"),
      "Failed",
      `Failed to pull image "${IMAGE("kadalu-csi")}": rpc error: code = NotFound desc = not found`,
    ),
    event(
      "kadalu-csi-provisioner-0",
      undefined,
      "FailedScheduling",
      "0/3 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.",
      "default-scheduler",
    ),
  );
  cluster.server.setPodLogs(
    "kadalu",
    "operator-7d4b9c-abcde",
    "kadalu-operator",
    "",
    "operator 0.1.0 starting\nwatching pools\nerror: cannot list kadalustorages: connect ECONNREFUSED 10.96.0.1:443\n",
  );
  cluster.server.setPodLogs("kadalu", "server-pool1-0-0", "server", "", "kadalu-server: pool pool1 brick 0\n");
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("doctor names a pod's own failure", () => {
  let result: CliResult;
  beforeAll(async () => {
    result = await cli("doctor", "-n", "kadalu");
  });

  it("the operator crash-looping: its exit and the last lines of its previous log, and the command that shows all of it", async () => {
    expect(lines(result, "operator")).toEqual([
      expect.stringMatching(
        /^critical\s+operator\s+deployment\/operator\s+the operator is not available: pools are not reconciled; pod operator-7d4b9c-abcde: CrashLoopBackOff: container kadalu-operator keeps exiting with code 1 \(3 restarts\); last log lines: operator 0\.1\.0 starting \| watching pools \| error: cannot list kadalustorages: connect ECONNREFUSED 10\.96\.0\.1:443\s+kubectl kadalu logs operator-7d4b9c-abcde -c kadalu-operator --previous$/,
      ),
    ]);
    const advice = await cli("logs", "operator-7d4b9c-abcde", "-c", "kadalu-operator", "--previous");
    expect(advice.code, advice.stderr).toBe(0);
    expect(advice.stdout).toContain("error: cannot list kadalustorages: connect ECONNREFUSED 10.96.0.1:443");
  });

  it("the provisioner unscheduled: the scheduler's reason", () => {
    expect(lines(result, "csi-provisioner")).toEqual([
      expect.stringMatching(
        /^critical\s+csi-provisioner\s+pod\/kadalu-csi-provisioner-0\s+the CSI provisioner is not ready: PVCs stay Pending; FailedScheduling: no node can run it: 0\/3 nodes are available: 3 node\(s\) had untolerated taint \{node\.kubernetes\.io\/disk-pressure: \}\.\s+kubectl -n kadalu describe pod kadalu-csi-provisioner-0$/,
      ),
    ]);
  });

  it("a nodeplugin pod that cannot pull its image: the pod, its node and the image", () => {
    expect(lines(result, "csi-nodeplugin")).toEqual([
      expect.stringMatching(
        /^warning\s+csi-nodeplugin\s+daemonset\/kadalu-csi-nodeplugin\s+ready on 2\/3 nodes; not ready: kadalu-csi-nodeplugin-b on kube2 \(ImagePullBackOff: image ghcr\.io\/kubectl-kadalu\/kadalu-csi:0\.1\.0 cannot be pulled\): pods there cannot mount Kadalu PVs\s+kubectl -n kadalu describe pod kadalu-csi-nodeplugin-b$/,
      ),
    ]);
  });

  it("bricks: the OOMKilled one named with its reason; the quorum line only for the one down with no reason of its own", () => {
    expect(lines(result, "bricks")).toEqual([
      expect.stringMatching(
        /^critical\s+bricks\s+pool\/pool1\s+server pod server-pool1-0-0 \(Running\) not ready: OOMKilled: container server ran out of memory \(OOMKilled, 2 restarts\); last log lines: kadalu-server: pool pool1 brick 0\s+kubectl kadalu logs server-pool1-0-0 -c server --previous$/,
      ),
      expect.stringMatching(
        /^critical\s+bricks\s+pool\/pool1\s+server pod server-pool1-1-0 \(Running\) not ready: a replica set lost its quorum, its files are not writable\s+kubectl kadalu logs server-pool1-1-0$/,
      ),
    ]);
    expect(result.code).toBe(4);
  });

  it("--verbose shows what a finding rests on: the pod's events", async () => {
    const verbose = await cli("doctor", "-n", "kadalu", "--verbose");
    expect(verbose.stdout).toContain(
      `csi-nodeplugin daemonset/kadalu-csi-nodeplugin:\n  Warning Failed: Failed to pull image "${IMAGE("kadalu-csi")}": rpc error: code = NotFound desc = not found\n`,
    );
  });

  it("doctor -o json carries the same findings, for scripts", async () => {
    const json = JSON.parse((await cli("doctor", "-n", "kadalu", "-o", "json")).stdout);
    expect(json.findings.find((f: { check: string }) => f.check === "csi-nodeplugin")).toMatchObject({
      severity: "warning",
      next: "kubectl -n kadalu describe pod kadalu-csi-nodeplugin-b",
    });
  });
});
