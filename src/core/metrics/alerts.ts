/**
 * Alert rules over the exported metrics (the `groups` of a Prometheus rule file, also the spec of the
 * Prometheus Operator's PrometheusRule that `install --service-monitor` renders).
 */
import { toPortableYaml } from "../yaml.js";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

const used = "kadalu_storage_used_capacity_bytes / kadalu_storage_total_capacity_bytes";
const provisioned = "kadalu_pool_provisioned_bytes / kadalu_pool_capacity_bytes";

/** The provisioner's metrics carry no namespace label: Kadalu's default one. */
function full(alert: string, expr: string, percent: number, severity: "warning" | "critical", what: string, label: string): AlertRule {
  const pool = `{{ $labels.${label} }}`;
  const namespace = label === "pool" ? "{{ $labels.namespace }}" : "kadalu";
  return {
    alert,
    expr: `(${expr}) * 100 >= ${percent}`,
    for: "5m",
    labels: { severity },
    annotations: {
      summary: `Kadalu pool ${pool} is ${percent}% ${what}`,
      description: `Pool ${pool} is {{ $value | printf "%.0f" }}% ${what}. Free space, or grow it by a whole replica or disperse group, one --path NODE:/DIR or --device NODE:/dev/sdX for each unit of the group: kubectl kadalu storage-expand ${pool} --path NODE:/DIR${namespace === "kadalu" ? "" : ` -n ${namespace}`}; see it with kubectl kadalu storage-list ${pool} --status.`,
    },
  };
}

export const ALERT_GROUPS: RuleGroup[] = [
  {
    name: "kadalu",
    rules: [
      full("KadaluPoolAlmostFull", used, 80, "warning", "full", "name"),
      full("KadaluPoolFull", used, 90, "critical", "full", "name"),
      full("KadaluPoolAlmostFullyProvisioned", provisioned, 80, "warning", "provisioned (promised to PVs)", "pool"),
      full("KadaluPoolFullyProvisioned", provisioned, 90, "critical", "provisioned (promised to PVs)", "pool"),
      {
        alert: "KadaluReconcileFailing",
        expr: 'sum by (namespace, pool) (increase(kadalu_reconcile_total{outcome="error"}[10m])) > 0 unless on (namespace, pool) sum by (namespace, pool) (increase(kadalu_reconcile_total{outcome="success"}[10m])) > 0',
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
          summary: "The Kadalu operator cannot reconcile pool {{ $labels.namespace }}/{{ $labels.pool }}",
          description:
            "Reconciles of pool {{ $labels.pool }} have failed, and none succeeded, for a quarter of an hour. See kubectl kadalu doctor --pool {{ $labels.pool }}, and the operator's log: kubectl -n {{ $labels.namespace }} logs deployment/operator.",
        },
      },
      {
        alert: "KadaluPoolNotReady",
        expr: 'max by (namespace, pool) (kadalu_pool_state{state="ready"}) == 0',
        for: "15m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Kadalu pool {{ $labels.namespace }}/{{ $labels.pool }} has not been ready for 15 minutes",
          description: "Why: see kubectl kadalu doctor --pool {{ $labels.pool }}.",
        },
      },
      {
        alert: "KadaluBrickDown",
        expr: "kadalu_pool_bricks_ready < kadalu_pool_bricks",
        for: "10m",
        labels: { severity: "critical" },
        annotations: {
          summary: "Kadalu pool {{ $labels.namespace }}/{{ $labels.pool }} has a brick pod down",
          description:
            "{{ $value }} brick pods of pool {{ $labels.pool }} are ready, fewer than it has; a replicated pool runs on, with fewer copies. kubectl kadalu doctor --pool {{ $labels.pool }}.",
        },
      },
    ],
  },
];

/** The rule file for a Prometheus without the operator (dashboards/kadalu-alerts.yaml; scripts/render-alerts.ts writes it). */
export function alertRuleFile(): string {
  return `# Generated from src/core/metrics/alerts.ts by scripts/render-alerts.ts: edit there.\n${toPortableYaml({ groups: ALERT_GROUPS })}`;
}
