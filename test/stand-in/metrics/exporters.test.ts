/**
 * The operator's and the provisioner's /metrics on the sandbox (the real programs on the API test server,
 * pools in local directories): read by a strict exposition reader (promtool on the real tier), every catalogued metric there,
 * values matching the pool's status and statfs, CSI calls and failures counted; and every metric the
 * Grafana dashboard and the alert rules name is one the exporters emit, with the labels they group by.
 */
import { readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_SELECTOR } from "../../../operator/objects.js";
import { ALERT_GROUPS } from "../../../src/core/metrics/alerts.js";
import { metricsOf, seriesNames } from "../../../src/core/metrics/catalog.js";
import { runBin, type CliResult } from "../../../harness/helpers/cli.js";
import { csiClient } from "../../../harness/helpers/csi-client.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";
import { installPool1 } from "../../../harness/sandbox/pool1.js";
import { parseExposition, valueOf, type Family } from "../../../harness/metrics/exposition.js";
import { dashboardQueries, groupingLabels, metricNamesIn } from "../../../harness/metrics/promql.js";

let sandbox: Sandbox;
const cli = (...args: string[]): Promise<CliResult> => runBin(args, { KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" });
const until = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${sandbox.logs.slice(-10).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

async function scrape(component: "operator" | "provisioner"): Promise<{ text: string; families: Map<string, Family> }> {
  const url = sandbox.metricsUrl(component);
  if (!url) throw new Error(`the ${component} serves no metrics`);
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, families: parseExposition(text) };
}

/** Every series name a scrape holds, with the labels its samples carry. */
function seriesIn(families: Map<string, Family>): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const family of families.values()) {
    for (const sample of family.samples) series.set(sample.name, new Set([...(series.get(sample.name) ?? []), ...Object.keys(sample.labels)]));
  }
  return series;
}

beforeAll(async () => {
  sandbox = await startSandbox();
  await installPool1(sandbox, cli, [
    ["data", "1Gi"],
    ["logs", "2Gi"],
  ]);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

describe("the exporters on the sandbox", () => {
  it("the operator: every catalogued metric, pools' figures as their status says, reconciles counted", async () => {
    const pool = sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")!;
    // The status is written asynchronously; the cache catches up within a watch event.
    await until("the operator's cache to hold the usage", async () => valueOf((await scrape("operator")).families, "kadalu_pool_pvs", { pool: "pool1" }) === 2);
    const { families, text } = await scrape("operator");
    for (const spec of metricsOf("operator")) expect(text, spec.name).toContain(`# TYPE ${spec.name} ${spec.type}`);
    const labels = { pool: "pool1", namespace: "kadalu" };
    expect(valueOf(families, "kadalu_pool_capacity_bytes", labels)).toBe(pool.status.usage.capacityBytes);
    expect(valueOf(families, "kadalu_pool_provisioned_bytes", labels)).toBe(3 * 1024 ** 3);
    expect(valueOf(families, "kadalu_pool_bricks", labels)).toBe(3);
    expect(valueOf(families, "kadalu_pool_bricks_ready", labels)).toBe(3);
    expect(valueOf(families, "kadalu_pool_state", { ...labels, state: "ready" })).toBe(1);
    expect(valueOf(families, "kadalu_pool_state", { ...labels, state: "error" })).toBe(0);
    expect(valueOf(families, "kadalu_total_number_of_ready_containers", { name: "server-pool1-0-0" })).toBe(1);
    expect(valueOf(families, "kadalu_reconcile_total", { ...labels, outcome: "success" })).toBeGreaterThan(0);
    const reconciles =
      valueOf(families, "kadalu_reconcile_total", { ...labels, outcome: "success" })! +
      (valueOf(families, "kadalu_reconcile_total", { ...labels, outcome: "error" }) ?? 0);
    expect(valueOf(families, "kadalu_reconcile_duration_seconds_count", labels)).toBe(reconciles);
    expect(valueOf(families, "kadalu_workqueue_depth")).toBeGreaterThanOrEqual(0);
    expect(valueOf(families, "kadalu_memory_usage_in_bytes")).toBeGreaterThan(1024 * 1024);
    expect(families.has("process_cpu_seconds_total")).toBe(true);
  });

  it("the provisioner: upstream's capacity gauges from statfs, each PV, and every CSI call's latency and failure", async () => {
    const client = csiClient(`unix://${join(sandbox.dir, "csi", "csi.sock")}`);
    try {
      await expect(client.controller("CreateVolume", { name: "", capacity_range: { required_bytes: 1 } })).rejects.toThrow(/INVALID_ARGUMENT/);
    } finally {
      client.close();
    }
    const { families, text } = await scrape("provisioner");
    for (const spec of metricsOf("provisioner")) expect(text, spec.name).toContain(`# TYPE ${spec.name} ${spec.type}`);
    const fs = statfsSync(join(sandbox.provisionerRoot, "mnt", "pool1"));
    expect(valueOf(families, "kadalu_storage_total_capacity_bytes", { name: "pool1" })).toBe(fs.bsize * fs.blocks);
    const free = valueOf(families, "kadalu_storage_free_capacity_bytes", { name: "pool1" })!;
    // statfs of the same filesystem, taken a moment apart: other tests write to it meanwhile (hundreds of MiB
    // at a time), so the two agree to 1% of its size, not to the byte.
    expect(Math.abs(free - fs.bsize * fs.bavail)).toBeLessThan(Math.max(64 * 1024 ** 2, 0.01 * fs.bsize * fs.blocks));
    expect(valueOf(families, "kadalu_storage_used_capacity_bytes", { name: "pool1" })).toBe(fs.bsize * fs.blocks - free);
    const pvs = families
      .get("kadalu_pvc_total_capacity_bytes")!
      .samples.map((sample) => sample.labels.name!)
      .sort();
    const bound = ["data", "logs"].map((claim) => sandbox.server.get("v1", "PersistentVolumeClaim", "default", claim)!.spec.volumeName as string).sort();
    expect(pvs).toEqual(bound);
    const call = { method: "CreateVolume", code: "OK" };
    expect(valueOf(families, "kadalu_csi_operation_duration_seconds_count", call)).toBeGreaterThanOrEqual(2);
    expect(valueOf(families, "kadalu_csi_operation_duration_seconds_bucket", { ...call, le: "+Inf" })).toBe(
      valueOf(families, "kadalu_csi_operation_duration_seconds_count", call),
    );
    expect(valueOf(families, "kadalu_csi_operation_duration_seconds_sum", call)).toBeGreaterThan(0);
    expect(valueOf(families, "kadalu_csi_operation_errors_total", { method: "CreateVolume", code: "INVALID_ARGUMENT" })).toBe(1);
  });

  it("every metric the dashboard queries and the alerts evaluate is emitted, with the labels they use", async () => {
    const series = new Map([...seriesIn((await scrape("operator")).families), ...seriesIn((await scrape("provisioner")).families)]);
    const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL("../../../dashboards/kadalu.json", import.meta.url)), "utf8"));
    const queries = [...dashboardQueries(dashboard), ...ALERT_GROUPS.flatMap((group) => group.rules.map((rule) => rule.expr))];
    expect(queries.length).toBeGreaterThan(15);
    for (const query of queries) {
      const names = metricNamesIn(query);
      expect(names.length, query).toBeGreaterThan(0);
      for (const name of names) {
        expect(series.has(name), `${name} in ${query}`).toBe(true);
        for (const label of groupingLabels(query))
          if (![...names].some((n) => series.get(n)?.has(label))) throw new Error(`no metric of "${query}" has label ${label}`);
      }
    }
    // The catalogue and the exporters agree, both ways.
    const catalogued = new Set(metricsOf("operator").concat(metricsOf("provisioner")).flatMap(seriesNames));
    expect([...series.keys()].filter((name) => name.startsWith("kadalu_") && !catalogued.has(name))).toEqual([]);
  });

  it("install -o yaml: scrape annotations and ports on both pods; --service-monitor adds Services, a ServiceMonitor and the rules", async () => {
    const plain = await cli("install", "-o", "json");
    const items = JSON.parse(plain.stdout).items as any[];
    expect(items.some((item) => item.kind === "ServiceMonitor")).toBe(false);
    for (const name of ["operator", "kadalu-csi-provisioner"]) {
      const workload = items.find((item) => item.metadata.name === name && item.spec?.template);
      expect(workload.spec.template.metadata.annotations).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8050",
        "prometheus.io/path": "/metrics",
      });
      expect(workload.spec.template.spec.containers.flatMap((c: any) => c.ports ?? []).filter((p: any) => p.name === "metrics")).toEqual([
        { name: "metrics", containerPort: 8050 },
      ]);
    }
    const monitored = JSON.parse((await cli("install", "--service-monitor", "-o", "json")).stdout).items as any[];
    const extra = monitored.slice(items.length).map((item) => `${item.kind}/${item.metadata.name}`);
    expect(extra).toEqual([
      "Service/kadalu-operator-metrics",
      "Service/kadalu-csi-provisioner-metrics",
      "ServiceMonitor/kadalu",
      "PodMonitor/kadalu-server",
      "PrometheusRule/kadalu",
    ]);
    // The brick pods (the operator's StatefulSets, no Service in front) by their labels and their port's name.
    const podMonitor = monitored.find((item) => item.kind === "PodMonitor");
    expect(SERVER_SELECTOR).toMatchObject(podMonitor.spec.selector.matchLabels);
    expect(podMonitor.spec.namespaceSelector).toEqual({ matchNames: ["kadalu"] });
    expect(podMonitor.spec.podMetricsEndpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "30s" }]);
    const monitor = monitored.find((item) => item.kind === "ServiceMonitor");
    for (const service of monitored.filter((item) => item.kind === "Service")) {
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      const pods = monitored.filter(
        (item) => item.spec?.template && Object.entries(service.spec.selector).every(([k, v]) => item.spec.template.metadata.labels[k] === v),
      );
      expect(pods).toHaveLength(1);
    }
    expect(monitored.find((item) => item.kind === "PrometheusRule").spec.groups).toEqual(ALERT_GROUPS);
  });

  it("install --service-monitor on a cluster without the Prometheus Operator: one line, exit 1, nothing applied", async () => {
    const before = sandbox.server.requests.length;
    const result = await cli("install", "--service-monitor");
    expect(result.stderr).toMatch(
      /^error: the cluster has no ServiceMonitor kind \(monitoring\.coreos\.com\/v1\): install the Prometheus Operator .* or install without --service-monitor .*\n$/,
    );
    expect(result.code).toBe(1);
    // Only the programs' own status writes, nothing of the install's (it applies with PATCH).
    expect(sandbox.server.requests.slice(before).filter((r) => r.method === "PATCH" && r.subresource !== "status")).toEqual([]);
  });
});
