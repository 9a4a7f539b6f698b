/**
 * `storage-list --watch`: what each pool's status says (state, bricks, the usage the provisioner records),
 * as a table with a utilisation bar on a terminal, and as one plain line per change elsewhere.
 */
import type { KadaluStorage } from "../../core/pool/types.js";
import { formatBytes } from "../../core/units.js";
import { renderTable } from "../table.js";

const BAR_WIDTH = 20;

export interface PoolLine {
  name: string;
  type: string;
  state: string;
  bricks: string;
  capacity: string;
  provisioned: string;
  pvs: string;
  /** provisioned / capacity, when both are known. */
  ratio?: number;
}

export function poolLine(pool: KadaluStorage): PoolLine {
  const status = pool.status ?? {};
  const usage = status.usage;
  return {
    name: pool.metadata.name,
    type: pool.spec.type,
    state: pool.metadata.deletionTimestamp ? "stopping" : (status.state ?? "pending"),
    bricks: status.bricks ? `${status.bricks.ready}/${status.bricks.total}` : "-",
    capacity: usage ? formatBytes(usage.capacityBytes) : "-",
    provisioned: usage ? formatBytes(usage.provisionedBytes) : "-",
    pvs: usage ? String(usage.pvCount) : "-",
    ...(usage && usage.capacityBytes > 0 ? { ratio: usage.provisionedBytes / usage.capacityBytes } : {}),
  };
}

/** `[#######·············]  35%`: the share of the pool promised to PVs. */
export function utilisationBar(ratio: number | undefined, width = BAR_WIDTH): string {
  if (ratio === undefined) return "-";
  const filled = Math.min(width, Math.round(Math.max(0, ratio) * width));
  return `[${"#".repeat(filled)}${"·".repeat(width - filled)}] ${`${Math.round(ratio * 100)}%`.padStart(4)}`;
}

export function watchTable(pools: KadaluStorage[]): string {
  const lines = [...pools].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map(poolLine);
  return renderTable(
    ["NAME", "TYPE", "STATE", "BRICKS", "CAPACITY", "PROVISIONED", "UTILIZATION", "PVS"],
    lines.map((line) => [line.name, line.type, line.state, line.bricks, line.capacity, line.provisioned, utilisationBar(line.ratio), line.pvs]),
  );
}

/** One line for a pool that changed (or went: `deleted`), for logs and pipes. */
export function changeLine(at: string, name: string, pool: KadaluStorage | undefined): string {
  if (!pool) return `${at} ${name} deleted\n`;
  const line = poolLine(pool);
  const used = line.ratio === undefined ? "" : ` (${Math.round(line.ratio * 100)}%)`;
  return `${at} ${line.name} ${line.state} bricks ${line.bricks} provisioned ${line.provisioned} of ${line.capacity}${used} pvs ${line.pvs}\n`;
}

/** The part of a pool a watcher sees: a change elsewhere (a resourceVersion, managed fields) prints nothing. */
export function visible(pool: KadaluStorage | undefined): string {
  if (!pool) return "";
  const { ratio, ...line } = poolLine(pool);
  return JSON.stringify({ ...line, percent: ratio === undefined ? undefined : Math.round(ratio * 100) });
}
