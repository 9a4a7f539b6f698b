/**
 * Pool usage for many pools in ONE exec: `tar` streams every `/mnt/<pool>/stat.db` (and any rollback
 * journal beside it) out of the CSI provisioner; each copy is read locally (copy-reader.ts), from
 * memory, or with its journal from a private temp directory. A torn copy (the provisioner was writing) fails `quick_check` and only those
 * pools are fetched again; a pool whose file is missing is reported, the others still are. The same tar
 * brings each pool's archived PVs' metadata (`info/.../archived-<pv>.json`; the other metadata files are
 * left out by name), so archived PVs are counted apart from live ones at no extra round trip; the
 * snapshots' rows are in the same stat.db.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dns1123LabelError } from "../../core/naming.js";
import { ARCHIVED_PREFIX, decodePvMetadata, type PvClaim } from "../../core/pv-layout.js";
import { summarizeUsage, type PoolUsage } from "../../core/stats/usage.js";
import { readTar, type TarEntry } from "../../core/tar.js";
import type { Kube } from "../../kube/client.js";
import { readCopy as readStatDbCopy, readCopyBytes, STAT_DB_FILE } from "../../statdb/copy-reader.js";

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

export interface ArchivedPv {
  /** As the pool holds it: archived-<pv>. */
  name: string;
  /** The PV it was: the claim's volume, pvc-<uid of the claim>. */
  pv: string;
  sizeBytes: number;
  /** The claim it was created for, where its metadata names one (recorded at create time: the claim is gone now). */
  claim?: PvClaim;
}

/** stat.db's numbers, with archived PVs (whose rows stay, their space still taken) counted apart. */
export interface ListedUsage extends PoolUsage {
  livePvCount: number;
  archivedPvCount: number;
  archivedBytes: number;
  archived: ArchivedPv[];
}

/** `pending`: no numbers yet, and no failure (the pool is new: not mounted, capacity not measured). */
export type UsageResult = { usage: ListedUsage } | { pending: string } | { error: string };

const POOL_ROOT = "/mnt";
const JOURNAL = `${STAT_DB_FILE}-journal`;

/** tar's complaint about one pool's file, in words: no file is a pool not mounted yet, anything else a failure. */
function missingReason(pool: string, stderr: string, pod: string): UsageResult {
  const line = stderr.split("\n").find((text) => text.includes(`${pool}/${STAT_DB_FILE}:`));
  if (!line || /No such file/i.test(line)) return { pending: `not mounted by the provisioner yet (no ${POOL_ROOT}/${pool}/${STAT_DB_FILE} in pod ${pod})` };
  return { error: line.replace(/^tar:\s*/, "").trim() };
}

/**
 * Reads one pool's copy; undefined means torn (retry). A copy with a journal (a write was under way) is
 * read from files in the attempt's private directory: `<pool>.db` with the journal beside it as
 * `<pool>.db-journal`, the name SQLite looks for, so it rolls back; one without is read from memory.
 */
async function readCopy(dir: string, pool: string, entries: Map<string, Buffer>): Promise<PoolUsage | null | undefined> {
  const file = join(dir, `${pool}.db`);
  const bytes = entries.get(`${pool}/${STAT_DB_FILE}`)!;
  const journal = entries.get(`${pool}/${JOURNAL}`);
  try {
    let copy;
    if (journal) {
      writeFileSync(file, bytes, { mode: 0o600 });
      writeFileSync(`${file}-journal`, journal, { mode: 0o600 });
      copy = await readStatDbCopy(file);
    } else copy = await readCopyBytes(bytes, file);
    if (copy.integrity !== "ok") return undefined;
    // The provisioner records the capacity just after creating stat.db: until then it is unknown, not 0 B.
    return copy.capacity ? summarizeUsage(copy.capacity, copy.totals, copy.snapshots) : null;
  } catch {
    return undefined;
  }
}

function archivedIn(pool: string, entries: Map<string, Buffer>): ArchivedPv[] {
  const found: ArchivedPv[] = [];
  for (const [path, data] of entries) {
    const name = path
      .split("/")
      .pop()!
      .replace(/\.json$/, "");
    if (!path.startsWith(`${pool}/info/`) || !path.endsWith(".json") || !name.startsWith(ARCHIVED_PREFIX)) continue;
    const metadata = decodePvMetadata(data.toString("utf8"));
    found.push({ name, pv: name.slice(ARCHIVED_PREFIX.length), sizeBytes: metadata?.size ?? 0, ...(metadata?.claim ? { claim: metadata.claim } : {}) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function withArchived(usage: PoolUsage, archived: ArchivedPv[]): ListedUsage {
  const archivedBytes = archived.reduce((sum, pv) => sum + pv.sizeBytes, 0);
  return { ...usage, livePvCount: Math.max(0, usage.pvCount - archived.length), archivedPvCount: archived.length, archivedBytes, archived };
}

async function fetchOnce(kube: Kube, target: ExecTarget, pools: string[], dir: string, results: Map<string, UsageResult>): Promise<string[]> {
  const paths = pools.flatMap((pool) => [`${pool}/${STAT_DB_FILE}`, `${pool}/${JOURNAL}`, `${pool}/info`]);
  // Of the metadata, only archived PVs' files (archived-*.json) come along; the hash directories are empty
  // headers. GNU tar (the CSI image's) lets `*` match `/` in exclusions unless told not to.
  const result = await kube.exec(target.namespace, target.pod, target.container, [
    "tar",
    "-c",
    "-f",
    "-",
    "-C",
    POOL_ROOT,
    "--no-wildcards-match-slash",
    "--exclude=[!a]*.json",
    ...paths,
  ]);
  let entries: TarEntry[];
  try {
    entries = readTar(result.stdout);
  } catch {
    if (result.exitCode !== 0 && result.stdout.length === 0) {
      const reason = `tar failed in pod ${target.pod} (exit ${result.exitCode}): ${result.stderr.trim().split("\n")[0] ?? ""}`;
      for (const pool of pools) results.set(pool, { error: reason });
      return [];
    }
    return pools;
  }
  const byName = new Map(entries.map((entry) => [entry.name.replace(/^\.\//, ""), entry.data]));
  const torn: string[] = [];
  const attemptDir = mkdtempSync(join(dir, "copy-"));
  for (const pool of pools) {
    if (!byName.has(`${pool}/${STAT_DB_FILE}`)) {
      results.set(pool, missingReason(pool, result.stderr, target.pod));
      continue;
    }
    const usage = await readCopy(attemptDir, pool, byName);
    if (usage) results.set(pool, { usage: withArchived(usage, archivedIn(pool, byName)) });
    else if (usage === null) results.set(pool, { pending: "capacity not measured yet (the provisioner records it once it has mounted the pool)" });
    else torn.push(pool);
  }
  return torn;
}

export async function fetchPoolUsage(kube: Kube, target: ExecTarget, pools: string[], attempts = 3): Promise<Map<string, UsageResult>> {
  const results = new Map<string, UsageResult>();
  const valid = pools.filter((pool) => {
    const problem = dns1123LabelError(pool);
    if (problem) results.set(pool, { error: `pool name "${pool}" ${problem}; not read` });
    return !problem;
  });
  if (valid.length === 0) return results;
  const dir = mkdtempSync(join(tmpdir(), "kadalu-stat-"));
  try {
    let pending = valid;
    for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt += 1) {
      pending = await fetchOnce(kube, target, pending, dir, results);
    }
    for (const pool of pending) {
      results.set(pool, {
        error: `the copy of ${POOL_ROOT}/${pool}/${STAT_DB_FILE} was torn or corrupt ${attempts} times (is the provisioner writing heavily?); try again`,
      });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
