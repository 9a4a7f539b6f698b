/**
 * CSI snapshots and clones: CreateSnapshot, DeleteSnapshot and ListSnapshots over each pool's
 * SnapshotShelf, and the content source of a CreateVolume (a snapshot, or a volume) as the copy that
 * fills the new PV. A snapshot's id is `<pool>/<name>` (the request's name); a clone is made in its
 * source's pool. Copies are made by copy-tree.ts: by reflink where the pool's filesystem allows it, else
 * read and written, with progress in the log and the metrics (CopyMeter).
 * VolumeSnapshotClass parameters are accepted and ignored: none is documented yet.
 */
import { join } from "node:path";
import type { PoolInfo } from "../src/core/info/codec.js";
import { byCodePoint } from "../src/core/naming.js";
import { volumeNameError, type PvType } from "../src/core/pv-layout.js";
import { formatBytes } from "../src/core/units.js";
import type { CopyOperation } from "./store/copy-meter.js";
import { copyTree, CopyError, treeBytes, type CopyResult } from "./store/copy-tree.js";
import type { Driver, ServiceHandlers } from "./driver.js";
import { GrpcError, grpcError, Status } from "./rpc/grpc-error.js";
import { listToken, tokenStart } from "./rpc/list-token.js";
import type { CopyReservation, VolumeRecord, VolumeStore } from "./store/volume-store.js";
import { snapshotNameError, type SnapshotRecord } from "./store/snapshot-shelf.js";

export type Locate = (name: string) => Promise<{ store: VolumeStore; record: VolumeRecord; pool: PoolInfo } | undefined>;

const PROGRESS_EVERY_MS = 5000;

export const snapshotId = (pool: string, name: string): string => `${pool}/${name}`;

/** `<pool>/<name>`, or undefined for an id this driver never gave. */
export function parseSnapshotId(id: string): { pool: string; name: string } | undefined {
  const slash = id.indexOf("/");
  if (slash <= 0) return undefined;
  const pool = id.slice(0, slash);
  const name = id.slice(slash + 1);
  return snapshotNameError(name) ? undefined : { pool, name };
}

/** The key a snapshot's calls are serialised on (volume names hold no "/", so no volume shares it). */
const snapshotKey = (name: string): string => `snapshot/${name}`;

function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function toCsi(record: SnapshotRecord): object {
  return {
    size_bytes: record.size,
    snapshot_id: snapshotId(record.pool, record.name),
    source_volume_id: record.source,
    creation_time: timestamp(record.createdAt),
    ready_to_use: true,
    group_snapshot_id: "",
  };
}

/** A copy's failure as the CO should see it; what the copy made is already removed. */
function copyFailure(error: unknown, what: string): Error {
  if (error instanceof GrpcError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT")
    return grpcError(Status.RESOURCE_EXHAUSTED, `${what}: the pool ran out of room during the copy (${(error as Error).message})`);
  if (error instanceof CopyError && error.code === "CHANGING") return grpcError(Status.UNAVAILABLE, `${what}: ${error.message}; try again`);
  return grpcError(Status.INTERNAL, `${what}: ${(error as Error).message}`);
}

/**
 * Copies `from` to `to` for `operation`, with progress in the log every few seconds and in the metrics,
 * and in `room` (what the pool holds for it shrinks as it is written).
 */
export async function meteredCopy(
  driver: Driver,
  pool: string,
  operation: CopyOperation,
  label: string,
  from: string,
  to: string,
  room?: CopyReservation,
): Promise<CopyResult> {
  const started = Date.now();
  let written = 0;
  let logged = started;
  const progress = (bytes: number): void => {
    written += bytes;
    room?.wrote(bytes);
    driver.copies.progress(pool, bytes);
    if (Date.now() - logged < PROGRESS_EVERY_MS) return;
    logged = Date.now();
    driver.log(`${operation} ${label} in pool ${pool}: ${formatBytes(written)} copied so far (full copy)`);
  };
  try {
    const result = await copyTree(from, to, { progress, log: driver.log });
    driver.copies.finished({ pool, kind: result.kind, operation, bytes: result.bytes, copiedBytes: result.copiedBytes });
    const seconds = (Date.now() - started) / 1000;
    driver.log(
      `${operation} ${label} in pool ${pool}: ${result.kind} copy of ${result.files} file(s), ${formatBytes(result.bytes)} held, ${formatBytes(result.copiedBytes)} written, in ${seconds.toFixed(1)}s`,
    );
    return result;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && (error as NodeJS.ErrnoException).path === from)
      throw grpcError(Status.NOT_FOUND, `${operation} ${label}: its source is gone`);
    throw copyFailure(error, `${operation} ${label} in pool ${pool}`);
  }
}

/** The bytes `path` holds (NOT_FOUND when it is gone): measured before a copy, so a copy that cannot fit never starts. */
async function sourceBytes(path: string, what: string): Promise<number> {
  try {
    return await treeBytes(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw grpcError(Status.NOT_FOUND, `${what} is gone`);
    throw grpcError(Status.INTERNAL, `${what} cannot be measured: ${(error as Error).message}`);
  }
}

/**
 * Room for a copy of `bytes` held in `store` (RESOURCE_EXHAUSTED naming the sizes when there is none),
 * `copy` run, the room given back whatever happens.
 */
export async function withRoom<T>(
  store: VolumeStore,
  kind: "snapshot" | "clone",
  bytes: number,
  what: string,
  copy: (room: CopyReservation) => Promise<T>,
): Promise<T> {
  const room = await store.reserveCopy(bytes, kind);
  if ("refused" in room) throw grpcError(Status.RESOURCE_EXHAUSTED, `${what} needs room for ${formatBytes(bytes)}: ${room.refused}`);
  try {
    return await copy(room);
  } finally {
    room.release();
  }
}

export interface ContentSource {
  pool: PoolInfo;
  /** The pool's store, where the copy's room is held. */
  store: VolumeStore;
  /** The bytes the copy will hold. */
  bytes: number;
  /** The new PV must be at least this large: the snapshot's bytes, or the source PV's size (its content where that is larger). */
  minBytes: number;
  /** Why, in OUT_OF_RANGE's words. */
  minReason: string;
  pvtype: PvType;
  /** Where the copy comes from (absolute). */
  from: string;
  /** The request's content source, echoed in the response. */
  echo: object;
}

type SourceRequest = { snapshot?: { snapshot_id?: string } | null; volume?: { volume_id?: string } | null } | null | undefined;

/** The key a clone's source is locked on while it is copied (computed before the lookup). */
export function sourceLockKey(source: SourceRequest): string {
  if (source?.snapshot) return snapshotKey(parseSnapshotId(source.snapshot.snapshot_id ?? "")?.name ?? "");
  return source?.volume?.volume_id ?? "";
}

/** What a CreateVolume's volume_content_source names: NOT_FOUND when it does not exist. */
export async function contentSource(driver: Driver, locate: Locate, source: NonNullable<SourceRequest>): Promise<ContentSource> {
  if (source.snapshot) {
    const id = source.snapshot.snapshot_id ?? "";
    if (!id) throw grpcError(Status.INVALID_ARGUMENT, "volume_content_source.snapshot.snapshot_id missing in request");
    const parsed = parseSnapshotId(id);
    const pool = parsed && driver.pool(parsed.pool);
    if (!parsed || !pool || pool.single_pv_per_pool) throw grpcError(Status.NOT_FOUND, `snapshot ${JSON.stringify(id)} not found`);
    const store = await driver.store(pool);
    const record = await store.shelf.find(parsed.name);
    if (!record) throw grpcError(Status.NOT_FOUND, `snapshot ${id} not found`);
    const reason = `snapshot ${id} holds ${record.size} bytes (${formatBytes(record.size)})`;
    return {
      pool,
      store,
      bytes: record.size,
      minBytes: record.size,
      minReason: reason,
      pvtype: record.pvtype,
      from: store.shelf.dataOf(record),
      echo: { snapshot: { snapshot_id: id } },
    };
  }
  if (source.volume) {
    const id = source.volume.volume_id ?? "";
    if (!id) throw grpcError(Status.INVALID_ARGUMENT, "volume_content_source.volume.volume_id missing in request");
    const found = volumeNameError(id) ? undefined : await locate(id);
    if (!found) throw grpcError(Status.NOT_FOUND, `source volume ${id} not found`);
    const from = join(found.store.root, found.record.path);
    // Where the quota lags (or a pool has none), the content can outgrow the PV's size: the larger one counts.
    const bytes = await sourceBytes(from, `source volume ${id}`);
    const size = found.record.size;
    const reason =
      bytes > size
        ? `source volume ${id} holds ${bytes} bytes (${formatBytes(bytes)}), more than its size of ${formatBytes(size)}`
        : `source volume ${id} is ${size} bytes (${formatBytes(size)})`;
    return {
      pool: found.pool,
      store: found.store,
      bytes,
      minBytes: Math.max(bytes, size),
      minReason: reason,
      pvtype: found.record.pvtype,
      from,
      echo: { volume: { volume_id: id } },
    };
  }
  throw grpcError(Status.INVALID_ARGUMENT, "volume_content_source names neither a snapshot nor a volume");
}

export function snapshotService(driver: Driver, locate: Locate): ServiceHandlers {
  const multiPv = (): PoolInfo[] => driver.pools().filter((pool) => !pool.single_pv_per_pool);

  /** The snapshot of that name in any pool (names are unique across pools: the CO knows them by name). */
  async function findAnywhere(name: string): Promise<SnapshotRecord | undefined> {
    for (const pool of multiPv()) {
      const record = await (await driver.store(pool)).shelf.find(name);
      if (record) return record;
    }
    return undefined;
  }

  async function take(name: string, sourceId: string): Promise<object> {
    const existing = await findAnywhere(name);
    if (existing) {
      if (existing.source !== sourceId)
        throw grpcError(Status.ALREADY_EXISTS, `snapshot ${name} already exists, of volume ${existing.source}, not ${sourceId}`);
      return { snapshot: toCsi(existing) };
    }
    const found = volumeNameError(sourceId) ? undefined : await locate(sourceId);
    if (!found) throw grpcError(Status.NOT_FOUND, `source volume ${sourceId} not found`);
    const { store, record } = found;
    const path = join(store.root, record.path);
    const bytes = await sourceBytes(path, `snapshot ${name}: its source volume ${sourceId}`);
    const snapshot = await withRoom(store, "snapshot", bytes, `snapshot ${name} of volume ${sourceId}`, (room) =>
      store.shelf.take(name, { name: sourceId, pvtype: record.pvtype, path }, (from, to) => meteredCopy(driver, store.pool, "snapshot", name, from, to, room)),
    );
    driver.reportUsage(store);
    return { snapshot: toCsi(snapshot) };
  }

  async function list(request: { snapshot_id?: string; source_volume_id?: string }): Promise<SnapshotRecord[]> {
    if (request.snapshot_id) {
      const parsed = parseSnapshotId(request.snapshot_id);
      const pool = parsed && driver.pool(parsed.pool);
      if (!parsed || !pool || pool.single_pv_per_pool) return [];
      const record = await (await driver.store(pool)).shelf.find(parsed.name);
      return record && (!request.source_volume_id || record.source === request.source_volume_id) ? [record] : [];
    }
    const records: SnapshotRecord[] = [];
    for (const pool of multiPv()) records.push(...(await (await driver.store(pool)).shelf.list()));
    return request.source_volume_id ? records.filter((record) => record.source === request.source_volume_id) : records;
  }

  return {
    CreateSnapshot: async (request: { name?: string; source_volume_id?: string; parameters?: Record<string, string> }) => {
      const name = request.name ?? "";
      if (!name) throw grpcError(Status.INVALID_ARGUMENT, "name missing in request");
      const problem = snapshotNameError(name);
      if (problem) throw grpcError(Status.INVALID_ARGUMENT, `snapshot name ${JSON.stringify(name)} ${problem}`);
      const sourceId = request.source_volume_id ?? "";
      if (!sourceId) throw grpcError(Status.INVALID_ARGUMENT, "source_volume_id missing in request");
      // The source is locked too: it is not deleted or grown half way through its copy.
      return driver.volumeLocks.run(snapshotKey(name), () => driver.volumeLocks.run(sourceId, () => driver.remountingOnce(() => take(name, sourceId))));
    },

    DeleteSnapshot: async (request: { snapshot_id?: string }) => {
      const id = request.snapshot_id ?? "";
      if (!id) throw grpcError(Status.INVALID_ARGUMENT, "snapshot_id missing in request");
      const parsed = parseSnapshotId(id);
      const pool = parsed && driver.pool(parsed.pool);
      // An id this driver never gave, or of a pool gone: nothing to delete (the call is idempotent).
      if (!parsed || !pool || pool.single_pv_per_pool) return {};
      await driver.volumeLocks.run(snapshotKey(parsed.name), () =>
        driver.remountingOnce(async () => {
          const store = await driver.store(pool);
          await store.shelf.remove(parsed.name);
          driver.reportUsage(store);
        }),
      );
      return {};
    },

    ListSnapshots: async (request: { max_entries?: number; starting_token?: string; snapshot_id?: string; source_volume_id?: string }) => {
      const max = request.max_entries ?? 0;
      if (max < 0) throw grpcError(Status.INVALID_ARGUMENT, "max_entries must not be negative");
      const after = tokenStart(request.starting_token ?? "");
      const records = (await list(request)).map((record) => ({ id: snapshotId(record.pool, record.name), record }));
      const sorted = records.sort((a, b) => byCodePoint(a.id, b.id)).filter(({ id }) => byCodePoint(id, after) > 0);
      const page = max > 0 ? sorted.slice(0, max) : sorted;
      return {
        entries: page.map(({ record }) => ({ snapshot: toCsi(record) })),
        next_token: page.length < sorted.length ? listToken(page[page.length - 1]!.id) : "",
      };
    },
  };
}
