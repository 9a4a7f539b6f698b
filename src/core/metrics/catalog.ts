/**
 * Every metric the operator and the CSI provisioner export: name, type, help and labels, in one place.
 * Upstream's names (kadalu_operator/metrics.py) are kept with their `name` label, so existing dashboards
 * and alerts keep working; ours follow Prometheus naming (base units, `_total` counters, `pool`/`namespace`).
 */

export type MetricType = "gauge" | "counter" | "histogram";
export type Exporter = "operator" | "provisioner" | "both" | "server";

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  exporter: Exporter;
  /** Kept from upstream Kadalu (same name, same labels). */
  upstream?: true;
}

const gauge = (name: string, help: string, labels: readonly string[], exporter: Exporter, upstream?: true): MetricSpec => ({
  name,
  type: "gauge",
  help,
  labels,
  exporter,
  ...(upstream ? { upstream } : {}),
});

const UPSTREAM_STORAGE = ["total", "used", "free"].flatMap((which) => [
  gauge(`kadalu_storage_${which}_capacity_bytes`, `Kadalu storage ${which} capacity in bytes (statfs of the pool's mount)`, ["name"], "provisioner", true),
  gauge(`kadalu_storage_${which}_inodes`, `Kadalu storage ${which} inodes (statfs of the pool's mount)`, ["name"], "provisioner", true),
  gauge(
    `kadalu_pvc_${which}_capacity_bytes`,
    `Kadalu PV ${which} capacity in bytes (statfs of the PV's directory; name is the PV)`,
    ["name"],
    "provisioner",
    true,
  ),
  gauge(`kadalu_pvc_${which}_inodes`, `Kadalu PV ${which} inodes (statfs of the PV's directory; name is the PV)`, ["name"], "provisioner", true),
]);

/** Each brick pod's own /metrics (server/metrics.ts), on upstream's server exporter port. */
const BRICK = ["pool", "namespace", "brick"] as const;
const BRICK_METRICS: MetricSpec[] = [
  gauge("kadalu_brick_up", "1 while the brick's glusterfsd runs and answers on the brick port, else 0", BRICK, "server"),
  {
    name: "kadalu_brick_restarts_total",
    type: "counter",
    help: "Times the brick runtime started glusterfsd again after it exited",
    labels: BRICK,
    exporter: "server",
  },
  gauge("kadalu_self_heal_daemon_up", "1 while the brick pod's self-heal daemon runs, else 0 (replicated and dispersed pools only)", BRICK, "server"),
  gauge("kadalu_brick_capacity_bytes", "Size of the brick's filesystem (statvfs of the brick directory)", BRICK, "server"),
  gauge("kadalu_brick_used_bytes", "Bytes used on the brick's filesystem (statvfs of the brick directory)", BRICK, "server"),
  gauge("kadalu_brick_inodes", "Inodes of the brick's filesystem (statvfs of the brick directory)", BRICK, "server"),
  gauge("kadalu_brick_inodes_used", "Inodes used on the brick's filesystem (statvfs of the brick directory)", BRICK, "server"),
  gauge(
    "kadalu_pv_quota_limit_bytes",
    "A PV's size limit on this brick (simple-quota's limit xattr; a Disperse brick holds the limit divided by the data count)",
    [...BRICK, "pv"],
    "server",
  ),
  gauge(
    "kadalu_pv_quota_used_bytes",
    "A PV's usage on this brick as simple-quota last wrote it (on a client's statfs, as kubelet's volume stats do)",
    [...BRICK, "pv"],
    "server",
  ),
];

export const METRICS: readonly MetricSpec[] = [
  gauge("kadalu_memory_usage_in_bytes", "Kadalu Memory Usage in Bytes (resident set of the exporting process)", ["name"], "both", true),
  gauge("kadalu_cpu_usage_in_ns", "Kadalu CPU Usage in Nanoseconds (of the exporting process)", ["name"], "both", true),
  gauge("kadalu_total_number_of_containers", "Kadalu Total Number Of Containers (per brick pod)", ["name"], "operator", true),
  gauge("kadalu_total_number_of_ready_containers", "Kadalu Total Number Of Ready Containers (per brick pod)", ["name"], "operator", true),
  ...UPSTREAM_STORAGE,
  gauge("kadalu_pool_capacity_bytes", "Bytes the pool can hold, as the provisioner last recorded in its status", ["pool", "namespace"], "operator"),
  gauge("kadalu_pool_provisioned_bytes", "Bytes promised to the pool's PVs (the sum of their sizes)", ["pool", "namespace"], "operator"),
  gauge("kadalu_pool_pvs", "PersistentVolumes carved from the pool", ["pool", "namespace"], "operator"),
  gauge("kadalu_pool_bricks", "Brick pods the pool has", ["pool", "namespace"], "operator"),
  gauge("kadalu_pool_bricks_ready", "Brick pods of the pool that are ready", ["pool", "namespace"], "operator"),
  gauge(
    "kadalu_pool_state",
    "1 for the pool's current state (initializing, ready, error, stopping, blocked), 0 for the others",
    ["pool", "namespace", "state"],
    "operator",
  ),
  {
    name: "kadalu_reconcile_total",
    type: "counter",
    help: "Reconciles of a pool by outcome (success, error)",
    labels: ["pool", "namespace", "outcome"],
    exporter: "operator",
  },
  {
    name: "kadalu_reconcile_duration_seconds",
    type: "histogram",
    help: "How long a reconcile of a pool took",
    labels: ["pool", "namespace"],
    exporter: "operator",
  },
  gauge("kadalu_workqueue_depth", "Pools waiting in the operator's work queue", [], "operator"),
  { name: "kadalu_workqueue_retries_total", type: "counter", help: "Reconciles put back in the queue after a failure", labels: [], exporter: "operator" },
  {
    name: "kadalu_csi_operation_duration_seconds",
    type: "histogram",
    help: "How long a CSI call took, by method and gRPC status code",
    labels: ["method", "code"],
    exporter: "provisioner",
  },
  {
    name: "kadalu_csi_operation_errors_total",
    type: "counter",
    help: "CSI calls that failed, by method and gRPC status code",
    labels: ["method", "code"],
    exporter: "provisioner",
  },
  {
    name: "kadalu_csi_copies_total",
    type: "counter",
    help: "Snapshots and clones copied, by pool, copy kind (reflink, full) and operation (snapshot, clone)",
    labels: ["pool", "kind", "operation"],
    exporter: "provisioner",
  },
  {
    name: "kadalu_csi_copy_bytes_total",
    type: "counter",
    help: "Bytes the finished snapshots and clones hold, by pool, copy kind and operation",
    labels: ["pool", "kind", "operation"],
    exporter: "provisioner",
  },
  {
    name: "kadalu_csi_copy_written_bytes_total",
    type: "counter",
    help: "Bytes full copies (snapshots, clones) have read and written so far, by pool: their progress",
    labels: ["pool"],
    exporter: "provisioner",
  },
  ...BRICK_METRICS,
];

/** Seconds: a local create is a few ms, a Gluster one tens of ms, a stuck mount tens of seconds. */
export const CSI_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const POOL_STATES = ["initializing", "ready", "error", "stopping", "blocked"] as const;

export function metric(name: string): MetricSpec {
  const spec = METRICS.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`metric ${name} is not in the catalogue`);
  return spec;
}

export const metricsOf = (exporter: "operator" | "provisioner" | "server"): MetricSpec[] =>
  METRICS.filter((spec) => spec.exporter === exporter || spec.exporter === "both");

/** The series names a metric produces in the exposition (a histogram's _bucket, _sum and _count). */
export function seriesNames(spec: MetricSpec): string[] {
  return spec.type === "histogram" ? [`${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`] : [spec.name];
}
