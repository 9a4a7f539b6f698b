/**
 * Pending heal entries of a pool, from its heal report (server/heal-info.ts), mapped to the PVs they belong
 * to: a PV's files live under `<pvtype>/<h>/<h>/<name>` and its metadata at `info/<pvtype>/<h>/<h>/<name>.json`
 * (pv-layout.ts), so an entry's path names its PV. glfsheal prints `<gfid:UUID>` where it cannot give a
 * path; those are resolved on the brick (its .glusterfs handles) before they are mapped.
 */
import { PV_TYPES, pvPrefix, type PvType } from "./pv-layout.js";

/** One brick's part of the "List of files needing a heal" section. */
export interface BrickEntries {
  /** As the report names it: `HOST:PATH`. */
  brick: string;
  entries: string[];
}

const GFID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GFID_ENTRY = /^<gfid:([0-9a-f-]{36})>(\/.*)?$/;

export const isGfid = (value: string): boolean => GFID.test(value);

/** The entries each brick lists as needing a heal; an empty list where the report has none. */
export function healEntries(report: string): BrickEntries[] {
  const start = report.search(/^List of files needing a heal on /m);
  if (start < 0) return [];
  const end = report.indexOf("\nList of files in splitbrain on ", start);
  const section = report
    .slice(start, end < 0 ? undefined : end)
    .split("\n")
    .slice(1);
  const bricks: BrickEntries[] = [];
  for (const raw of section) {
    // glfsheal ends each entry with a space.
    const line = raw.trim();
    if (line.startsWith("Brick ")) bricks.push({ brick: line.slice("Brick ".length), entries: [] });
    else if (line && !/^(Status|Number of entries)/.test(line) && bricks.length > 0) bricks[bricks.length - 1]!.entries.push(line);
  }
  return bricks;
}

/** The gfid of a `<gfid:UUID>` entry (with or without a name after it), else undefined. */
export function entryGfid(entry: string): string | undefined {
  const gfid = GFID_ENTRY.exec(entry)?.[1];
  return gfid && isGfid(gfid) ? gfid : undefined;
}

/** The PV a path inside the pool belongs to, when its hash directories are that name's (pv-layout.ts). */
export function pvOfPath(path: string): string | undefined {
  const parts = path.replace(/^\/+/, "").split("/");
  const [first, ...rest] = parts[0] === "info" ? parts.slice(1) : parts;
  if (!(PV_TYPES as readonly string[]).includes(first ?? "") || rest.length < 3) return undefined;
  const name = parts[0] === "info" ? rest[2]!.replace(/\.json$/, "") : rest[2]!;
  if (parts[0] === "info" && (rest.length !== 3 || !rest[2]!.endsWith(".json"))) return undefined;
  return pvPrefix(first as PvType, name) === `${first}/${rest[0]}/${rest[1]}` ? name : undefined;
}

export interface PvEntries {
  pv: string;
  entries: number;
}

export interface EntriesByPv {
  /** Distinct entries per PV, most first. */
  pvs: PvEntries[];
  /** Entries of the pool itself (its root, stat.db, hash directories). */
  other: number;
  /** `<gfid:...>` entries no brick could name. */
  unresolved: number;
}

/**
 * Counts distinct entries per PV: the same entry listed by each brick of a replica set (as a path or as a
 * gfid the bricks resolved, `paths`: gfid -> path inside the pool) counts once.
 */
export function entriesByPv(bricks: BrickEntries[], paths: Map<string, string> = new Map()): EntriesByPv {
  const resolved = new Set<string>();
  const unknown = new Set<string>();
  for (const entry of bricks.flatMap((brick) => brick.entries)) {
    const gfid = entryGfid(entry);
    if (!gfid) resolved.add(entry);
    else if (paths.has(gfid)) resolved.add(`${paths.get(gfid)}${GFID_ENTRY.exec(entry)?.[2] ?? ""}`);
    else unknown.add(entry);
  }
  const counts = new Map<string, number>();
  let other = 0;
  for (const path of resolved) {
    const pv = pvOfPath(path);
    if (pv) counts.set(pv, (counts.get(pv) ?? 0) + 1);
    else other += 1;
  }
  const pvs = [...counts].map(([pv, entries]) => ({ pv, entries })).sort((a, b) => b.entries - a.entries || (a.pv < b.pv ? -1 : 1));
  return { pvs, other, unresolved: unknown.size };
}

/** What one pool's pending entries put at risk. */
export interface HealRisk {
  /** Per PV, most entries first; `pvc` is `namespace/name` from the PV's claimRef, when it has one. */
  pvcs: { pvc?: string; pv: string; entries: number }[];
  /** Entries of the pool's own files (root, stat.db, hash directories, metadata directories). */
  outsidePvs: number;
  /** `<gfid:...>` entries no brick could name. */
  unresolved: number;
}

/** `apps/data (4), pvc-... (2)`: the PVCs (else PVs) at risk, for one line. */
export function atRiskList(risk: HealRisk): string {
  return risk.pvcs.map((item) => `${item.pvc ?? item.pv} (${item.entries})`).join(", ");
}
