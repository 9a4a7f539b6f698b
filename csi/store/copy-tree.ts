/**
 * Copies a PV's tree (a directory, or a block PV's single file) for snapshots and clones: files (by
 * reflink where the filesystem allows it, else by reading and writing), directories, symlinks, modes,
 * owners, times and user xattrs. Every file is consistent on its own: a file that changes while it is
 * read is copied again, and its size is checked after copying. A copy that fails removes what it made.
 *
 * The change check compares the file's stat before and after the copy. A write sets the file's mtime
 * before its data lands, so a write already in flight at the first stat would change the data under the
 * copy and leave the mtime as it was: a file written less than `SETTLE_MS` ago is left that long first.
 * Hard links become separate files; sockets, FIFOs and devices are skipped (logged).
 */
import { constants, type Stats } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, open, readdir, readlink, rm, symlink, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { getAttribute, listAttributes, setAttribute } from "@napi-rs/xattr";

export type CopyKind = "reflink" | "full";

export interface CopyResult {
  /** reflink when every file was cloned (or there were none), full when any was read and written. */
  kind: CopyKind;
  files: number;
  /** The bytes the copy holds: the sum of its files' sizes. */
  bytes: number;
  /** Bytes read and written (the full copies' share). */
  copiedBytes: number;
}

export interface CopyOptions {
  /** Try FICLONE first ("never": a pool known to lie about it, such as Disperse through gfapi). */
  reflink?: "try" | "never";
  /** Told of bytes as full copies write them (the log's and metrics' progress). */
  progress?: (bytes: number) => void;
  log?: (message: string) => void;
  /** Files copied side by side (each is a few round trips to every brick on a FUSE mount). */
  parallel?: number;
}

export class CopyError extends Error {
  constructor(
    message: string,
    readonly code: "CHANGING" | "SHORT",
  ) {
    super(message);
  }
}

const CHUNK = 1024 * 1024;
const SYNC_PARALLEL = 32;
const WALK_PARALLEL = 32;
const ZERO = Buffer.alloc(CHUNK);
/** How often a file that changes under the copy is read again before the copy gives up. */
const TRIES = 5;
/**
 * How long after a write's mtime its data is taken to have landed: one write call's copy into the page
 * cache, with room for a loaded machine's scheduling and the kernel's coarse clock (a tick, 10 ms at most).
 */
const SETTLE_MS = 50;
const NOT_CLONABLE = new Set(["EOPNOTSUPP", "ENOTSUP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY", "EBADF"]);

interface State {
  reflink: boolean;
  /** Files written by full copies, synced together at the end (one by one costs the journal a commit each). */
  unsynced: string[];
  options: CopyOptions;
  result: CopyResult;
  root: boolean;
}

/** undefined for ENOENT (a file gone), any other error rethrown. */
function gone(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}

const sameVersion = (a: Stats, b: Stats): boolean => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/**
 * The bytes a copy of `source` would hold (the sum of its regular files' sizes; a block PV's file is its
 * size): what must fit before a copy starts. Entries that go while it is walked count as gone.
 */
export async function treeBytes(source: string): Promise<number> {
  const top = await lstat(source);
  if (!top.isDirectory()) return top.isFile() ? top.size : 0;
  let total = 0;
  const directories = [source];
  for (let index = 0; index < directories.length; index += 1) {
    const dir = directories[index]!;
    const entries = (await readdir(dir).catch(gone)) ?? [];
    // Side by side, as the copy's files go: on a FUSE mount each lstat is a round trip to the bricks.
    for (let start = 0; start < entries.length; start += WALK_PARALLEL) {
      const batch = await Promise.all(
        entries.slice(start, start + WALK_PARALLEL).map(async (entry) => ({ path: join(dir, entry), stats: await lstat(join(dir, entry)).catch(gone) })),
      );
      for (const { path, stats } of batch) {
        if (stats?.isDirectory()) directories.push(path);
        else if (stats?.isFile()) total += stats.size;
      }
    }
  }
  return total;
}

/**
 * Copies `source` to `target`, which must not exist. On failure `target` is removed (whatever of it was
 * made) and the error rethrown.
 */
export async function copyTree(source: string, target: string, options: CopyOptions = {}): Promise<CopyResult> {
  const state: State = {
    reflink: options.reflink !== "never",
    unsynced: [],
    options,
    result: { kind: "reflink", files: 0, bytes: 0, copiedBytes: 0 },
    root: process.getuid?.() === 0,
  };
  const top = await lstat(source);
  try {
    if (top.isDirectory()) await copyDirectory(source, target, top, state);
    else if (top.isFile()) await copyRegular(source, target, top, state);
    else throw new Error(`${source} is neither a directory nor a file`);
    await syncAll(state.unsynced, SYNC_PARALLEL);
  } catch (error) {
    await rm(target, { recursive: true, force: true });
    throw error;
  }
  return state.result;
}

/** Directories first, files side by side, then each directory's metadata deepest first (files set their parent's times). */
async function copyDirectory(source: string, target: string, top: Stats, state: State): Promise<void> {
  const directories: { source: string; target: string; stats: Stats }[] = [{ source, target, stats: top }];
  const files: { source: string; target: string; stats: Stats }[] = [];
  const links: { source: string; target: string; stats: Stats }[] = [];
  for (let index = 0; index < directories.length; index += 1) {
    const dir = directories[index]!;
    await mkdir(dir.target, { mode: 0o700 });
    for (const entry of await readdir(dir.source)) {
      const stats = await lstat(join(dir.source, entry)).catch(gone);
      if (!stats) continue; // deleted since the directory was read: not part of the copy
      const child = { source: join(dir.source, entry), target: join(dir.target, entry), stats };
      if (child.stats.isDirectory()) directories.push(child);
      else if (child.stats.isFile()) files.push(child);
      else if (child.stats.isSymbolicLink()) links.push(child);
      else state.options.log?.(`copy: ${child.source} skipped: not a file, directory or symlink`);
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      await copyRegular(file.source, file.target, file.stats, state).catch(async (error) => {
        // A file deleted while the tree is copied is not part of the copy.
        if ((await lstat(file.source).catch(gone)) !== undefined) throw error;
        await rm(file.target, { force: true });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, state.options.parallel ?? 8) }, worker));
  for (const link of links) {
    await symlink(await readlink(link.source), link.target);
    await keepOwner(link.target, link.stats, state);
    await lutimes(link.target, link.stats.atimeMs / 1000, link.stats.mtimeMs / 1000);
  }
  for (const dir of directories.reverse()) await keepMetadata(dir.source, dir.target, dir.stats, state);
}

async function copyRegular(source: string, target: string, stats: Stats, state: State): Promise<void> {
  let before = stats;
  for (let attempt = 1; ; attempt += 1) {
    const settled = await settledVersion(source, before);
    if (!settled) {
      if (attempt >= TRIES) throw changing(source);
      before = await lstat(source);
      continue;
    }
    before = settled;
    const cloned = state.reflink && (await tryClone(source, target, state));
    if (!cloned) await fullCopy(source, target, state);
    const after = await lstat(source);
    if (sameVersion(before, after)) {
      const copied = await lstat(target);
      if (copied.size !== after.size) throw new CopyError(`copy of ${source} holds ${copied.size} bytes, not ${after.size}`, "SHORT");
      state.result.files += 1;
      state.result.bytes += after.size;
      if (!cloned) {
        state.result.kind = "full";
        state.unsynced.push(target);
      }
      await keepMetadata(source, target, after, state);
      return;
    }
    await unlink(target);
    if (attempt >= TRIES) throw changing(source);
    before = after;
  }
}

const changing = (source: string): CopyError => new CopyError(`${source} kept changing while it was copied (${TRIES} tries)`, "CHANGING");

/**
 * `stats` again once its last write is `SETTLE_MS` old (at once when it already is); undefined when the
 * file was written again meanwhile.
 */
async function settledVersion(source: string, stats: Stats): Promise<Stats | undefined> {
  const wait = SETTLE_MS - (Date.now() - stats.mtimeMs);
  if (wait <= 0) return stats;
  // A clock behind the writer's (a FUSE mount's times come from the writing client) waits no longer than SETTLE_MS.
  await sleep(Math.min(wait, SETTLE_MS));
  const now = await lstat(source);
  return sameVersion(stats, now) ? now : undefined;
}

/** Syncs each file's data, `parallel` at a time: the copy is durable before it is acknowledged. */
async function syncAll(files: string[], parallel: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const handle = await open(files[next++]!, "r").catch(gone);
      if (!handle) continue; // its source was deleted during the copy, and the copy with it
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** FICLONE_FORCE: a clone or an error, never a silent copy (so the kind is known). False where the filesystem cannot. */
async function tryClone(source: string, target: string, state: State): Promise<boolean> {
  try {
    await copyFile(source, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (error) {
    if (!NOT_CLONABLE.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
    state.reflink = false;
    await rm(target, { force: true });
    return false;
  }
}

/** Reads and writes in chunks; all-zero chunks become holes (block PVs' files are sparse and stay so). */
async function fullCopy(source: string, target: string, state: State): Promise<void> {
  const input = await open(source, "r");
  try {
    const output = await open(target, "wx", 0o600);
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      let position = 0;
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, CHUNK, position);
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        if (!chunk.equals(ZERO.subarray(0, bytesRead))) await output.write(chunk, 0, bytesRead, position);
        position += bytesRead;
        state.result.copiedBytes += bytesRead;
        state.options.progress?.(bytesRead);
      }
      await output.truncate(position);
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** Owners are kept where this process may set them (root); elsewhere the copy is the caller's. */
async function keepOwner(target: string, stats: Stats, state: State): Promise<void> {
  if (state.root) await lchown(target, stats.uid, stats.gid);
}

/** Owner, then mode (a chown drops set-id bits), user xattrs, and times last. */
async function keepMetadata(source: string, target: string, stats: Stats, state: State): Promise<void> {
  await keepOwner(target, stats, state);
  await chmod(target, stats.mode & 0o7777);
  await copyUserXattrs(source, target);
  // Seconds as a number keep the microseconds a Date would drop.
  await utimes(target, stats.atimeMs / 1000, stats.mtimeMs / 1000);
}

async function copyUserXattrs(source: string, target: string): Promise<void> {
  let names: string[];
  try {
    names = (await listAttributes(source)).filter((name) => name.startsWith("user."));
  } catch {
    return; // a filesystem without xattrs has none to keep
  }
  for (const name of names) {
    const value = await getAttribute(source, name);
    if (value) await setAttribute(target, name, value);
  }
}
