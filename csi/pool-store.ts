/**
 * The PVs of one mounted pool, in upstream's on-disk layout: the directory, its metadata JSON (written
 * to a temp file and renamed), quota xattrs, and the stat.db row. Calls for one pool are serialised by
 * the driver; each step is idempotent, so a repeated call completes what a crash left half done.
 * Contract:
 * - find(name) is undefined for a volume that does not exist (archived ones are found under their new name);
 * - delete of a missing volume is not an error;
 * - every path is checked to stay under the pool root.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { ARCHIVED_PREFIX, decodePvMetadata, encodePvMetadata, pvPrefix, volumeNameError } from "../src/core/pv-layout.js";
import { StatDb, STAT_DB_FILE } from "../src/statdb/stat-db.js";
import { grpcError, Status } from "./grpc-error.js";
import { setQuota } from "./xattr.js";

export interface VolumeRecord {
  name: string;
  pool: string;
  size: number;
  /** Relative to the pool root: `subvol/ab/cd/<name>`. */
  path: string;
}

export type ReclaimPolicy = "delete" | "archive" | "retain";

export class PoolStore {
  private db?: StatDb;
  private recordedCapacity?: number;

  constructor(readonly pool: string, readonly root: string, private readonly log: (message: string) => void) {}

  /** `relativePath` under the root, refusing anything that would leave it. */
  private inside(relativePath: string): string {
    const full = resolve(this.root, relativePath);
    if (full !== this.root && !full.startsWith(this.root + sep)) throw grpcError(Status.INVALID_ARGUMENT, `path ${relativePath} leaves the pool root`);
    return full;
  }

  private statDb(): StatDb {
    this.db ??= StatDb.open(join(this.root, STAT_DB_FILE));
    return this.db;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }

  private metadataFile(name: string): string {
    return this.inside(`info/${pvPrefix("subvol", name)}/${name}.json`);
  }

  find(name: string): VolumeRecord | undefined {
    if (volumeNameError(name)) return undefined;
    const original = name.startsWith(ARCHIVED_PREFIX) ? name.slice(ARCHIVED_PREFIX.length) : name;
    // Archived PVs stay in the hash directories of their original name.
    const prefix = pvPrefix("subvol", original);
    const file = this.inside(`info/${prefix}/${name}.json`);
    if (!existsSync(file)) return undefined;
    const metadata = decodePvMetadata(readFileSync(file, "utf8"));
    if (!metadata) throw grpcError(Status.INTERNAL, `metadata of volume ${name} in pool ${this.pool} is unreadable`);
    return { name, pool: this.pool, size: metadata.size, path: `${metadata.pathPrefix}/${name}` };
  }

  private writeMetadata(name: string, size: number): void {
    const file = this.metadataFile(name);
    mkdirSync(join(file, ".."), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, encodePvMetadata(size, pvPrefix("subvol", name)), { mode: 0o644 });
    renameSync(temp, file);
  }

  /** Creates (or completes) the volume: directory, quota, metadata, then its stat.db row. */
  async create(name: string, size: number): Promise<VolumeRecord> {
    const path = `${pvPrefix("subvol", name)}/${name}`;
    const dir = this.inside(path);
    mkdirSync(dir, { recursive: true });
    await this.recordSize(dir, name, size);
    return { name, pool: this.pool, size, path };
  }

  async expand(record: VolumeRecord, size: number): Promise<VolumeRecord> {
    await this.recordSize(this.inside(record.path), record.name, size);
    return { ...record, size };
  }

  /** Quota xattrs (a child process) while the metadata and the stat.db row are written. */
  private async recordSize(dir: string, name: string, size: number): Promise<void> {
    const quota = setQuota(dir, size, this.log);
    try {
      this.writeMetadata(name, size);
      this.statDb().upsertPv(name, size);
    } finally {
      await quota;
    }
  }

  /** By the pool's reclaim policy: delete everything of this volume only, archive in place, or retain. */
  delete(record: VolumeRecord, policy: ReclaimPolicy): void {
    if (policy === "retain") return;
    const dir = this.inside(record.path);
    const metadata = this.metadataFile(record.name);
    if (policy === "archive") {
      const archived = `${ARCHIVED_PREFIX}${record.name}`;
      if (existsSync(dir)) renameSync(dir, join(dir, "..", archived));
      if (existsSync(metadata)) renameSync(metadata, join(metadata, "..", `${archived}.json`));
      return;
    }
    rmSync(dir, { recursive: true, force: true });
    this.statDb().deletePv(record.name);
    rmSync(metadata, { force: true });
    this.pruneEmpty(join(dir, ".."), "subvol");
    this.pruneEmpty(join(metadata, ".."), "info/subvol");
  }

  /** Removes an archived volume (its directory, metadata and the original name's stat.db row). */
  removeArchived(record: VolumeRecord): void {
    rmSync(this.inside(record.path), { recursive: true, force: true });
    rmSync(this.inside(`info/${record.path}.json`), { force: true });
    this.statDb().deletePv(record.name.slice(ARCHIVED_PREFIX.length));
    this.pruneEmpty(this.inside(`${record.path}/..`), "subvol");
    this.pruneEmpty(this.inside(`info/${record.path}/..`), "info/subvol");
  }

  /** Removes now-empty hash directories up to, not including, `stop`. */
  private pruneEmpty(dir: string, stop: string): void {
    const limit = this.inside(stop);
    for (let current = dir; current.startsWith(limit + sep); current = join(current, "..")) {
      try {
        rmdirSync(current);
      } catch {
        return;
      }
    }
  }

  list(): VolumeRecord[] {
    const base = this.inside("info/subvol");
    if (!existsSync(base)) return [];
    const records: VolumeRecord[] = [];
    for (const h1 of readdirSync(base)) {
      for (const h2 of readdirSync(join(base, h1))) {
        for (const file of readdirSync(join(base, h1, h2)).filter((f) => f.endsWith(".json"))) {
          const metadata = decodePvMetadata(readFileSync(join(base, h1, h2, file), "utf8"));
          const name = file.slice(0, -".json".length);
          if (metadata) records.push({ name, pool: this.pool, size: metadata.size, path: `${metadata.pathPrefix}/${name}` });
        }
      }
    }
    return records;
  }

  /**
   * After a crash (kill -9 between the metadata and the stat.db row) the three records of a PV can
   * disagree. Metadata is written last but one, so it is the truth: a PV with metadata and no row gets
   * its row; a row whose PV has neither metadata nor directory is dropped. Returns what was repaired.
   */
  repair(): { rowsAdded: string[]; rowsDropped: string[] } {
    const db = this.statDb();
    const records = this.list().filter((record) => !record.name.startsWith(ARCHIVED_PREFIX));
    const rows = new Set(db.listPvs().map((row) => row.pvname));
    const rowsAdded = records.filter((record) => !rows.has(record.name)).map((record) => record.name);
    const named = new Set(records.map((record) => record.name));
    const archived = new Set(this.list().filter((record) => record.name.startsWith(ARCHIVED_PREFIX)).map((record) => record.name.slice(ARCHIVED_PREFIX.length)));
    const rowsDropped = [...rows].filter((name) => !named.has(name) && !archived.has(name) && !existsSync(this.inside(`${pvPrefix("subvol", name)}/${name}`)));
    if (rowsAdded.length + rowsDropped.length > 0) {
      db.transaction(() => {
        for (const record of records.filter((r) => rowsAdded.includes(r.name))) db.upsertPv(record.name, record.size);
        for (const name of rowsDropped) db.deletePv(name);
      });
    }
    return { rowsAdded, rowsDropped };
  }

  /** Capacity from the mount's statvfs (recorded in stat.db's summary, as upstream does) and the Σ of PV sizes. */
  usage(): { capacityBytes: number; provisionedBytes: number; pvCount: number } {
    const fs = statfsSync(this.root);
    const capacity = fs.blocks * fs.bsize;
    const db = this.statDb();
    // Upstream refreshes the summary row on every create; a write is only needed when the size changed.
    if (capacity !== this.recordedCapacity) {
      db.upsertSummary(this.pool, capacity);
      this.recordedCapacity = capacity;
    }
    const totals = db.totals();
    return { capacityBytes: capacity, provisionedBytes: totals.sum, pvCount: totals.count };
  }

}
