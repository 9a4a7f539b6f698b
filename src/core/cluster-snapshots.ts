/**
 * Snapshots as users see them: which copy a pool's snapshots and clones are, and the rows of
 * `snapshot-list` built from the cluster's VolumeSnapshot and VolumeSnapshotContent objects. Pure.
 */
import { CSI_DRIVER_NAME } from "./kube-vocabulary.js";
import type { PoolType } from "./pool/types.js";

/** The annotation on a pool's VolumeSnapshotClass that says which copy its snapshots and clones are. */
export const COPY_KIND_ANNOTATION = "kadalu.io/copy-kind";
export type CopyKind = "reflink" | "full";

/**
 * Pool types whose snapshots and clones share extents with their source. None yet: the CSI copies through
 * the pool's FUSE mount, and FUSE has neither FICLONE nor a copy_file_range handler, so every Gluster pool
 * copies in full. libgfapi's glfs_copy_file_range cannot stand in: no cluster translator (replicate,
 * distribute, disperse) implements the fop, in 10.3 or since (upstream gluster/glusterfs#4454, #4453), and
 * the default passes it to the first child. On Replica3 with reflink XFS bricks only the first brick got the
 * data (shared extents), the others kept a 0-byte file with no pending heal marks, reads through gfapi
 * returned 0 bytes, and a full heal later copied it in full; on Disperse the clone reads back empty. A type
 * joins this set only with a test on its own bricks that shows every copy whole.
 */
const REFLINK_POOL_TYPES: ReadonlySet<PoolType> = new Set<PoolType>();

export function copyKindOf(type: PoolType): CopyKind {
  return REFLINK_POOL_TYPES.has(type) ? "reflink" : "full";
}

/**
 * The pool a snapshot belongs to, from its CSI handle `<pool>/<name>` (the driver's snapshot id); undefined
 * for a handle of another form.
 */
export function poolOfHandle(handle: string | undefined): string | undefined {
  const slash = handle?.indexOf("/") ?? -1;
  return handle && slash > 0 ? handle.slice(0, slash) : undefined;
}

export interface VolumeSnapshotView {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  spec?: { source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string }; volumeSnapshotClassName?: string };
  status?: { boundVolumeSnapshotContentName?: string; readyToUse?: boolean; restoreSize?: string; error?: { message?: string } };
}

export interface VolumeSnapshotContentView {
  metadata: { name: string; creationTimestamp?: string };
  spec?: {
    driver?: string;
    deletionPolicy?: string;
    volumeSnapshotRef?: { name?: string; namespace?: string };
    source?: { snapshotHandle?: string; volumeHandle?: string };
  };
  status?: { snapshotHandle?: string; readyToUse?: boolean; restoreSize?: number; error?: { message?: string } };
}

export interface SnapshotRow {
  pool: string;
  namespace: string;
  /** The source PVC, or "" for a snapshot pre-provisioned from a handle. */
  pvc: string;
  name: string;
  content: string;
  /** Bytes; undefined until the driver reported it. */
  sizeBytes?: number;
  ready: boolean;
  /** The snapshot's creation time (the content's for a content without a VolumeSnapshot). */
  created?: string;
  /** Why it is not ready, as the controller or the sidecar said. */
  error?: string;
}

const handleOf = (content: VolumeSnapshotContentView): string | undefined => content.status?.snapshotHandle ?? content.spec?.source?.snapshotHandle;
const errorOf = (snapshot: VolumeSnapshotView | undefined, content: VolumeSnapshotContentView): string | undefined =>
  snapshot?.status?.error?.message ?? content.status?.error?.message;

function rowOf(pool: string, content: VolumeSnapshotContentView, snapshot: VolumeSnapshotView | undefined): SnapshotRow {
  const ref = content.spec?.volumeSnapshotRef ?? {};
  const size = content.status?.restoreSize;
  const error = errorOf(snapshot, content);
  return {
    pool,
    namespace: ref.namespace ?? "",
    pvc: snapshot?.spec?.source?.persistentVolumeClaimName ?? "",
    name: ref.name ?? "",
    content: content.metadata.name,
    ...(typeof size === "number" ? { sizeBytes: size } : {}),
    ready: snapshot?.status?.readyToUse ?? content.status?.readyToUse ?? false,
    created: snapshot?.metadata.creationTimestamp ?? content.metadata.creationTimestamp,
    ...(error ? { error } : {}),
  };
}

/** Pool, namespace, name: the order snapshot-list prints. */
export const rowOrder = (a: SnapshotRow, b: SnapshotRow): number =>
  a.pool.localeCompare(b.pool) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

/**
 * One row per VolumeSnapshotContent of the Kadalu driver whose handle names a pool, with its
 * VolumeSnapshot where one is bound to it; sorted by pool, namespace and name.
 */
export function snapshotRows(snapshots: VolumeSnapshotView[], contents: VolumeSnapshotContentView[]): SnapshotRow[] {
  const byRef = new Map(snapshots.map((s) => [`${s.metadata.namespace ?? ""}/${s.metadata.name}`, s]));
  const rows: SnapshotRow[] = [];
  for (const content of contents) {
    const pool = content.spec?.driver === CSI_DRIVER_NAME ? poolOfHandle(handleOf(content)) : undefined;
    if (!pool) continue;
    const ref = content.spec?.volumeSnapshotRef;
    rows.push(rowOf(pool, content, byRef.get(`${ref?.namespace ?? ""}/${ref?.name ?? ""}`)));
  }
  return rows.sort(rowOrder);
}

/**
 * The pool of each VolumeSnapshot of the Kadalu driver that is not bound yet (no handle, so not in the
 * rows): by its class's name `kadalu.<pool>`; such snapshots are pending, and listed as such.
 */
export function pendingRows(snapshots: VolumeSnapshotView[], rows: SnapshotRow[], classPool: (className: string) => string | undefined): SnapshotRow[] {
  const listed = new Set(rows.map((row) => `${row.namespace}/${row.name}`));
  return snapshots
    .flatMap((s) => {
      const key = `${s.metadata.namespace ?? ""}/${s.metadata.name}`;
      const pool = s.spec?.volumeSnapshotClassName ? classPool(s.spec.volumeSnapshotClassName) : undefined;
      if (listed.has(key) || !pool) return [];
      return [
        {
          pool,
          namespace: s.metadata.namespace ?? "",
          pvc: s.spec?.source?.persistentVolumeClaimName ?? "",
          name: s.metadata.name,
          content: "",
          ready: false,
          created: s.metadata.creationTimestamp,
          ...(s.status?.error?.message ? { error: s.status.error.message } : {}),
        },
      ];
    })
    .sort(rowOrder);
}
