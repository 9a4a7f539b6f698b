/**
 * Whether a PVC could be created on a pool now. The operator's `ready` says the brick pods and the
 * StorageClass exist; only the CSI provisioner knows it has mounted the pool and read its stat.db, and
 * it says so by recording the pool's usage in the status (csi/driver.ts mountAll). Single-PV pools are
 * never mounted by the provisioner: ready is enough.
 */
import type { KadaluStorage } from "../../core/pool/types.js";

/** What is still missing, in words, or undefined when the pool takes PVCs. */
export function notYetUsable(pool: KadaluStorage): string | undefined {
  if (pool.status?.state !== "ready") return `pool "${pool.metadata.name}" is ${pool.status?.state ?? "not reconciled yet"}`;
  if (pool.spec.single_pv_per_pool || pool.status.usage) return undefined;
  return `pool "${pool.metadata.name}" is ready; waiting for the CSI provisioner to mount it and read its stat.db`;
}
