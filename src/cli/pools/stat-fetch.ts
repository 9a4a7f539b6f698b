/**
 * Pool usage for many pools in ONE exec: `tar` streams every `/mnt/<pool>/stat.db` (and any rollback
 * journal beside it) out of the CSI provisioner; each copy is read locally (copy-reader.ts), from
 * memory, or with its journal from a private temp directory. A torn copy (the provisioner was writing) fails `quick_check` and only those
 * pools are fetched again; a pool whose file is missing is reported, the others still are.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dns1123LabelError } from "../../core/naming.js";
import { summarizeUsage, type PoolUsage } from "../../core/stats/usage.js";
import { readTar, type TarEntry } from "../../core/tar.js";
import type { Kube } from "../../kube/client.js";
import { readCopy as readStatDbCopy, readCopyBytes, STAT_DB_FILE } from "../../statdb/copy-reader.js";

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

export type UsageResult = { usage: PoolUsage } | { error: string };

const POOL_ROOT = "/mnt";
const JOURNAL = `${STAT_DB_FILE}-journal`;

/** tar's complaint about one pool's file, in words. */
function missingReason(pool: string, stderr: string, pod: string): string {
  const line = stderr.split("\n").find((text) => text.includes(`${pool}/${STAT_DB_FILE}:`));
  if (!line || /No such file/i.test(line)) return `no ${POOL_ROOT}/${pool}/${STAT_DB_FILE} in pod ${pod} (the pool is not mounted there)`;
  return line.replace(/^tar:\s*/, "").trim();
}

/**
 * Reads one pool's copy; undefined means torn (retry). A copy with a journal (a write was under way) is
 * read from files in the attempt's private directory: `<pool>.db` with the journal beside it as
 * `<pool>.db-journal`, the name SQLite looks for, so it rolls back; one without is read from memory.
 */
async function readCopy(dir: string, pool: string, entries: Map<string, Buffer>): Promise<PoolUsage | undefined> {
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
    return copy.integrity === "ok" ? summarizeUsage(copy.capacity, copy.totals) : undefined;
  } catch {
    return undefined;
  }
}

async function fetchOnce(kube: Kube, target: ExecTarget, pools: string[], dir: string, results: Map<string, UsageResult>): Promise<string[]> {
  const paths = pools.flatMap((pool) => [`${pool}/${STAT_DB_FILE}`, `${pool}/${JOURNAL}`]);
  const result = await kube.exec(target.namespace, target.pod, target.container, ["tar", "-c", "-f", "-", "-C", POOL_ROOT, ...paths]);
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
      results.set(pool, { error: missingReason(pool, result.stderr, target.pod) });
      continue;
    }
    const usage = await readCopy(attemptDir, pool, byName);
    if (usage) results.set(pool, { usage });
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
      results.set(pool, { error: `the copy of ${POOL_ROOT}/${pool}/${STAT_DB_FILE} was torn or corrupt ${attempts} times (is the provisioner writing heavily?); try again` });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
