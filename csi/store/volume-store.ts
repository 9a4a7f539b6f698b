/**
 * What the CSI services may rely on from the store of one pool's volumes, whatever keeps them (as the CSI
 * hostpath driver's `state.State`). PoolStore keeps them in upstream's on-disk layout; a second store keeps
 * this whole contract or is not one. The rules every method keeps:
 * - Lookups answer, never throw, for a volume that is not there: `find` of a missing volume (or of a name
 *   that is no valid volume name) is undefined. An archived volume is found under its archived name.
 * - Idempotent: a mutating call repeated with the same arguments completes what an interrupted one left
 *   (a crash included) and changes nothing else. Deleting a missing volume is not an error.
 * - Durable: a mutating call settles only once everything it records (files, metadata, stat.db row) is
 *   durable; what a crash leaves half done, the next start repairs.
 * - Confined: every path it touches stays under the pool root; a path that would leave it is refused
 *   (INVALID_ARGUMENT).
 * - Serial per name, parallel across names: the caller runs the calls for one volume name one at a time
 *   (the driver's volume locks); calls for different names may interleave and the accounting stays exact.
 * - Admission and reservation in one place: `createIfFits` and `expandIfFits` check the room left and
 *   count the new size in one turn of the event loop, so no other create or expansion sees the space
 *   between the check and the reservation. The rule is upstream's (`fitsInPool`: below 90% of the free space).
 */
import type { PvClaim, PvType } from "../../src/core/pv-layout.js";
import type { SnapshotShelf } from "./snapshot-shelf.js";

export interface VolumeRecord {
  name: string;
  pool: string;
  size: number;
  /** Relative to the pool root: `subvol/ab/cd/<name>` (a directory), or upstream's `virtblock/...` and `rawblock/...` (a file). */
  path: string;
  pvtype: PvType;
  /** The claim it was created for, where the create named one (kept in its metadata, so archiving keeps it). */
  claim?: PvClaim;
}

/** A volume's name, type and path, as a delete needs them. */
export type VolumeLocation = Pick<VolumeRecord, "name" | "path" | "pvtype">;

export type ReclaimPolicy = "delete" | "archive" | "retain";

export interface Usage {
  capacityBytes: number;
  /** PVs' and snapshots' sizes, reservations of creates not yet durable included. */
  provisionedBytes: number;
  pvCount: number;
}

export interface CreateOptions {
  /** A repeat of a create whose metadata is whole (it may have been acknowledged): that file is never rewritten. */
  metadataComplete?: boolean;
  /** Fails with EEXIST where the volume's metadata exists already (a directory PV only). */
  exclusive?: boolean;
  claim?: PvClaim;
  /**
   * Makes the volume's content at the path given (a clone's copy), which must not exist before; its
   * metadata is written only after it, so a volume is found only once whole.
   */
  fill?: (target: string) => Promise<void>;
}

/** Room held for a copy under way, from its admission (`reserveCopy`) until `release`. */
export interface CopyReservation {
  /** A full copy wrote `bytes` more: the free space it still needs shrinks by as much. */
  wrote(bytes: number): void;
  /** The copy ended (whole, with its row counted, or removed): the room goes back. Idempotent. */
  release(): void;
}

/** Why a copy does not fit, with the sizes that decided it. */
export interface CopyRefusal {
  refused: string;
}

export interface VolumeStore {
  /** The pool's name, as in `kadalu-info`. */
  readonly pool: string;
  /** Where the pool is mounted; every record's `path` is relative to it. */
  readonly root: string;
  /** The pool's snapshots, accounted in the same stat.db. */
  readonly shelf: SnapshotShelf;

  /**
   * The volume's record, undefined if it does not exist. `incomplete`: what a create that never finished
   * writing its metadata reads as ("throw", the default: INTERNAL; "missing": undefined, so a retry redoes it).
   */
  find(name: string, options?: { incomplete?: "throw" | "missing" }): Promise<VolumeRecord | undefined>;

  /** True only when `name` surely has no volume here (so a create need not look first); false when unsure. */
  surelyAbsent(name: string): Promise<boolean>;

  /** Every whole volume of the pool (torn metadata skipped), in no particular order. */
  list(): VolumeRecord[];

  /** Measures the pool's capacity (cached briefly) and waits for the accounting to be current. */
  measure(): Promise<Usage>;

  /** The last measured capacity and what is provisioned now, reservations included; no I/O. */
  usage(): Usage;

  /**
   * Admission and reservation: undefined, with nothing done, when `size` bytes do not fit in the room
   * `usage()` leaves (measure first); else the volume is reserved before the call first yields, and created
   * as `place` does.
   */
  createIfFits(name: string, size: number, pvtype: PvType, options?: CreateOptions): Promise<VolumeRecord | undefined>;

  /**
   * Creates (or completes) the volume without an admission check: for a repeat of a create that was
   * admitted before, whose size is already counted.
   */
  place(name: string, size: number, pvtype: PvType, options?: CreateOptions): Promise<VolumeRecord>;

  /**
   * Grows the volume to `size` bytes (quota, or a block PV's file) if the growth fits in the room the
   * measured pool leaves; undefined, with nothing done, if it does not.
   */
  expandIfFits(record: VolumeRecord, size: number): Promise<VolumeRecord | undefined>;

  /**
   * Admission and reservation of a copy of `bytes` (a snapshot, or a clone's content), checked and held in
   * one turn: the pool's filesystem must have that much free, less what copies under way have still to
   * write; a snapshot's bytes must also fit as a PV's size does (`fitsInPool`), and count as provisioned
   * until released (its row counts them from then on). A clone's room as provisioned is its PV's, reserved
   * by `createIfFits`.
   */
  reserveCopy(bytes: number, kind: "snapshot" | "clone"): Promise<CopyReservation | CopyRefusal>;

  /** Deletes, archives or retains `name` by `policy`; false when the pool has no volume of that name. */
  deleteNamed(name: string, policy: ReclaimPolicy): Promise<boolean>;
}
