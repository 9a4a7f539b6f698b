/**
 * Where a pool keeps its snapshots: `snapshots/<h[0:2]>/<h[2:4]>/<name>.snap` (a copy of the PV's tree,
 * or of a block PV's file) beside `<name>.json` (what it is a copy of, its size, kind and time), h the
 * xxHash64 of the name as for PVs. A copy is made as `.<name>.partial` and renamed when whole; the JSON
 * comes last, so a snapshot is found only once whole. Each snapshot has a stat.db row in this project's
 * own table (`snapshot_stats`), through the pool's ledger. The three suffixes keep any two names' files
 * apart. What a crash leaves (a partial copy, a copy without its JSON, a row without a snapshot) the
 * start's repair removes.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { PvType } from "../../src/core/pv-layout.js";
import { PV_TYPES } from "../../src/core/pv-layout.js";
import { xxh64Hex } from "../../src/core/xxh64.js";
import type { CopyKind, CopyResult } from "./copy-tree.js";
import type { Ledger } from "./ledger.js";

export const SNAPSHOTS_DIR = "snapshots";
/** Bytes: the name, its dot and suffix fit one path component (255 bytes) on every filesystem. */
export const SNAPSHOT_NAME_MAX_BYTES = 200;

export interface SnapshotRecord {
  name: string;
  pool: string;
  /** The PV it is a copy of, and that PV's type (a clone of it gets the same). */
  source: string;
  pvtype: PvType;
  /** The bytes it holds (its files' sizes). */
  size: number;
  kind: CopyKind;
  createdAt: Date;
  /** The copy, relative to the pool root. */
  path: string;
}

/** Why `name` cannot name a snapshot, or undefined. */
export function snapshotNameError(name: string): string | undefined {
  if (!name) return "is empty";
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "holds control characters";
  if (name.includes("/")) return "holds a '/'";
  if (name === "." || name === "..") return "is not a name";
  const bytes = Buffer.byteLength(name);
  if (bytes > SNAPSHOT_NAME_MAX_BYTES) return `is ${bytes} bytes long; at most ${SNAPSHOT_NAME_MAX_BYTES} are allowed`;
  return undefined;
}

function prefixOf(name: string): string {
  const hash = xxh64Hex(name);
  return `${SNAPSHOTS_DIR}/${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
}

interface SnapshotJson {
  source: string;
  pvtype: PvType;
  size: number;
  kind: CopyKind;
  created_at: string;
}

function decode(name: string, pool: string, text: string): SnapshotRecord | undefined {
  try {
    const json = JSON.parse(text) as Partial<SnapshotJson>;
    if (
      typeof json.source !== "string" ||
      typeof json.size !== "number" ||
      !PV_TYPES.includes(json.pvtype as PvType) ||
      (json.kind !== "reflink" && json.kind !== "full")
    )
      return undefined;
    const createdAt = new Date(json.created_at ?? "");
    if (Number.isNaN(createdAt.getTime())) return undefined;
    return { name, pool, source: json.source, pvtype: json.pvtype!, size: json.size, kind: json.kind, createdAt, path: `${prefixOf(name)}/${name}.snap` };
  } catch {
    return undefined;
  }
}

export class SnapshotShelf {
  constructor(
    readonly pool: string,
    readonly root: string,
    private readonly ledger: () => Ledger,
  ) {}

  private paths(name: string): { dir: string; data: string; json: string; partial: string } {
    const dir = join(this.root, prefixOf(name));
    return { dir, data: join(dir, `${name}.snap`), json: join(dir, `${name}.json`), partial: join(dir, `.${name}.partial`) };
  }

  /** The snapshot, undefined when there is none whole of that name. */
  async find(name: string): Promise<SnapshotRecord | undefined> {
    if (snapshotNameError(name)) return undefined;
    try {
      return decode(name, this.pool, await readFile(this.paths(name).json, "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Where a snapshot's copy is (absolute). */
  dataOf(record: SnapshotRecord): string {
    return join(this.root, record.path);
  }

  /** Every whole snapshot of the pool. */
  async list(): Promise<SnapshotRecord[]> {
    const found: SnapshotRecord[] = [];
    for (const { name, file } of await this.jsonFiles()) {
      const record = decode(name, this.pool, await readFile(file, "utf8").catch(() => ""));
      if (record) found.push(record);
    }
    return found;
  }

  private async jsonFiles(): Promise<{ name: string; file: string; dir: string }[]> {
    const base = join(this.root, SNAPSHOTS_DIR);
    if (!existsSync(base)) return [];
    const files = [];
    for (const h1 of await readdir(base)) {
      for (const h2 of await readdir(join(base, h1))) {
        const dir = join(base, h1, h2);
        for (const file of await readdir(dir)) if (file.endsWith(".json")) files.push({ name: file.slice(0, -".json".length), file: join(dir, file), dir });
      }
    }
    return files;
  }

  /**
   * Takes a snapshot of `sourcePath` (a PV's directory or block file) by `copy`: the copy, its rename,
   * the JSON (synced), and its row. A failure removes what was made.
   */
  async take(
    name: string,
    source: { name: string; pvtype: PvType; path: string },
    copy: (from: string, to: string) => Promise<CopyResult>,
  ): Promise<SnapshotRecord> {
    const { dir, data, json, partial } = this.paths(name);
    await mkdir(dir, { recursive: true });
    // What an interrupted attempt left goes first.
    await Promise.all([rm(partial, { recursive: true, force: true }), rm(data, { recursive: true, force: true })]);
    const result = await copy(source.path, partial);
    const record: SnapshotRecord = {
      name,
      pool: this.pool,
      source: source.name,
      pvtype: source.pvtype,
      size: result.bytes,
      kind: result.kind,
      createdAt: new Date(),
      path: `${prefixOf(name)}/${name}.snap`,
    };
    const files = (async () => {
      await rename(partial, data);
      await writeSynced(
        json,
        JSON.stringify({
          source: record.source,
          pvtype: record.pvtype,
          size: record.size,
          kind: record.kind,
          created_at: record.createdAt.toISOString(),
        } satisfies SnapshotJson),
      );
    })();
    try {
      await this.ledger().changeSnapshot(name, { source: record.source, size: record.size, kind: record.kind, ready: true }, files);
    } catch (error) {
      await Promise.all([partial, data, json].map((path) => rm(path, { recursive: true, force: true })));
      throw error;
    }
    return record;
  }

  /** Removes the snapshot (its JSON first: from then on it is not found) and its row; a missing one is not an error. */
  async remove(name: string): Promise<void> {
    const { data, json, partial } = this.paths(name);
    const files = (async () => {
      await rm(json, { force: true });
      await Promise.all([rm(data, { recursive: true, force: true }), rm(partial, { recursive: true, force: true })]);
    })();
    await this.ledger().changeSnapshot(name, undefined, files);
  }

  /**
   * After a crash: copies without their JSON and partial copies are removed, rows without a snapshot
   * dropped, snapshots without a row given one. Returns the names repaired.
   */
  async repair(): Promise<{ removed: string[]; rowsAdded: string[]; rowsDropped: string[] }> {
    const base = join(this.root, SNAPSHOTS_DIR);
    const removed: string[] = [];
    const records = await this.list();
    const whole = new Set(records.map((record) => record.name));
    if (existsSync(base)) {
      for (const h1 of readdirSync(base)) {
        for (const h2 of readdirSync(join(base, h1))) {
          for (const entry of readdirSync(join(base, h1, h2))) {
            const stray = entry.endsWith(".partial") || entry.endsWith(".tmp") || (entry.endsWith(".snap") && !whole.has(entry.slice(0, -".snap".length)));
            if (!stray) continue;
            await rm(join(base, h1, h2, entry), { recursive: true, force: true });
            removed.push(entry);
          }
        }
      }
    }
    const ledger = this.ledger();
    const rows = new Set(ledger.snapshotNames());
    const rowsAdded = records.filter((record) => !rows.has(record.name));
    const rowsDropped = [...rows].filter((name) => !whole.has(name));
    await Promise.all([
      ...rowsAdded.map((record) => ledger.changeSnapshot(record.name, { source: record.source, size: record.size, kind: record.kind, ready: true })),
      ...rowsDropped.map((name) => ledger.changeSnapshot(name, undefined)),
    ]);
    return { removed, rowsAdded: rowsAdded.map((record) => record.name), rowsDropped };
  }
}

/** Written to a temp file, synced, renamed into place: the file is whole or absent. */
async function writeSynced(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
