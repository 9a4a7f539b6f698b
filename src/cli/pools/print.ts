/** How `storage-list` shows a pool report: a table, a per-pool description, or a stable JSON/YAML document. */
import { formatBytes } from "../../core/units.js";
import { renderTable } from "../table.js";
import type { PoolListReport, PoolReport } from "./report.js";
import { counted } from "../../core/words.js";

export interface TableOptions {
  status: boolean;
  wide: boolean;
  noHeaders: boolean;
}

const size = (bytes: number | null | undefined): string => (bytes === null || bytes === undefined ? "-" : formatBytes(bytes));

function unitsColumn(pool: PoolReport): string {
  if (pool.external) return `${pool.external.hosts.join(",")}:/${pool.external.volume}`;
  return String(pool.storageUnits.length);
}

/**
 * --status's columns; -o wide adds WIDE_USAGE_HEADERS after them (without them the table fits a terminal).
 * Provisioned counts the snapshots' bytes beside the PVs' sizes (they take room in the pool alike).
 */
const USAGE_HEADERS = ["Capacity", "Provisioned", "Utilization", "PVs", "Archived", "Snapshots"];
const WIDE_USAGE_HEADERS = ["Snapshot size", "Min PV", "Avg PV", "Max PV"];

function usageCells(pool: PoolReport, wide: boolean): string[] {
  return wide ? allUsageCells(pool) : allUsageCells(pool).slice(0, USAGE_HEADERS.length);
}

function allUsageCells(pool: PoolReport): string[] {
  const none = Array<string>(USAGE_HEADERS.length + WIDE_USAGE_HEADERS.length - 1).fill("-");
  if (pool.usageError) return ["unavailable", ...none];
  const usage = pool.usage;
  if (!usage) return [pool.singlePvPerPool ? "single PV" : "-", ...none];
  return [
    size(usage.capacityBytes),
    size(usage.provisionedBytes),
    `${usage.utilizationPercent.toFixed(1)}%`,
    String(usage.livePvCount),
    String(usage.archivedPvCount),
    String(usage.snapshotCount),
    size(usage.snapshotBytes),
    size(usage.minPvBytes),
    size(usage.avgPvBytes),
    size(usage.maxPvBytes),
  ];
}

/** kubectl's way: 45s, 12m, 5h, 3d, 2y. */
export function age(createdAt: string | null, now = Date.now()): string {
  const seconds = createdAt ? Math.max(0, Math.floor((now - Date.parse(createdAt)) / 1000)) : NaN;
  if (Number.isNaN(seconds)) return "-";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 120 * 60) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 730 * 86400) return `${Math.floor(seconds / 86400)}d`;
  return `${Math.floor(seconds / (365 * 86400))}y`;
}

/** Why a pool is not ready (or its usage not known yet), in a few words: the details stay for --detail. */
export function reason(pool: PoolReport): string {
  const full = pool.message || pool.usagePending || "";
  const short = full.split(/ \(|;/)[0]!.trim();
  return !short ? "-" : short.length > 60 ? `${short.slice(0, 59)}…` : short;
}

export function poolTable(report: PoolListReport, options: TableOptions): string {
  const headers = ["Name", "Type", "State", "Storage units", "Reclaim policy"];
  if (options.status) headers.push(...USAGE_HEADERS, ...(options.wide ? WIDE_USAGE_HEADERS : []));
  headers.push("Age");
  if (options.wide) headers.push("Volume ID", "Nodes");
  headers.push("Reason");
  const rows = report.pools.map((pool) => {
    const row = [pool.name, pool.type, pool.state, unitsColumn(pool), pool.reclaimPolicy];
    if (options.status) row.push(...usageCells(pool, Boolean(options.wide)));
    row.push(age(pool.createdAt));
    if (options.wide) row.push(pool.volumeId || "-", [...new Set(pool.storageUnits.map((unit) => unit.node).filter(Boolean))].join(",") || "-");
    row.push(reason(pool));
    return row;
  });
  return renderTable(headers, rows, { noHeaders: options.noHeaders });
}

function usageLine(pool: PoolReport): string | undefined {
  if (pool.usageError) return `unavailable: ${pool.usageError}`;
  if (pool.usagePending) return `- (${pool.usagePending})`;
  if (pool.usage === undefined) return undefined;
  if (!pool.usage) return pool.singlePvPerPool ? "single PV per pool: no per-PV accounting" : "-";
  const u = pool.usage;
  const sizes = u.pvCount > 0 ? ` (min ${size(u.minPvBytes)}, avg ${size(u.avgPvBytes)}, max ${size(u.maxPvBytes)})` : "";
  const archived = u.archivedPvCount > 0 ? `, ${u.archivedPvCount} archived (${size(u.archivedBytes)})` : "";
  const snapshots = u.snapshotCount > 0 ? `, ${counted(u.snapshotCount, "snapshot")} (${size(u.snapshotBytes)})` : "";
  return `${size(u.provisionedBytes)} provisioned of ${size(u.capacityBytes)} (${u.utilizationPercent.toFixed(1)}%), ${counted(u.livePvCount, "PV")}${archived}${snapshots}${sizes}`;
}

export function poolDetail(report: PoolListReport, noHeaders: boolean): string {
  return report.pools
    .map((pool) => {
      const lines = [`Name:            ${pool.name}`, `Type:            ${pool.type}`, `State:           ${pool.state}`];
      if (pool.message) lines.push(`Reason:          ${pool.message}`);
      lines.push(`Age:             ${age(pool.createdAt)}`, `Volume ID:       ${pool.volumeId || "-"}`, `Reclaim policy:  ${pool.reclaimPolicy}`);
      if (pool.singlePvPerPool) lines.push("Single PV:       yes");
      if (pool.options) {
        const entries = Object.entries(pool.options);
        lines.push(`Options:         ${entries.length ? entries.map(([key, value]) => `${key}=${value}`).join(", ") : "<none>"}`);
      }
      const usage = usageLine(pool);
      if (usage) lines.push(`Usage:           ${usage}`);
      // The claim that owned an archived PV is gone: its name comes from the PV's metadata, where the create recorded it.
      const archivedRows = pool.usage?.archived.map((pv) => [pv.name, pv.pv, pv.claim ? `${pv.claim.namespace}/${pv.claim.name}` : "-", size(pv.sizeBytes)]);
      if (archivedRows?.length)
        lines.push(
          "Archived PVs:",
          ...renderTable(["Archived PV", "Was PV", "Was claim", "Size"], archivedRows, { noHeaders })
            .trimEnd()
            .split("\n")
            .map((line) => `  ${line}`),
        );
      if (pool.external) {
        lines.push(`Gluster hosts:   ${pool.external.hosts.join(", ")}`, `Gluster volume:  ${pool.external.volume}`);
        if (pool.external.options) lines.push(`Mount options:   ${pool.external.options}`);
      } else {
        const rows = pool.storageUnits.map((unit) => [
          String(unit.index),
          unit.node || "-",
          unit.device || unit.path || `pvc/${unit.pvc}`,
          unit.serverPod,
          unit.podPhase === undefined ? "-" : `${unit.podPhase}${unit.ready ? ", Ready" : ", not ready"}`,
        ]);
        lines.push(
          "Storage units:",
          ...renderTable(["#", "Node", "Device/Path/PVC", "Server pod", "Status"], rows, { noHeaders })
            .trimEnd()
            .split("\n")
            .map((line) => `  ${line}`),
        );
      }
      return `${lines.join("\n")}\n`;
    })
    .join("\n");
}

/** The documented machine-readable shape: bytes as integers, fields present whatever was asked. */
export function poolDocument(report: PoolListReport): Record<string, unknown> {
  return {
    apiVersion: "kubectl-kadalu/v1",
    kind: "StoragePoolList",
    pools: report.pools.map((pool) => ({
      name: pool.name,
      type: pool.type,
      state: pool.state,
      message: pool.message,
      createdAt: pool.createdAt,
      volumeId: pool.volumeId,
      reclaimPolicy: pool.reclaimPolicy,
      singlePvPerPool: pool.singlePvPerPool,
      storageUnits: pool.storageUnits,
      external: pool.external,
      options: pool.options ?? null,
      usage: pool.usage ?? null,
      ...(pool.usageError ? { usageError: pool.usageError } : {}),
      ...(pool.usagePending ? { usagePending: pool.usagePending } : {}),
    })),
    problems: report.problems,
  };
}
