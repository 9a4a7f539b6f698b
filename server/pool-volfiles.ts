/**
 * A pool's volfiles from its kadalu-info entry, as upstream's server (server/serverutils.py,
 * glusterfsd.py, shd.py) feeds volgen: the brick's own, the client's (served by every brick to
 * `glusterfs --volfile-id=POOL`) and the self-heal daemon's. Pure: no I/O.
 */
import type { NativePoolInfo } from "../src/core/info/codec.js";
import { clientVolfile, shdVolfile, storageUnitVolfile, type VolgenDistributeGroup, type VolgenVolume } from "./volgen.js";

export const BRICK_PORT = 24007;
export const VOLFILES_DIR = "/var/lib/kadalu/volfiles";

/** Upstream's server defaults (serverutils.DEFAULT_OPTIONS): the pool's own options override them. */
export const DEFAULT_OPTIONS: Record<string, string> = {
  "performance.client-io-threads": "off",
  "performance.stat-prefetch": "off",
  "performance.quick-read": "off",
  "performance.open-behind": "off",
  "performance.read-ahead": "off",
  "performance.io-cache": "off",
  "performance.readdir-ahead": "off",
};

export interface BrickIdentity {
  pool: string;
  volumeId: string;
  brickPath: string;
  brickIndex: number;
  nodeId: string;
  /** The node's name (the pod's HOSTNAME): part of the brick's volfile id. */
  nodeName: string;
}

/** `POOL.NODE.BRICK-PATH-DASHED`, the id glusterfsd loads its own volfile by (upstream's glusterfsd.py). */
export const brickVolfileId = (brick: BrickIdentity): string =>
  `${brick.pool}.${brick.nodeName}.${brick.brickPath.replace(/^\/+|\/+$/g, "").replaceAll("/", "-")}`;

const REPLICAS: Record<string, number> = { Replica1: 1, Replica2: 2, Replica3: 3, Arbiter: 3 };

/** The storage units per distribute group of a pool type. */
export function groupSize(info: NativePoolInfo): number {
  return info.type === "Disperse" ? info.disperse.data + info.disperse.redundancy : REPLICAS[info.type]!;
}

export function volgenVolume(info: NativePoolInfo): VolgenVolume {
  const size = groupSize(info);
  const bricks = [...info.bricks].sort((a, b) => a.brick_index - b.brick_index);
  if (size < 1 || bricks.length === 0 || bricks.length % size !== 0) {
    throw new Error(`pool ${info.volname}: a ${info.type} pool needs a multiple of ${size} bricks, kadalu-info lists ${bricks.length}`);
  }
  const groups: VolgenDistributeGroup[] = [];
  for (let start = 0; start < bricks.length; start += size) {
    const group: VolgenDistributeGroup = {
      storage_units: bricks
        .slice(start, start + size)
        .map((brick) => ({ path: brick.brick_path, port: BRICK_PORT, node: { name: brick.node, id: brick.node_id } })),
    };
    if (info.type === "Disperse") Object.assign(group, { redundancy_count: info.disperse.redundancy });
    else Object.assign(group, { replica_count: size, ...(info.type === "Arbiter" ? { arbiter_count: 1 } : {}) });
    groups.push(group);
  }
  const volume: VolgenVolume = { name: info.volname, id: info.volume_id, distribute_groups: groups };
  // Upstream's server leaves the tiebreaker out of the client volfile (so Replica2 runs without one); volgen's template takes it.
  const tiebreaker = info.tiebreaker as { node?: string; path?: string; port?: number } | undefined;
  if (info.type === "Replica2" && tiebreaker?.node && tiebreaker.path) {
    volume.tiebreaker = { node: tiebreaker.node, path: tiebreaker.path, port: Number(tiebreaker.port ?? BRICK_PORT) };
  }
  return volume;
}

export const poolOptions = (info: NativePoolInfo): Record<string, string> => ({ ...DEFAULT_OPTIONS, ...info.options });

export interface PoolVolfiles {
  /** File name (in VOLFILES_DIR) to content. */
  files: Record<string, string>;
  brickVolfile: string;
  shdVolfile?: string;
}

/** Types whose pods run the self-heal daemon (the operator sets SHD_REQUIRED for them). */
export const SELF_HEALED = new Set(["Replica2", "Replica3", "Arbiter", "Disperse"]);

export function poolVolfiles(info: NativePoolInfo, brick: BrickIdentity): PoolVolfiles {
  if (info.volname !== brick.pool) throw new Error(`kadalu-info describes pool ${info.volname}, this brick belongs to pool ${brick.pool}`);
  const options = poolOptions(info);
  const volume = volgenVolume(info);
  // Every third brick of an Arbiter pool holds only names and metadata (upstream's glusterfsd.py).
  const arbiter = info.type === "Arbiter" && (brick.brickIndex + 1) % 3 === 0;
  const unit = { path: brick.brickPath, port: BRICK_PORT, ...(arbiter ? { type: "arbiter" } : {}), volume: { name: brick.pool, id: brick.volumeId } };
  const brickVolfile = `${brickVolfileId(brick)}.vol`;
  const files: Record<string, string> = {
    [brickVolfile]: `${storageUnitVolfile(unit, options)}\n`,
    [`${brick.pool}.vol`]: `${clientVolfile(volume, options)}\n`,
  };
  if (!SELF_HEALED.has(info.type)) return { files, brickVolfile };
  files["glustershd.vol"] = `${shdVolfile(volume)}\n`;
  return { files, brickVolfile, shdVolfile: "glustershd.vol" };
}
