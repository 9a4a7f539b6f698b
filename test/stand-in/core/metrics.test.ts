/** The metrics catalogue and the alert rule file kept beside the dashboard. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { alertRuleFile, ALERT_GROUPS } from "../../../src/core/metrics/alerts.js";
import { METRICS } from "../../../src/core/metrics/catalog.js";

describe("metrics catalogue", () => {
  it("keeps upstream's sixteen storage and PVC gauges and four process gauges, with upstream's `name` label", () => {
    const upstream = METRICS.filter((spec) => spec.upstream);
    expect(upstream).toHaveLength(16);
    for (const spec of upstream) expect(spec.labels, spec.name).toEqual(["name"]);
    expect(upstream.map((spec) => spec.name)).toEqual(
      expect.arrayContaining([
        "kadalu_storage_total_capacity_bytes",
        "kadalu_pvc_free_inodes",
        "kadalu_cpu_usage_in_ns",
        "kadalu_total_number_of_ready_containers",
      ]),
    );
  });

  it("names ours in Prometheus style: counters end in _total, durations in _seconds, sizes in _bytes; no name twice", () => {
    for (const spec of METRICS.filter((candidate) => !candidate.upstream)) {
      if (spec.type === "counter") expect(spec.name, spec.name).toMatch(/_total$/);
      if (spec.type === "histogram") expect(spec.name, spec.name).toMatch(/_seconds$/);
      expect(spec.name).toMatch(/^kadalu_[a-z_]+$/);
    }
    expect(new Set(METRICS.map((spec) => spec.name)).size).toBe(METRICS.length);
  });

  it("dashboards/kadalu-alerts.yaml is the rule file rendered from the alert rules (npx tsx scripts/render-alerts.ts)", () => {
    expect(readFileSync(new URL("../../../dashboards/kadalu-alerts.yaml", import.meta.url), "utf8")).toBe(alertRuleFile());
    expect(ALERT_GROUPS[0]!.rules.map((rule) => rule.alert)).toEqual([
      "KadaluPoolAlmostFull",
      "KadaluPoolFull",
      "KadaluPoolAlmostFullyProvisioned",
      "KadaluPoolFullyProvisioned",
      "KadaluReconcileFailing",
      "KadaluPoolNotReady",
      "KadaluBrickDown",
    ]);
  });
});
