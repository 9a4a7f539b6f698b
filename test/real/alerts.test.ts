/**
 * The alert rules under Prometheus' own rule engine: promtool checks the rule file and runs unit tests over
 * synthetic series of the exported metrics (each alert fires at its threshold after its `for`, with the
 * labels and annotations a receiver sees, and stays quiet below it).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ALERT_GROUPS, alertRuleFile } from "../../src/core/metrics/alerts.js";
import { toPortableYaml } from "../../src/core/yaml.js";
import { promtool } from "../../harness/real/prometheus.js";
import { noPrometheus, prometheus } from "../../harness/real/tier.js";

const dir = mkdtempSync(join(tmpdir(), "kadalu-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rule = (name: string) => ALERT_GROUPS[0]!.rules.find((candidate) => candidate.alert === name)!;

/** What the receiver gets: the annotations with the labels and the value filled in. */
function annotations(name: string, labels: Record<string, string>, value: number): Record<string, string> {
  const fill = (text: string): string =>
    text
      .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_all, label: string) => labels[label] ?? "")
      .replace(/\{\{ \$value \| printf "%\.0f" \}\}/g, value.toFixed(0))
      .replace(/\{\{ \$value \}\}/g, String(value));
  return Object.fromEntries(Object.entries(rule(name).annotations).map(([key, text]) => [key, fill(text)]));
}

function firing(name: string, labels: Record<string, string>, value: number) {
  return { exp_labels: { ...labels, severity: rule(name).labels.severity }, exp_annotations: annotations(name, labels, value) };
}

const pool = { pool: "pool1", namespace: "kadalu" };
const TESTS = [
  {
    interval: "1m",
    input_series: [
      { series: 'kadalu_storage_used_capacity_bytes{name="pool1"}', values: "85x30" },
      { series: 'kadalu_storage_total_capacity_bytes{name="pool1"}', values: "100x30" },
      { series: 'kadalu_storage_used_capacity_bytes{name="pool2"}', values: "95x30" },
      { series: 'kadalu_storage_total_capacity_bytes{name="pool2"}', values: "100x30" },
      { series: 'kadalu_storage_used_capacity_bytes{name="pool3"}', values: "50x30" },
      { series: 'kadalu_storage_total_capacity_bytes{name="pool3"}', values: "100x30" },
    ],
    alert_rule_test: [
      { eval_time: "3m", alertname: "KadaluPoolAlmostFull", exp_alerts: [] },
      {
        eval_time: "10m",
        alertname: "KadaluPoolAlmostFull",
        exp_alerts: [firing("KadaluPoolAlmostFull", { name: "pool1" }, 85), firing("KadaluPoolAlmostFull", { name: "pool2" }, 95)],
      },
      { eval_time: "10m", alertname: "KadaluPoolFull", exp_alerts: [firing("KadaluPoolFull", { name: "pool2" }, 95)] },
    ],
  },
  {
    interval: "1m",
    input_series: [
      { series: 'kadalu_pool_provisioned_bytes{pool="pool1",namespace="kadalu"}', values: "92x30" },
      { series: 'kadalu_pool_capacity_bytes{pool="pool1",namespace="kadalu"}', values: "100x30" },
    ],
    alert_rule_test: [
      { eval_time: "10m", alertname: "KadaluPoolAlmostFullyProvisioned", exp_alerts: [firing("KadaluPoolAlmostFullyProvisioned", pool, 92)] },
      { eval_time: "10m", alertname: "KadaluPoolFullyProvisioned", exp_alerts: [firing("KadaluPoolFullyProvisioned", pool, 92)] },
    ],
  },
  {
    interval: "1m",
    input_series: [
      // pool1: every reconcile fails; pool2: some fail, some succeed (a transient error, no alert).
      { series: 'kadalu_reconcile_total{pool="pool1",namespace="kadalu",outcome="error"}', values: "0+1x40" },
      { series: 'kadalu_reconcile_total{pool="pool1",namespace="kadalu",outcome="success"}', values: "5x40" },
      { series: 'kadalu_reconcile_total{pool="pool2",namespace="kadalu",outcome="error"}', values: "0+1x40" },
      { series: 'kadalu_reconcile_total{pool="pool2",namespace="kadalu",outcome="success"}', values: "0+1x40" },
      { series: 'kadalu_pool_state{pool="pool1",namespace="kadalu",state="ready"}', values: "0x40" },
      { series: 'kadalu_pool_state{pool="pool1",namespace="kadalu",state="error"}', values: "1x40" },
      { series: 'kadalu_pool_state{pool="pool2",namespace="kadalu",state="ready"}', values: "1x40" },
      { series: 'kadalu_pool_bricks_ready{pool="pool1",namespace="kadalu"}', values: "2x40" },
      { series: 'kadalu_pool_bricks{pool="pool1",namespace="kadalu"}', values: "3x40" },
      { series: 'kadalu_pool_bricks_ready{pool="pool2",namespace="kadalu"}', values: "3x40" },
      { series: 'kadalu_pool_bricks{pool="pool2",namespace="kadalu"}', values: "3x40" },
    ],
    alert_rule_test: [
      { eval_time: "4m", alertname: "KadaluReconcileFailing", exp_alerts: [] },
      { eval_time: "10m", alertname: "KadaluReconcileFailing", exp_alerts: [firing("KadaluReconcileFailing", pool, 10)] },
      { eval_time: "10m", alertname: "KadaluPoolNotReady", exp_alerts: [] },
      { eval_time: "20m", alertname: "KadaluPoolNotReady", exp_alerts: [firing("KadaluPoolNotReady", pool, 0)] },
      { eval_time: "5m", alertname: "KadaluBrickDown", exp_alerts: [] },
      { eval_time: "15m", alertname: "KadaluBrickDown", exp_alerts: [firing("KadaluBrickDown", pool, 2)] },
    ],
  },
];

describe.skipIf(noPrometheus)("alert rules under promtool", () => {
  it("the rule file is valid and every alert fires at its threshold after its `for`, and only then", async () => {
    writeFileSync(join(dir, "kadalu-alerts.yaml"), alertRuleFile());
    const check = await promtool(prometheus!, ["check", "rules", join(dir, "kadalu-alerts.yaml")]);
    expect(check.output).toContain(`SUCCESS: ${ALERT_GROUPS[0]!.rules.length} rules found`);
    writeFileSync(join(dir, "tests.yaml"), toPortableYaml({ rule_files: ["kadalu-alerts.yaml"], evaluation_interval: "1m", tests: TESTS }));
    const result = await promtool(prometheus!, ["test", "rules", join(dir, "tests.yaml")]);
    expect(result.output, result.output).toContain("SUCCESS");
    expect(result.code).toBe(0);
  });

  it("promtool's test fails when an alert does not fire as expected (the check above can fail)", async () => {
    const wrong = [
      { ...TESTS[0]!, alert_rule_test: [{ eval_time: "10m", alertname: "KadaluPoolFull", exp_alerts: [firing("KadaluPoolFull", { name: "pool1" }, 85)] }] },
    ];
    writeFileSync(join(dir, "wrong.yaml"), toPortableYaml({ rule_files: ["kadalu-alerts.yaml"], evaluation_interval: "1m", tests: wrong }));
    const result = await promtool(prometheus!, ["test", "rules", join(dir, "wrong.yaml")]);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("FAILED");
  });
});
