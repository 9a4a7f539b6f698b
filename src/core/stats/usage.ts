/** Pool usage from stat.db rows: what is provisioned (Σ PV sizes and Σ snapshot sizes) against the pool's capacity. */

export interface PvTotals {
  count: number;
  sum: number;
  min: number | null;
  avg: number | null;
  max: number | null;
}

/** The snapshots a pool keeps (stat.db's `snapshot_stats`): they take room as PVs do. */
export interface SnapshotTotals {
  count: number;
  sum: number;
}

export const NO_SNAPSHOTS: SnapshotTotals = { count: 0, sum: 0 };

export interface PoolUsage {
  capacityBytes: number;
  provisionedBytes: number;
  utilizationPercent: number;
  pvCount: number;
  minPvBytes: number | null;
  avgPvBytes: number | null;
  maxPvBytes: number | null;
  snapshotCount: number;
  snapshotBytes: number;
}

/** Provisioned is what the CSI provisioner admits against: the PVs' sizes and the snapshots' bytes. */
export function summarizeUsage(capacityBytes: number | null, totals: PvTotals, snapshots: SnapshotTotals = NO_SNAPSHOTS): PoolUsage {
  const capacity = capacityBytes ?? 0;
  const provisioned = (totals.count > 0 ? totals.sum : 0) + snapshots.sum;
  return {
    capacityBytes: capacity,
    provisionedBytes: provisioned,
    utilizationPercent: capacity > 0 ? Math.round((provisioned * 1000) / capacity) / 10 : 0,
    pvCount: totals.count,
    minPvBytes: totals.count > 0 ? totals.min : null,
    avgPvBytes: totals.count > 0 && totals.avg !== null ? Math.round(totals.avg) : null,
    maxPvBytes: totals.count > 0 ? totals.max : null,
    snapshotCount: snapshots.count,
    snapshotBytes: snapshots.sum,
  };
}

/** Upstream's capacity rule (the CSI controller's `is_hosting_volume_free`): a PV, or an expansion delta, fits if it is below 90% of the free space. */
export function fitsInPool(requiredBytes: number, capacityBytes: number, provisionedBytes: number): boolean {
  const free = capacityBytes - provisionedBytes;
  return requiredBytes < free - (free * 10) / 100;
}
