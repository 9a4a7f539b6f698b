/**
 * Pools laid out as upstream lays them: `<pool>.info` entries and `stat.db` files written by Debian's
 * `sqlite3` (or a WebAssembly SQLite where it is missing) running upstream's own SQL (an independent writer), under a directory standing for the CSI
 * provisioner's filesystem, served to `kubectl exec` by the API test server.
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { localDirExec } from "../apiserver/exec.js";
import { sqlite3 } from "./sqlite-cli.js";

/** The CSI image's `node /kadalu/bin/kadalu-csi`, played by this repository's binary. */
export const CSI_IMAGE_PROGRAMS = { "node /kadalu/bin/kadalu-csi": [process.execPath, fileURLToPath(new URL("../../bin/kadalu-csi", import.meta.url))] };
import type { ApiServer } from "../apiserver/server.js";

const UPSTREAM_SCHEMA = [
  "CREATE TABLE IF NOT EXISTS summary (volname VARCHAR PRIMARY KEY, size INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL);",
  "CREATE TABLE IF NOT EXISTS pv_stats (pvname VARCHAR PRIMARY KEY, hash VARCHAR, size INTEGER, created_at REAL DEFAULT (datetime('now','localtime')), updated_at REAL);",
];

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Writes `<root>/mnt/<pool>/stat.db` with the sqlite3 CLI, as upstream's provisioner would. */
export function writeUpstreamStatDb(root: string, pool: string, capacity: number, pvs: [name: string, size: number, hash?: string][]): string {
  const dir = join(root, "mnt", pool);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "stat.db");
  const sql = [
    ...UPSTREAM_SCHEMA,
    `INSERT OR REPLACE INTO summary (volname, size, created_at, updated_at) VALUES (${quote(pool)}, ${capacity}, COALESCE((SELECT created_at FROM summary WHERE volname=${quote(pool)}), datetime('now','localtime')), datetime('now','localtime'));`,
    ...pvs.map(
      ([name, size, hash]) =>
        `INSERT OR REPLACE INTO pv_stats (pvname, hash, size, created_at, updated_at) VALUES (${quote(name)}, ${quote(hash ?? "0000000000000000")}, ${size}, COALESCE((SELECT created_at FROM pv_stats WHERE pvname=${quote(name)}), datetime('now','localtime')), datetime('now','localtime'));`,
    ),
  ].join("\n");
  sqlite3(file, sql, { stdin: true });
  return file;
}

/** Upstream's own storage-list query, run by sqlite3: `size|count|sum|min|avg|max`. */
export function upstreamQuery(file: string): string {
  return sqlite3(file, "select size from summary;select count(pvname), sum(size), min(size), avg(size), max(size) from pv_stats").trim();
}

export function seedKadaluInfo(server: ApiServer, entries: Record<string, string>): void {
  server.seed({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kadalu-info", namespace: "kadalu" },
    data: { uid: "c0ffee00-0000-4000-8000-000000000000", volumes: "", ...entries },
  });
}

export function seedProvisioner(server: ApiServer, root: string, options: { name?: string; phase?: string; ready?: boolean } = {}): string {
  const name = options.name ?? "kadalu-csi-provisioner-0";
  server.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kadalu",
      labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "csi-driver", "app.kubernetes.io/name": "kadalu-csi-provisioner" },
    },
    spec: { containers: [{ name: "csi-provisioner" }, { name: "kadalu-provisioner" }] },
    status: { phase: options.phase ?? "Running", conditions: [{ type: "Ready", status: options.ready === false ? "False" : "True" }] },
  });
  server.onExec("kadalu", name, "kadalu-provisioner", localDirExec(root, CSI_IMAGE_PROGRAMS));
  return name;
}

export function seedServerPod(server: ApiServer, name: string, phase: string, ready: boolean): void {
  server.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kadalu",
      labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "server", "app.kubernetes.io/name": "server" },
    },
    spec: { containers: [{ name: "server" }] },
    status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
}

/**
 * The PV directories under a pool root or a brick (`subvol/<h1>/<h2>/<name>`). The hash directories
 * alone do not count: the provisioner prepares the first level and never removes any.
 */
export function volumeDirectories(root: string): string[] {
  const base = join(root, "subvol");
  if (!existsSync(base)) return [];
  return readdirSync(base).flatMap((h1) => readdirSync(join(base, h1)).flatMap((h2) => readdirSync(join(base, h1, h2)).map((name) => `${h1}/${h2}/${name}`)));
}
