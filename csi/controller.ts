/**
 * Controller service: subdirectory PVs carved from pools, idempotent by name, accounted in stat.db
 * with space reserved in memory as each create is admitted, with upstream's capacity rule (a PV fits below 90% of a pool's free space).
 */
import { isExternal, type PoolInfo } from "../src/core/info/codec.js";
import { ARCHIVED_PREFIX, claimFromParameters, volumeNameError, type PvClaim, type PvType } from "../src/core/pv-layout.js";
import { resolveSinglePvPerPool } from "../src/core/pool/types.js";
import { formatBytes } from "../src/core/units.js";
import { VIRTBLOCK_MIN_BYTES } from "./os/block.js";
import type { Driver, ServiceHandlers } from "./driver.js";
import { grpcError, Status } from "./rpc/grpc-error.js";
import type { CreateOptions, VolumeRecord, VolumeStore } from "./store/volume-store.js";
import { byCodePoint } from "../src/core/naming.js";
import { listToken, tokenStart } from "./rpc/list-token.js";
import { contentSource, meteredCopy, snapshotService, sourceLockKey, withRoom, type ContentSource } from "./snapshots.js";

export const DEFAULT_VOLUME_BYTES = 1024 ** 3;

type Capability = { block?: object; mount?: object; access_mode?: { mode?: string } };
type Range = { required_bytes?: number; limit_bytes?: number } | null | undefined;

const pyBool = (value: boolean): string => (value ? "True" : "False");

export function volumeContext(pool: PoolInfo, record?: VolumeRecord): Record<string, string> {
  const context: Record<string, string> = {
    type: pool.type,
    hostvol: pool.volname,
    pvtype: record?.pvtype ?? "subvol",
    ...(record ? { path: record.path } : {}),
    fstype: "xfs",
    single_pv_per_pool: pyBool(!record),
  };
  if (isExternal(pool)) Object.assign(context, { gvolname: pool.gluster_volname, gserver: pool.gluster_hosts, options: pool.gluster_options });
  return context;
}

function checkName(id: string | undefined, field: string): string {
  if (!id) throw grpcError(Status.INVALID_ARGUMENT, `${field} missing in request`);
  const problem = volumeNameError(id);
  if (problem) throw grpcError(Status.INVALID_ARGUMENT, `${field} "${id}" ${problem}`);
  return id;
}

/** A new volume may not take the name archiving gives: it could never be deleted, and removing it would drop another PV's row. */
function checkNewName(name: string): string {
  if (name.startsWith(ARCHIVED_PREFIX))
    throw grpcError(Status.INVALID_ARGUMENT, `name "${name}": the prefix ${ARCHIVED_PREFIX} is reserved for archived volumes`);
  return name;
}

const SINGLE_NODE_WRITERS = ["SINGLE_NODE_WRITER", "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER"];

/** Why a capability cannot be served, or undefined. */
function capabilityProblem(capability: Capability): string | undefined {
  if (!capability.access_mode?.mode || capability.access_mode.mode === "UNKNOWN") return "an access mode is required";
  return undefined;
}

/**
 * The PV type a request asks for, as upstream decides it: volumeMode Block is a rawblock PV,
 * StorageClass parameter `pv_type: block` a virtblock PV (a filesystem in a file), else a directory.
 * A block PV is one node's: only the single-node writer modes are served (upstream's rule, with ReadWriteOncePod).
 */
function requestedType(capabilities: Capability[], parameters: Record<string, string>): PvType {
  const pvtype: PvType = capabilities.some((capability) => capability.block)
    ? "rawblock"
    : (parameters.pv_type ?? "").toLowerCase() === "block"
      ? "virtblock"
      : "subvol";
  if (pvtype !== "subvol" && capabilities.some((capability) => !SINGLE_NODE_WRITERS.includes(capability.access_mode?.mode ?? ""))) {
    throw grpcError(
      Status.INVALID_ARGUMENT,
      `a ${pvtype} PV is one node's: only the access modes SINGLE_NODE_WRITER (ReadWriteOnce), SINGLE_NODE_SINGLE_WRITER and SINGLE_NODE_MULTI_WRITER (ReadWriteOncePod) are allowed`,
    );
  }
  return pvtype;
}

/** The size to make; `least`: what a clone's content needs (it is never made smaller), `why` says what it is. */
function sizeOf(
  range: Range,
  least = 0,
  why = `the volume's content source holds ${least} bytes (${formatBytes(least)})`,
): { size: number; required: number; limit: number } {
  const required = Number(range?.required_bytes ?? 0);
  const limit = Number(range?.limit_bytes ?? 0);
  if (required < 0 || limit < 0) throw grpcError(Status.INVALID_ARGUMENT, "capacity_range must not be negative");
  if (limit > 0 && required > limit) throw grpcError(Status.OUT_OF_RANGE, `required_bytes ${required} exceeds limit_bytes ${limit}`);
  if ((required > 0 && required < least) || (limit > 0 && limit < least)) {
    const asked = required > 0 && required < least ? required : limit;
    throw grpcError(Status.OUT_OF_RANGE, `${why}: the new volume must be at least that large (${formatBytes(asked)} was asked)`);
  }
  return { size: Math.max(required || Math.min(DEFAULT_VOLUME_BYTES, limit || DEFAULT_VOLUME_BYTES), least), required, limit };
}

export { listToken } from "./rpc/list-token.js";

type SourceRequest = { snapshot?: { snapshot_id?: string } | null; volume?: { volume_id?: string } | null } | null | undefined;

/** A clone is made in its source's pool: the candidates must include it (INVALID_ARGUMENT naming both otherwise). */
function clonePool(candidates: PoolInfo[], parameters: Record<string, string>, content: ContentSource): PoolInfo[] {
  if (resolveSinglePvPerPool(parameters)) throw grpcError(Status.INVALID_ARGUMENT, "a single-PV pool's volume cannot be made from a snapshot or a volume");
  if (candidates.some((pool) => pool.volname === content.pool.volname)) return [content.pool];
  const asked = candidates.map((pool) => pool.volname).join(", ");
  throw grpcError(
    Status.INVALID_ARGUMENT,
    `the content source is in pool ${content.pool.volname}, but the StorageClass selects pool ${asked}: a snapshot or clone is restored in its source's pool only`,
  );
}

export function controllerService(driver: Driver): ServiceHandlers {
  /** An External pool's PV directory gets its Gluster quota over SSH where the secret is given (upstream's behaviour); retried by the CO on failure. */
  async function externalQuota(pool: PoolInfo, record: VolumeRecord): Promise<void> {
    if (!driver.externalQuota || !isExternal(pool) || record.pvtype !== "subvol") return;
    try {
      await driver.externalQuota.limitUsage(pool.gluster_hosts, pool.gluster_volname, record.path, record.size);
    } catch (error) {
      throw grpcError(
        Status.UNAVAILABLE,
        `volume ${record.name} is created but its quota on the Gluster cluster of pool ${pool.volname} is not set yet: ${(error as Error).message}`,
      );
    }
  }

  const multiPv = (pools: PoolInfo[]): PoolInfo[] => pools.filter((pool) => !pool.single_pv_per_pool);

  /** The first multi-PV pool that holds the volume, with its record (metadata read). */
  async function locate(name: string): Promise<{ store: VolumeStore; record: VolumeRecord; pool: PoolInfo } | undefined> {
    for (const pool of multiPv(driver.pools())) {
      const store = await driver.store(pool);
      const record = await store.find(name);
      if (record) return { store, record, pool };
    }
    return undefined;
  }

  async function freeFor(pool: PoolInfo): Promise<{ store: VolumeStore; capacity: number; provisioned: number }> {
    const store = await driver.store(pool);
    const usage = await store.measure();
    return { store, capacity: usage.capacityBytes, provisioned: usage.provisionedBytes };
  }

  /** The pools a create may use: refreshed once if none matches; a clone's, its source's pool. */
  async function candidatesFor(parameters: Record<string, string>, content: ContentSource | undefined): Promise<PoolInfo[]> {
    let candidates = driver.candidates(parameters);
    if (candidates.length === 0) {
      await driver.refreshPools();
      candidates = driver.candidates(parameters);
    }
    if (candidates.length === 0 && parameters.storage_name && !driver.pool(parameters.storage_name)) {
      // Just created: the operator has not written it to kadalu-info yet (or the ConfigMap volume lags). Retryable.
      throw grpcError(
        Status.UNAVAILABLE,
        `pool ${parameters.storage_name} is not in kadalu-info yet; pools: ${
          driver
            .pools()
            .map((p) => p.volname)
            .join(", ") || "none"
        }`,
      );
    }
    if (candidates.length === 0) {
      throw grpcError(
        Status.INVALID_ARGUMENT,
        `no pool matches the StorageClass parameters ${JSON.stringify(parameters)}; pools: ${
          driver
            .pools()
            .map((p) => p.volname)
            .join(", ") || "none"
        }`,
      );
    }
    return content ? clonePool(candidates, parameters, content) : candidates;
  }

  /** A repeat of an earlier create of `name` completed (its size already counted), or undefined if no pool has it. */
  async function repeatOf(
    name: string,
    pools: PoolInfo[],
    pvtype: PvType,
    required: number,
    limit: number,
    claim: PvClaim | undefined,
  ): Promise<{ volume: object } | undefined> {
    for (const pool of pools) {
      const store = await driver.store(pool);
      // A torn metadata file is a create that never finished (never acknowledged): this call redoes it.
      const existing = await store.find(name, { incomplete: "missing" });
      if (!existing) continue;
      if (existing.pvtype !== pvtype)
        throw grpcError(Status.ALREADY_EXISTS, `volume ${name} already exists as a ${existing.pvtype} PV in pool ${pool.volname}, not ${pvtype}`);
      if (existing.size < required || (limit > 0 && existing.size > limit)) {
        throw grpcError(Status.ALREADY_EXISTS, `volume ${name} already exists with ${existing.size} bytes, incompatible with the requested range`);
      }
      // Repeat of an earlier call: complete whatever it left undone, change nothing else.
      const record = await store.place(name, existing.size, pvtype, { claim, metadataComplete: true });
      await externalQuota(pool, record);
      return { volume: { volume_id: name, capacity_bytes: record.size, volume_context: volumeContext(pool, record) } };
    }
    return undefined;
  }

  async function create(name: string, parameters: Record<string, string>, range: Range, pvtype: PvType, content?: ContentSource) {
    const { size, required, limit } = sizeOf(range, content?.minBytes, content?.minReason);
    if (pvtype === "virtblock" && size < VIRTBLOCK_MIN_BYTES) {
      throw grpcError(
        Status.OUT_OF_RANGE,
        `a virtblock PV holds an XFS filesystem, which needs at least ${formatBytes(VIRTBLOCK_MIN_BYTES)}; ${formatBytes(size)} was asked`,
      );
    }
    // The claim goes into the metadata's one write (archiving keeps the file, so storage-list can name it later).
    const claim = claimFromParameters(parameters);
    // A clone's content: the copy fills the new PV before its metadata is written, once the pool has room for it.
    const fill =
      content &&
      (async (target: string) =>
        void (await withRoom(content.store, "clone", content.bytes, `clone ${name}`, (room) =>
          meteredCopy(driver, content.pool.volname, "clone", name, content.from, target, room),
        )));
    const options: CreateOptions = { claim, ...(fill ? { fill } : {}) };
    const candidates = await candidatesFor(parameters, content);
    if (resolveSinglePvPerPool(parameters) || candidates.every((pool) => pool.single_pv_per_pool)) {
      const pool = candidates[0]!;
      return { volume: { volume_id: name, capacity_bytes: size, volume_context: volumeContext(pool) } };
    }
    const placeNew = async (measured: { pool: PoolInfo; store: VolumeStore; capacity: number; provisioned: number }[], exclusive: boolean) => {
      measured.sort((a, b) => b.capacity - b.provisioned - (a.capacity - a.provisioned));
      for (const { pool, store } of measured) {
        const record = await store.createIfFits(name, size, pvtype, { ...options, exclusive });
        if (record) {
          await externalQuota(pool, record);
          driver.reportUsage(store);
          return { volume: { volume_id: name, capacity_bytes: record.size, volume_context: volumeContext(pool, record) } };
        }
      }
      const free = measured.map(({ pool, capacity, provisioned }) => `${pool.volname} has ${formatBytes(capacity - provisioned)} free`).join(", ");
      throw grpcError(Status.RESOURCE_EXHAUSTED, `no pool has room for ${formatBytes(size)} (a volume must stay below 90% of a pool's free space): ${free}`);
    };
    // Capacity is measured while the pools are searched for the name: both are round trips on a FUSE mount.
    const pools = multiPv(candidates);
    const measuring = Promise.all(pools.map(async (pool) => ({ pool, ...(await freeFor(pool)) })));
    measuring.catch(() => undefined);
    if (pools.length === 1 && pvtype === "subvol") {
      // One pool whose ledger (fresh once measured) has no row of this name: no search first. Where a failed
      // attempt left metadata behind, the exclusive create stops at EEXIST and the search below takes over.
      const measured = await measuring;
      if (await measured[0]!.store.surelyAbsent(name)) {
        try {
          return await placeNew(measured, true);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
      }
    }
    const repeated = await repeatOf(name, pools, pvtype, required, limit, claim);
    if (repeated) return repeated;
    return placeNew(await measuring, false);
  }

  /** Creates a volume filled from its content source, locked on the source while it is copied; the response names the source. */
  async function createFrom(name: string, parameters: Record<string, string>, range: Range, pvtype: PvType, source: NonNullable<SourceRequest>) {
    const content = await contentSource(driver, locate, source);
    if (content.pvtype !== pvtype) {
      throw grpcError(
        Status.INVALID_ARGUMENT,
        `the content source is a ${content.pvtype} PV's: a volume made from it must be ${content.pvtype} too (${content.pvtype === "rawblock" ? "volumeMode Block" : content.pvtype === "virtblock" ? "StorageClass parameter pv_type: block" : "volumeMode Filesystem"}), not ${pvtype}`,
      );
    }
    const made = await create(name, parameters, range, pvtype, content);
    return { volume: { ...made.volume, content_source: content.echo } };
  }

  return {
    ...snapshotService(driver, locate),

    CreateVolume: async (request: {
      name?: string;
      capacity_range?: Range;
      volume_capabilities?: Capability[];
      parameters?: Record<string, string>;
      volume_content_source?: SourceRequest;
    }) => {
      const name = checkNewName(checkName(request.name, "name"));
      if (!request.volume_capabilities?.length) throw grpcError(Status.INVALID_ARGUMENT, "volume_capabilities missing in request");
      const problem = request.volume_capabilities.map(capabilityProblem).find(Boolean);
      if (problem) throw grpcError(Status.INVALID_ARGUMENT, problem);
      const pvtype = requestedType(request.volume_capabilities, request.parameters ?? {});
      const source = request.volume_content_source;
      if (source?.snapshot || source?.volume) {
        return driver.volumeLocks.run(name, () =>
          driver.volumeLocks.run(sourceLockKey(source), () =>
            driver.remountingOnce(() => createFrom(name, request.parameters ?? {}, request.capacity_range, pvtype, source)),
          ),
        );
      }
      return driver.volumeLocks.run(name, () => driver.remountingOnce(() => create(name, request.parameters ?? {}, request.capacity_range, pvtype)));
    },

    DeleteVolume: async (request: { volume_id?: string }) => {
      const name = checkName(request.volume_id, "volume_id");
      await driver.volumeLocks.run(name, () =>
        driver.remountingOnce(async () => {
          for (const pool of multiPv(driver.pools())) {
            const store = await driver.store(pool);
            if (await store.deleteNamed(name, pool.pvReclaimPolicy)) {
              driver.reportUsage(store);
              return;
            }
          }
        }),
      );
      return {};
    },

    ControllerExpandVolume: async (request: { volume_id?: string; capacity_range?: Range }) => {
      const name = checkName(request.volume_id, "volume_id");
      if (!request.capacity_range) throw grpcError(Status.INVALID_ARGUMENT, "capacity_range missing in request");
      const { size } = sizeOf(request.capacity_range);
      return driver.volumeLocks.run(name, () =>
        driver.remountingOnce(async () => {
          const found = await locate(name);
          if (!found) throw grpcError(Status.NOT_FOUND, `volume ${name} not found`);
          if (size <= found.record.size) return { capacity_bytes: found.record.size, node_expansion_required: false };
          const current = found.record;
          const record = await found.store.expandIfFits(current, size);
          if (!record) {
            const usage = found.store.usage();
            throw grpcError(
              Status.RESOURCE_EXHAUSTED,
              `pool ${found.pool.volname} has no room to grow ${name} by ${formatBytes(size - current.size)} (${formatBytes(usage.capacityBytes - usage.provisionedBytes)} free; growth must stay below 90% of it)`,
            );
          }
          await externalQuota(found.pool, record);
          driver.reportUsage(found.store);
          // A block PV's loop device (and a virtblock's XFS) grow on its node: NodeExpandVolume.
          return { capacity_bytes: record.size, node_expansion_required: record.pvtype !== "subvol" };
        }),
      );
    },

    ValidateVolumeCapabilities: async (request: {
      volume_id?: string;
      volume_context?: Record<string, string>;
      volume_capabilities?: Capability[];
      parameters?: Record<string, string>;
    }) => {
      const name = checkName(request.volume_id, "volume_id");
      if (!request.volume_capabilities?.length) throw grpcError(Status.INVALID_ARGUMENT, "volume_capabilities missing in request");
      const found = await locate(name);
      if (!found) throw grpcError(Status.NOT_FOUND, `volume ${name} not found`);
      const problem =
        request.volume_capabilities.map(capabilityProblem).find(Boolean) ??
        (request.volume_capabilities.some((capability) => Boolean(capability.block) !== (found.record.pvtype === "rawblock"))
          ? `volume ${name} is a ${found.record.pvtype} PV: ${found.record.pvtype === "rawblock" ? "only volumeMode Block" : "only volumeMode Filesystem"} fits it`
          : undefined);
      if (problem) return { message: problem };
      return {
        confirmed: { volume_context: request.volume_context ?? {}, volume_capabilities: request.volume_capabilities, parameters: request.parameters ?? {} },
      };
    },

    ListVolumes: async (request: { max_entries?: number; starting_token?: string }) => {
      const max = request.max_entries ?? 0;
      if (max < 0) throw grpcError(Status.INVALID_ARGUMENT, "max_entries must not be negative");
      const after = tokenStart(request.starting_token ?? "");
      const records: VolumeRecord[] = [];
      for (const pool of multiPv(driver.pools())) records.push(...(await driver.store(pool)).list());
      const sorted = records.sort((a, b) => byCodePoint(a.name, b.name)).filter((record) => record.name > after);
      const page = max > 0 ? sorted.slice(0, max) : sorted;
      const pools = new Map(driver.pools().map((pool) => [pool.volname, pool]));
      return {
        entries: page.map((record) => ({
          volume: { volume_id: record.name, capacity_bytes: record.size, volume_context: volumeContext(pools.get(record.pool)!, record) },
        })),
        next_token: page.length < sorted.length ? listToken(page[page.length - 1]!.name) : "",
      };
    },

    GetCapacity: async (request: { parameters?: Record<string, string> }) => {
      let best = 0;
      for (const pool of multiPv(driver.candidates(request.parameters ?? {}))) {
        const { capacity, provisioned } = await freeFor(pool);
        best = Math.max(best, Math.floor(((capacity - provisioned) * 90) / 100));
      }
      return { available_capacity: best };
    },

    ControllerGetCapabilities: async () => ({
      capabilities: [
        "CREATE_DELETE_VOLUME",
        "LIST_VOLUMES",
        "GET_CAPACITY",
        "EXPAND_VOLUME",
        "CREATE_DELETE_SNAPSHOT",
        "LIST_SNAPSHOTS",
        "CLONE_VOLUME",
        "SINGLE_NODE_MULTI_WRITER",
      ].map((type) => ({ rpc: { type } })),
    }),
  };
}
