/**
 * The snapshots of Kadalu pools, from two lists (every VolumeSnapshot, every VolumeSnapshotContent): the
 * contents of the Kadalu driver name their pool in their handle, their VolumeSnapshots give the source PVC.
 * Used by `snapshot-list` and by `storage-remove`'s refusal.
 */
import { ClusterError } from "../../core/errors.js";
import { SNAPSHOT_API } from "../../core/manifests/snapshots.js";
import { STORAGE_CLASS_PREFIX } from "../../core/naming.js";
import {
  pendingRows,
  rowOrder,
  snapshotRows,
  type SnapshotRow,
  type VolumeSnapshotContentView,
  type VolumeSnapshotView,
} from "../../core/cluster-snapshots.js";
import type { Kube } from "../../kube/client.js";
import { servesSnapshotContents } from "../install/snapshot-support.js";

const classPool = (name: string): string | undefined => (name.startsWith(STORAGE_CLASS_PREFIX) ? name.slice(STORAGE_CLASS_PREFIX.length) : undefined);

/** Every snapshot of a Kadalu pool (of `pool` only, when given), pending ones included; undefined when the cluster has no snapshot kinds. */
export async function listSnapshots(kube: Kube, pool?: string): Promise<SnapshotRow[] | undefined> {
  if (!(await servesSnapshotContents(kube))) return undefined;
  const [snapshots, contents] = await Promise.all([
    kube.listObjects(SNAPSHOT_API, "VolumeSnapshot") as Promise<unknown> as Promise<VolumeSnapshotView[]>,
    kube.listObjects(SNAPSHOT_API, "VolumeSnapshotContent") as Promise<unknown> as Promise<VolumeSnapshotContentView[]>,
  ]);
  const rows = snapshotRows(snapshots, contents);
  return [...rows, ...pendingRows(snapshots, rows, classPool)].filter((row) => !pool || row.pool === pool).sort(rowOrder);
}

/** As listSnapshots, but a cluster without the kinds is an error that says how to add them. */
export async function requireSnapshots(kube: Kube, namespace: string, pool?: string): Promise<SnapshotRow[]> {
  const rows = await listSnapshots(kube, pool);
  if (rows) return rows;
  const install = `install --snapshot-controller${namespace === "kadalu" ? "" : ` -n ${namespace}`}`;
  throw new ClusterError(`the cluster has no VolumeSnapshot kinds (${SNAPSHOT_API}), so no snapshots; add them with: kubectl kadalu ${install}`);
}
