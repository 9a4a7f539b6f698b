/**
 * The PVs of one mounted pool, in upstream's on-disk layout: the directory, its metadata JSON, quota
 * xattrs, and the stat.db row (through the pool's Ledger: in memory at once, durable by group commit).
 * Calls for one volume name are serialised by the driver; calls for different names run side by side.
 * Every step is idempotent, so a repeated call completes what a crash left half done, and the steps are
 * ordered so that what a crash leaves is repaired at the next start (the metadata file is the truth):
 * - create: the directory (+ quota xattrs), the metadata (written, then fdatasync'd) and the row's commit
 *   side by side; nothing is acknowledged before all are durable (a row left by a crash without whole
 *   metadata is dropped by the start's repair);
 * - delete: the directory, then the metadata; the row beside them.
 * The contract it keeps is VolumeStore's (volume-store.ts).
 */
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, unlink, type FileHandle } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import {
  ARCHIVED_PREFIX,
  decodePvMetadata,
  encodePvMetadata,
  PV_TYPES,
  pvPrefix,
  volumeNameError,
  type PvClaim,
  type PvType,
} from "../../src/core/pv-layout.js";
import { STAT_DB_FILE } from "../../src/statdb/stat-db.js";
import { fitsInPool } from "../../src/core/stats/usage.js";
import { grpcError, Status } from "../rpc/grpc-error.js";
import { DEFAULT_HOLD_MS, Ledger } from "./ledger.js";
import { createBlockFile, growBlockFile } from "../os/block.js";
import { setQuota } from "../os/xattr.js";
import { SnapshotShelf } from "./snapshot-shelf.js";
import { scanMetadata } from "./metadata-scan.js";
import { formatBytes } from "../../src/core/units.js";
import type { CopyRefusal, CopyReservation, CreateOptions, ReclaimPolicy, Usage, VolumeLocation, VolumeRecord, VolumeStore } from "./volume-store.js";

interface WrittenMetadata {
  handle: FileHandle;
  finish: () => Promise<void>;
}

const CAPACITY_TTL_MS = 2000;
/** How long the answer to "does this pool hold upstream's block PVs at all?" is kept. */
const BLOCK_TYPES_TTL_MS = 10_000;
const BLOCK_TYPES = PV_TYPES.filter((pvtype) => pvtype !== "subvol");

/** The name an archived volume had (its stat.db row and hash directories are that name's). */
const originalName = (name: string): string => (name.startsWith(ARCHIVED_PREFIX) ? name.slice(ARCHIVED_PREFIX.length) : name);

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === "ENOENT";

/** Runs a file call, taking the one error `code` that means "already as wanted" for success. */
async function tolerating(code: "ENOENT" | "EEXIST", call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== code) throw error;
  }
}

export class PoolStore implements VolumeStore {
  private accounts?: Ledger;
  private opening?: Promise<void>;
  private capacity?: number;
  private measuredAt = 0;
  /** Directories known to exist (hash directories are never removed). */
  private readonly knownDirs = new Set<string>();
  private preparing?: Promise<void>;
  private closed = false;
  private blockTypes?: { types: PvType[]; at: number };
  /** Copies under way: what each has still to write, and whether its bytes count as provisioned meanwhile (a snapshot's). */
  private readonly copies = new Set<{ left: number; bytes: number; provisioned: boolean }>();

  /** The pool's snapshots, accounted in the same stat.db. */
  readonly shelf: SnapshotShelf;

  constructor(
    readonly pool: string,
    readonly root: string,
    private readonly log: (message: string) => void,
    private readonly holdMs = DEFAULT_HOLD_MS,
  ) {
    this.shelf = new SnapshotShelf(pool, root, () => this.ledger());
  }

  /** `relativePath` under the root, refusing anything that would leave it. */
  private inside(relativePath: string): string {
    const full = resolve(this.root, relativePath);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw grpcError(Status.INVALID_ARGUMENT, `path ${relativePath} leaves the pool root`);
    return full;
  }

  /** Opens the pool's stat.db (on a thread of its own: see stat-db-worker.ts); every other call needs it. */
  open(): Promise<void> {
    this.opening ??= Ledger.open(join(this.root, STAT_DB_FILE), this.holdMs).then((ledger) => {
      if (this.closed) return ledger.close();
      this.accounts = ledger;
    });
    return this.opening;
  }

  private ledger(): Ledger {
    if (!this.accounts) throw new Error(`pool ${this.pool}: stat.db is not open`);
    return this.accounts;
  }

  /**
   * `mkdir -p` from the top down, remembering what exists: hash directories are never removed, so a
   * known one costs nothing, and a new one costs one mkdir per missing level (the recursive mkdir tries
   * the deepest first and fails its way up: each attempt a round trip to every brick on a FUSE mount).
   */
  private async ensureDir(relativePath: string): Promise<string> {
    const full = this.inside(relativePath);
    if (this.knownDirs.has(full)) return full;
    let current = this.root;
    for (const part of relativePath.split("/")) {
      current = join(current, part);
      if (this.knownDirs.has(current)) continue;
      await tolerating("EEXIST", mkdir(current));
      this.knownDirs.add(current);
    }
    return full;
  }

  /** Where each PV of the pool would be as a directory (block PVs' names lead nowhere: their readers skip them). */
  pvDirectories(): string[] {
    return (this.accounts?.names() ?? []).map((name) => this.inside(`${pvPrefix("subvol", name)}/${name}`));
  }

  /** Each PV's directory (as `pvDirectories`) and its size in bytes, as stat.db's rows hold them. */
  pvLimits(): [string, number][] {
    return [...(this.accounts?.rows() ?? [])].map(([name, size]) => [this.inside(`${pvPrefix("subvol", name)}/${name}`), size]);
  }

  /** Stops background work (awaited) and closes stat.db, committing what is pending first. */
  async close(): Promise<void> {
    this.closed = true;
    await this.preparing?.catch(() => undefined);
    await this.opening?.catch(() => undefined);
    this.knownDirs.clear();
    const ledger = this.accounts;
    this.accounts = undefined;
    await ledger?.close();
  }

  private metadataFile(name: string, pvtype: PvType = "subvol"): string {
    return this.inside(`info/${pvPrefix(pvtype, name)}/${name}.json`);
  }

  /**
   * The volume's record, undefined if it does not exist; `incomplete` when a create never finished writing
   * its metadata. Looked up as upstream does: subvol, then virtblock, then rawblock (the block types only
   * where the pool has any: upstream's provisioner made them; this driver does not).
   */
  async find(name: string, options: { incomplete?: "throw" | "missing" } = {}): Promise<VolumeRecord | undefined> {
    if (volumeNameError(name)) return undefined;
    for (const pvtype of ["subvol" as const, ...(await this.blockTypesPresent())]) {
      const found = await this.findAs(pvtype, name, options);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Where the volume lies, its metadata not read: all a delete needs (with read caching off, as upstream
   * configures pools, reading it is four more calls to every brick than looking it up).
   */
  async whereIs(name: string): Promise<VolumeLocation | undefined> {
    if (volumeNameError(name)) return undefined;
    for (const pvtype of ["subvol" as const, ...(await this.blockTypesPresent())]) {
      const { file, path } = this.placeOf(pvtype, name);
      try {
        await stat(file);
        return { name, path, pvtype };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return undefined;
  }

  /** The metadata file and the PV's path of `name` as `pvtype`: archived PVs stay in the hash directories of their original name. */
  private placeOf(pvtype: PvType, name: string): { file: string; path: string } {
    const original = originalName(name);
    return { file: this.inside(`info/${pvPrefix(pvtype, original)}/${name}.json`), path: `${pvPrefix(pvtype, original)}/${name}` };
  }

  private async findAs(pvtype: PvType, name: string, options: { incomplete?: "throw" | "missing" }): Promise<VolumeRecord | undefined> {
    const { file } = this.placeOf(pvtype, name);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const metadata = decodePvMetadata(text);
    if (!metadata) {
      if (options.incomplete === "missing") return undefined;
      throw grpcError(Status.INTERNAL, `metadata of volume ${name} in pool ${this.pool} is unreadable`);
    }
    return { name, pool: this.pool, size: metadata.size, path: `${metadata.pathPrefix}/${name}`, pvtype, ...(metadata.claim ? { claim: metadata.claim } : {}) };
  }

  /** The block PV types whose metadata tree exists in this pool (re-read every few seconds: one round trip each). */
  private async blockTypesPresent(): Promise<PvType[]> {
    if (this.blockTypes && Date.now() - this.blockTypes.at < BLOCK_TYPES_TTL_MS) return this.blockTypes.types;
    const present = await Promise.all(
      BLOCK_TYPES.map((pvtype) =>
        stat(this.inside(`info/${pvtype}`)).then(
          () => true,
          () => false,
        ),
      ),
    );
    this.blockTypes = { types: BLOCK_TYPES.filter((_, index) => present[index]), at: Date.now() };
    return this.blockTypes.types;
  }

  /**
   * The pool's capacity from the mount's statvfs (recorded in stat.db's summary when it changes, as
   * upstream does), measured at most every two seconds: it changes only when the pool grows.
   */
  async measure(): Promise<Usage> {
    if (Date.now() - this.measuredAt >= CAPACITY_TTL_MS) {
      const fs = await statfs(this.root);
      this.noteCapacity(fs.blocks * fs.bsize);
      this.measuredAt = Date.now();
    }
    await this.ledger().fresh();
    return this.usage();
  }

  private noteCapacity(capacity: number): void {
    if (capacity === this.capacity) return;
    this.capacity = capacity;
    this.ledger()
      .upsertSummary(this.pool, capacity)
      .catch((error) => this.log(`pool ${this.pool}: capacity not recorded: ${(error as Error).message}`));
  }

  /** The last measured capacity and what is provisioned now (uncommitted changes included). */
  usage(): Usage {
    if (this.capacity === undefined) {
      const fs = statfsSync(this.root);
      this.noteCapacity(fs.blocks * fs.bsize);
    }
    const { sum, count } = this.ledger().provisioned();
    // Snapshots take room in the pool as PVs do: the bytes they hold count as provisioned, from the start of their copy.
    let copying = 0;
    for (const copy of this.copies) if (copy.provisioned) copying += copy.bytes;
    return { capacityBytes: this.capacity!, provisionedBytes: sum + this.ledger().snapshots().sum + copying, pvCount: count };
  }

  /** The check and the reservation with no yield between them, after the pool is measured (see VolumeStore). */
  async reserveCopy(bytes: number, kind: "snapshot" | "clone"): Promise<CopyReservation | CopyRefusal> {
    await this.measure();
    const fs = await statfs(this.root);
    const usage = this.usage();
    if (kind === "snapshot" && !fitsInPool(bytes, usage.capacityBytes, usage.provisionedBytes)) {
      const free = usage.capacityBytes - usage.provisionedBytes;
      return {
        refused: `pool ${this.pool} has ${formatBytes(Math.max(0, free))} free of ${formatBytes(usage.capacityBytes)} (${formatBytes(usage.provisionedBytes)} provisioned to PVs, snapshots and copies under way), and a copy of ${formatBytes(bytes)} must stay below 90% of it, as a volume must`,
      };
    }
    let pending = 0;
    for (const copy of this.copies) pending += copy.left;
    const room = fs.bavail * fs.bsize - pending;
    if (bytes > room) {
      return {
        refused: `pool ${this.pool}'s filesystem has ${formatBytes(fs.bavail * fs.bsize)} free${pending ? `, ${formatBytes(pending)} of it held for copies under way` : ""}: too little for a copy of ${formatBytes(bytes)}`,
      };
    }
    const copy = { left: bytes, bytes, provisioned: kind === "snapshot" };
    this.copies.add(copy);
    return { wrote: (written) => void (copy.left = Math.max(0, copy.left - written)), release: () => void this.copies.delete(copy) };
  }

  /**
   * The check and the reservation in one turn: `place` counts the row before it first yields, so no other
   * create looks between them.
   */
  async createIfFits(name: string, size: number, pvtype: PvType, options: CreateOptions = {}): Promise<VolumeRecord | undefined> {
    const usage = this.usage();
    if (!fitsInPool(size, usage.capacityBytes, usage.provisionedBytes)) return undefined;
    return this.place(name, size, pvtype, options);
  }

  /** A directory PV by `create`, a block PV by `createBlock`. */
  place(name: string, size: number, pvtype: PvType, options: CreateOptions = {}): Promise<VolumeRecord> {
    if (pvtype === "subvol") return this.create(name, size, options);
    const { exclusive: _, ...blockOptions } = options;
    return this.createBlock(name, size, pvtype, blockOptions);
  }

  /** Measured, checked and grown with no turn of the event loop between the check and the row's change. */
  async expandIfFits(record: VolumeRecord, size: number): Promise<VolumeRecord | undefined> {
    await this.measure();
    const usage = this.usage();
    if (!fitsInPool(size - record.size, usage.capacityBytes, usage.provisionedBytes)) return undefined;
    return this.expand(record, size);
  }

  /**
   * Creates (or completes) a directory volume, its row counted before the first yield (the reservation
   * `createIfFits` relies on).
   */
  async create(name: string, size: number, options: CreateOptions = {}): Promise<VolumeRecord> {
    const path = `${pvPrefix("subvol", name)}/${name}`;
    const dir = this.inside(path);
    const { fill } = options;
    // A repeat of a create whose metadata is whole (it may have been acknowledged): that file is never rewritten.
    // A filled volume's metadata waits for its content: a volume is found only once it is whole.
    const metadata = options.metadataComplete
      ? undefined
      : fill
        ? undefined
        : this.openMetadata(name, size, options.exclusive ? "exclusive" : "create", "subvol", options.claim);
    const prefix = this.ensureDir(pvPrefix("subvol", name));
    // What an interrupted fill left (a directory without metadata) goes before the copy starts again.
    const directory = fill
      ? prefix.then(() => rm(dir, { recursive: true, force: true })).then(() => this.filled(dir, fill))
      : prefix.then(() => tolerating("EEXIST", mkdir(dir)));
    if (fill) {
      const written = directory.then(() => this.openMetadata(name, size, "create", "subvol", options.claim));
      const quota = directory.then(() => setQuota(dir, size, this.log));
      await this.durable(
        this.ledger().upsertPv(
          name,
          size,
          Promise.all([quota, written]).catch(async (error) => this.unfilled(dir, error)),
        ),
        written,
      );
      return { name, pool: this.pool, size, path, pvtype: "subvol", ...(options.claim ? { claim: options.claim } : {}) };
    }
    // Exclusive: the quota waits until the metadata file is this call's, so an existing volume's is never touched.
    const quota = Promise.all([directory, options.exclusive ? metadata : undefined]).then(() => setQuota(dir, size, this.log));
    await this.durable(this.ledger().upsertPv(name, size, Promise.all([quota, metadata])), metadata);
    return { name, pool: this.pool, size, path, pvtype: "subvol", ...(options.claim ? { claim: options.claim } : {}) };
  }

  /**
   * True when `name` surely has no volume here, so a create need not look for one first: the ledger has
   * no row of that name (fresh after measure(); the start's repair gave every metadata file its row) and
   * the pool holds directory PVs only. What a failed create of this process left behind, an exclusive
   * create finds (EEXIST).
   */
  async surelyAbsent(name: string): Promise<boolean> {
    return !this.ledger().has(name) && (await this.blockTypesPresent()).length === 0;
  }

  /**
   * Creates (or completes) a block PV in upstream's layout: the sparse file (formatted as XFS for
   * virtblock) and its metadata side by side, then the row, as `create` does for a directory.
   */
  async createBlock(name: string, size: number, pvtype: "virtblock" | "rawblock", options: Omit<CreateOptions, "exclusive"> = {}): Promise<VolumeRecord> {
    const prefix = pvPrefix(pvtype, name);
    const path = `${prefix}/${name}`;
    // From now on this pool holds PVs of this type: lookups must go there.
    if (this.blockTypes && !this.blockTypes.types.includes(pvtype)) this.blockTypes = undefined;
    const target = this.inside(path);
    const { fill } = options;
    if (fill) {
      // The copied file, grown to the new size, then its metadata: found only once whole.
      const file = this.ensureDir(prefix)
        .then(() => rm(target, { force: true }))
        .then(() => this.filled(target, fill))
        .then(() => growBlockFile(target, size));
      const written = file.then(() => this.openMetadata(name, size, "create", pvtype, options.claim)).catch(async (error) => this.unfilled(target, error));
      await this.durable(this.ledger().upsertPv(name, size, written), written);
      return { name, pool: this.pool, size, path, pvtype, ...(options.claim ? { claim: options.claim } : {}) };
    }
    const file = this.ensureDir(prefix).then(() => createBlockFile(target, size, pvtype === "virtblock"));
    const metadata = options.metadataComplete ? undefined : this.openMetadata(name, size, "create", pvtype, options.claim);
    await this.durable(this.ledger().upsertPv(name, size, Promise.all([file, metadata])), metadata);
    return { name, pool: this.pool, size, path, pvtype, ...(options.claim ? { claim: options.claim } : {}) };
  }

  /** Runs `fill`, which makes `target` (a copy); a failed one leaves nothing. */
  private async filled(target: string, fill: (target: string) => Promise<void>): Promise<void> {
    try {
      await fill(target);
    } catch (error) {
      await rm(target, { recursive: true, force: true });
      throw error;
    }
  }

  /** A filled create that failed after its copy: the copy goes, the error stays. */
  private async unfilled(target: string, error: unknown): Promise<never> {
    await rm(target, { recursive: true, force: true });
    throw error;
  }

  /** A directory's quota, or a block PV's file, grows; then its metadata (the claim `record` was read with kept) and row. */
  async expand(record: VolumeRecord, size: number): Promise<VolumeRecord> {
    const grown = record.pvtype === "subvol" ? setQuota(this.inside(record.path), size, this.log) : growBlockFile(this.inside(record.path), size);
    const metadata = this.openMetadata(record.name, size, "replace", record.pvtype, record.claim);
    await this.durable(this.ledger().upsertPv(record.name, size, Promise.all([grown, metadata])), metadata);
    return { ...record, size };
  }

  /**
   * Settles when all of a create's or expansion's records are durable: the row's commit (on the stat.db
   * thread, beside the file calls) and the metadata's fdatasync once its bytes are written. Handles are
   * closed whatever fails.
   */
  private async durable(row: Promise<void>, metadata: Promise<WrittenMetadata> | undefined): Promise<void> {
    const synced = metadata?.then(async (written) => {
      try {
        await written.handle.datasync();
      } finally {
        await written.handle.close();
      }
      await written.finish();
    });
    const results = await Promise.allSettled([row, synced]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Creates the 256 first-level hash directories of the PV and metadata trees that do not exist yet, in
   * the background: on a young pool every create would otherwise pay for one (a round trip to every brick).
   */
  prepareHashDirs(): Promise<void> {
    this.preparing ??= this.createHashDirs().finally(() => (this.preparing = undefined));
    return this.preparing;
  }

  private async createHashDirs(): Promise<void> {
    for (const base of ["subvol", "info/subvol"]) {
      if (this.closed) return;
      await this.ensureDir(base);
      const present = new Set(await readdir(this.inside(base)));
      for (let byte = 0; byte < 256 && !this.closed; byte += 1) {
        const name = byte.toString(16).padStart(2, "0");
        if (present.has(name)) this.knownDirs.add(this.inside(`${base}/${name}`));
        else await this.ensureDir(`${base}/${name}`);
      }
    }
  }

  /**
   * The metadata file with its bytes written, not yet synced. A new volume's file is written in place (a
   * torn one is an unfinished create, redone by the retry; `exclusive` fails with EEXIST where one is);
   * a replaced one goes through a temp file and a rename (`finish`), after the sync.
   */
  private async openMetadata(
    name: string,
    size: number,
    mode: "create" | "exclusive" | "replace",
    pvtype: PvType = "subvol",
    claim?: PvClaim,
  ): Promise<WrittenMetadata> {
    const file = this.metadataFile(name, pvtype);
    await this.ensureDir(`info/${pvPrefix(pvtype, name)}`);
    const target = mode === "replace" ? `${file}.${process.pid}.tmp` : file;
    const handle = await open(target, mode === "exclusive" ? "wx" : "w", 0o644);
    try {
      await handle.writeFile(encodePvMetadata(size, pvPrefix(pvtype, name), claim));
    } catch (error) {
      await handle.close();
      throw error;
    }
    return { handle, finish: async () => (mode === "replace" ? rename(target, file) : undefined) };
  }

  /** By the pool's reclaim policy: delete everything of this volume only, archive in place, or retain. */
  async delete(record: VolumeLocation, policy: ReclaimPolicy): Promise<void> {
    if (policy === "retain") return;
    // A directory (subvol) or a file (upstream's virtblock and rawblock): removed or renamed alike.
    const dir = this.inside(record.path);
    const metadata = this.inside(`info/${record.path}.json`);
    if (policy === "archive") {
      const archived = `${ARCHIVED_PREFIX}${record.name}`;
      await tolerating("ENOENT", rename(dir, join(dir, "..", archived)));
      await tolerating("ENOENT", rename(metadata, join(metadata, "..", `${archived}.json`)));
      return;
    }
    await this.ledger().deletePv(originalName(record.name), this.removeFiles(record));
  }

  /**
   * Deletes `name` by `policy`, resolving whether the volume was here; the metadata is looked up, not
   * read. Where the delete policy drops a row the ledger holds, its commit (the longest part) starts at
   * once, beside the lookup and the file calls; if the volume is not here the row is put back, as for
   * files that fail (it may be an archived volume's, which still counts).
   */
  async deleteNamed(name: string, policy: ReclaimPolicy): Promise<boolean> {
    if (policy !== "delete" || !this.ledger().has(name)) {
      const location = await this.whereIs(name);
      if (location) await this.delete(location, policy);
      return location !== undefined;
    }
    const notHere = new Error(`volume ${name} is not in pool ${this.pool}`);
    const files = this.whereIs(name).then((found) => (found ? this.removeFiles(found) : Promise.reject(notHere)));
    try {
      await this.ledger().deletePv(name, files);
      return true;
    } catch (error) {
      if (error === notHere) return false;
      throw error;
    }
  }

  /**
   * The directory first: while the metadata exists, a retried delete finds the volume and finishes (the
   * row, committed beside these, is put back if either fails; a crash between: the start's repair counts
   * it again). Empty hash directories stay: removing them costs round trips on every delete, and the
   * next PV of that prefix needs them.
   */
  private async removeFiles(record: VolumeLocation): Promise<void> {
    await rm(this.inside(record.path), { recursive: true, force: true });
    await tolerating("ENOENT", unlink(this.inside(`info/${record.path}.json`)));
  }

  /** Removes an archived volume (its directory, metadata and the original name's stat.db row). */
  async removeArchived(record: VolumeRecord): Promise<void> {
    await this.delete(record, "delete");
  }

  /** Every metadata file under `info/<pvtype>/` with what it says (undefined: torn or empty). */
  private metadataFiles(pvtype: string): { name: string; file: string; metadata: ReturnType<typeof decodePvMetadata> }[] {
    const base = this.inside(`info/${pvtype}`);
    if (!existsSync(base)) return [];
    const found = [];
    for (const h1 of readdirSync(base)) {
      for (const h2 of readdirSync(join(base, h1))) {
        for (const file of readdirSync(join(base, h1, h2)).filter((f) => f.endsWith(".json"))) {
          const path = join(base, h1, h2, file);
          found.push({ name: file.slice(0, -".json".length), file: path, metadata: decodePvMetadata(readFileSync(path, "utf8")) });
        }
      }
    }
    return found;
  }

  /** The same as metadataFiles, for the start's repair: read on threads of their own (metadata-scan.ts). */
  private async metadataFilesScanned(pvtype: string): Promise<{ name: string; file: string; metadata: ReturnType<typeof decodePvMetadata> }[]> {
    const scanned = await scanMetadata(this.inside(`info/${pvtype}`));
    // A file deleted while the scan ran is gone, not torn.
    return scanned.flatMap(({ name, file, text }) => (text === undefined ? [] : [{ name, file, metadata: decodePvMetadata(text) }]));
  }

  list(): VolumeRecord[] {
    return PV_TYPES.flatMap((pvtype) =>
      this.metadataFiles(pvtype).flatMap(({ name, metadata }) =>
        metadata ? [{ name, pool: this.pool, size: metadata.size, path: `${metadata.pathPrefix}/${name}`, pvtype }] : [],
      ),
    );
  }

  /**
   * After a crash the records of a PV can disagree; the metadata is the truth:
   * - metadata and no row: the row is added;
   * - a row and no metadata (a create that never finished, or a delete that did): the row is dropped;
   * - torn metadata (a create killed between creating the file and writing it) without a row: removed;
   *   with a row: written again from the row.
   * Metadata of every PV type counts (upstream's block PVs too). Returns what was repaired.
   */
  async repair(): Promise<{ rowsAdded: string[]; rowsDropped: string[]; metadataRemoved: string[]; metadataRewritten: string[] }> {
    const ledger = this.ledger();
    const rows = ledger.rows();
    const files = (await Promise.all(PV_TYPES.map(async (pvtype) => (await this.metadataFilesScanned(pvtype)).map((entry) => ({ ...entry, pvtype }))))).flat();
    const kept = new Set(files.filter((entry) => entry.metadata).map((entry) => originalName(entry.name)));
    const torn = files.filter((entry) => !entry.metadata && !entry.name.startsWith(ARCHIVED_PREFIX));
    const rewritten = torn.filter((entry) => rows.has(entry.name));
    const metadataRemoved = torn.filter((entry) => !rows.has(entry.name)).map((entry) => entry.name);
    for (const entry of rewritten) {
      const written = await this.openMetadata(entry.name, rows.get(entry.name)!, "replace", entry.pvtype);
      await this.durable(Promise.resolve(), Promise.resolve(written));
      kept.add(entry.name);
    }
    const metadataRewritten = rewritten.map((entry) => entry.name);
    for (const entry of torn.filter((e) => !rows.has(e.name))) await unlink(entry.file);
    const rowsAdded = files.filter((entry) => entry.metadata && !entry.name.startsWith(ARCHIVED_PREFIX) && !rows.has(entry.name));
    const rowsDropped = [...rows.keys()].filter((name) => !kept.has(name));
    await Promise.all([...rowsAdded.map((entry) => ledger.upsertPv(entry.name, entry.metadata!.size)), ...rowsDropped.map((name) => ledger.deletePv(name))]);
    return { rowsAdded: rowsAdded.map((entry) => entry.name), rowsDropped, metadataRemoved, metadataRewritten };
  }
}
