/**
 * "PVCs at risk": a pool's pending heal entries (its heal report) by the PVs they belong to, and those PVs'
 * claims. Entries glfsheal gives as `<gfid:UUID>` are named on the brick that lists them, through its
 * .glusterfs handles (a directory's is a symlink to `../../xx/yy/<parent gfid>/<name>`, a file's is a hard
 * link carrying `trusted.gfid2path.*` = `<parent gfid>/<name>`), climbing to the root in one exec per brick.
 */
import { entriesByPv, entryGfid, healEntries, isGfid, type BrickEntries, type HealRisk } from "../../core/heal-entries.js";

export type { HealRisk };
import type { NativePoolInfo } from "../../core/info/codec.js";
import { serverPodName } from "../../core/naming.js";
import type { Kube } from "../../kube/client.js";

/** At most this many gfids are named per brick in one exec; the rest count as unresolved. */
const MAX_GFIDS = 500;

/** A constant script: the brick and the gfids (checked) arrive as arguments. Prints `gfid<TAB>path` per gfid, the path empty when it cannot be named. */
export const GFID_TO_PATH = `brick=$1; shift
for gfid in "$@"; do
  path=; cur=$gfid; steps=0
  while [ "$cur" != 00000000-0000-0000-0000-000000000001 ]; do
    steps=$((steps + 1)); if [ $steps -gt 64 ]; then path=; break; fi
    rest=\${cur#??}; handle="$brick/.glusterfs/\${cur%"$rest"}/\${rest%"\${rest#??}"}/$cur"
    if [ -h "$handle" ]; then
      link=$(readlink "$handle") || { path=; break; }
      name=\${link##*/}; link=\${link%/*}; parent=\${link##*/}
    elif [ -f "$handle" ]; then
      line=$(getfattr --absolute-names -d -m '^trusted[.]gfid2path[.]' -e text "$handle" 2>/dev/null | grep -m 1 '^trusted[.]gfid2path[.]') || { path=; break; }
      value=\${line#*=\\"}; value=\${value%\\"}; parent=\${value%%/*}; name=\${value#*/}
    else path=; break; fi
    path="/$name$path"; cur=$parent
  done
  printf '%s\\t%s\\n' "$gfid" "$path"
done
`;

/** `HOST:PATH` of the report -> the brick's pod and path, when it is one of the pool's bricks. */
function brickOf(info: NativePoolInfo, named: string): { pod: string; path: string } | undefined {
  const brick = info.bricks.find((candidate) => named === `${candidate.node}:${candidate.brick_path}`);
  return brick ? { pod: serverPodName(info.volname, brick.brick_index), path: brick.brick_path } : undefined;
}

/** The script's answer, believed only for the gfids asked and paths without control characters. */
export function parseGfidPaths(output: string, asked: Set<string>): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of output.split("\n")) {
    const [gfid, path] = line.split("\t");
    if (gfid && asked.has(gfid) && path?.startsWith("/") && !/[\0-\x1f\x7f]/.test(path)) paths.set(gfid, path);
  }
  return paths;
}

async function namedOnBrick(kube: Kube, namespace: string, info: NativePoolInfo, bricks: BrickEntries[]): Promise<Map<string, string>> {
  const asks = bricks.flatMap((listed) => {
    const where = brickOf(info, listed.brick);
    const gfids = [...new Set(listed.entries.map(entryGfid).filter((gfid): gfid is string => gfid !== undefined && isGfid(gfid)))].slice(0, MAX_GFIDS);
    return where && gfids.length > 0 && !/[\0-\x1f\x7f]/.test(where.path) ? [{ ...where, gfids }] : [];
  });
  const answers = await Promise.all(
    asks.map(async ({ pod, path, gfids }) => {
      try {
        const result = await kube.exec(namespace, pod, "server", ["sh", "-c", GFID_TO_PATH, "sh", path, ...gfids]);
        return parseGfidPaths(result.stdout.toString("utf8"), new Set(gfids));
      } catch {
        // A brick that cannot be asked leaves its gfids unresolved, and says so in the count.
        return new Map<string, string>();
      }
    }),
  );
  return new Map(answers.flatMap((answer) => [...answer]));
}

/** The PVCs a pool's heal report puts at risk, or undefined when nothing is pending. One PV list per pool with entries. */
export async function healRisk(kube: Kube, namespace: string, info: NativePoolInfo, report: string): Promise<HealRisk | undefined> {
  const bricks = healEntries(report);
  if (!bricks.some((brick) => brick.entries.length > 0)) return undefined;
  const byPv = entriesByPv(bricks, await namedOnBrick(kube, namespace, info, bricks));
  const claims = byPv.pvs.length > 0 ? new Map((await kube.poolVolumes(info.volname)).map((pv) => [pv.name, pv.claim])) : new Map<string, string | undefined>();
  return {
    pvcs: byPv.pvs.map(({ pv, entries }) => ({ ...(claims.get(pv) ? { pvc: claims.get(pv)! } : {}), pv, entries })),
    outsidePvs: byPv.other,
    unresolved: byPv.unresolved,
  };
}

const entriesWord = (count: number): string => `${count} ${count === 1 ? "entry" : "entries"}`;

/** `PVCs at risk: default/data (3 entries), pvc-... (no claim, 1 entry)`, and what was not in a PV. */
export function riskLines(risk: HealRisk): string[] {
  const lines: string[] = [];
  if (risk.pvcs.length > 0)
    lines.push(
      `PVCs at risk: ${risk.pvcs.map((item) => (item.pvc ? `${item.pvc} (${entriesWord(item.entries)})` : `${item.pv} (no claim, ${entriesWord(item.entries)})`)).join(", ")}`,
    );
  else lines.push("PVCs at risk: none (no pending entry is inside a PV)");
  if (risk.outsidePvs > 0) lines.push(`Not in a PV: ${entriesWord(risk.outsidePvs)} (the pool's own files and directories)`);
  if (risk.unresolved > 0) lines.push(`Not resolved: ${entriesWord(risk.unresolved)} (gfids no running brick could name)`);
  return lines;
}
