/** How `storage-list` shows a pool report: a table, a per-pool description, or a stable JSON/YAML document. */
import { formatBytes } from "../../core/units.js";
import { renderTable } from "../table.js";
import type { PoolListReport, PoolReport } from "./report.js";

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

function usageCells(pool: PoolReport): string[] {
  if (pool.usageError) return ["unavailable", "-", "-", "-", "-", "-", "-"];
  const usage = pool.usage;
  if (!usage) return [pool.singlePvPerPool ? "single PV" : "-", "-", "-", "-", "-", "-", "-"];
  return [
    size(usage.capacityBytes), size(usage.provisionedBytes), `${usage.utilizationPercent.toFixed(1)}%`, String(usage.pvCount),
    size(usage.minPvBytes), size(usage.avgPvBytes), size(usage.maxPvBytes),
  ];
}

export function poolTable(report: PoolListReport, options: TableOptions): string {
  const headers = ["Name", "Type", "Storage units", "Reclaim policy"];
  if (options.status) headers.push("Capacity", "Provisioned", "Utilization", "PVs", "Min PV", "Avg PV", "Max PV");
  if (options.wide) headers.push("Volume ID", "Nodes");
  const rows = report.pools.map((pool) => {
    const row = [pool.name, pool.type, unitsColumn(pool), pool.reclaimPolicy];
    if (options.status) row.push(...usageCells(pool));
    if (options.wide) row.push(pool.volumeId, [...new Set(pool.storageUnits.map((unit) => unit.node).filter(Boolean))].join(",") || "-");
    return row;
  });
  return renderTable(headers, rows, { noHeaders: options.noHeaders });
}

function usageLine(pool: PoolReport): string | undefined {
  if (pool.usageError) return `unavailable: ${pool.usageError}`;
  if (pool.usage === undefined) return undefined;
  if (!pool.usage) return pool.singlePvPerPool ? "single PV per pool: no per-PV accounting" : "-";
  const u = pool.usage;
  const sizes = u.pvCount > 0 ? ` (min ${size(u.minPvBytes)}, avg ${size(u.avgPvBytes)}, max ${size(u.maxPvBytes)})` : "";
  return `${size(u.provisionedBytes)} provisioned of ${size(u.capacityBytes)} (${u.utilizationPercent.toFixed(1)}%), ${u.pvCount} PV${u.pvCount === 1 ? "" : "s"}${sizes}`;
}

export function poolDetail(report: PoolListReport, noHeaders: boolean): string {
  return report.pools.map((pool) => {
    const lines = [`Name:            ${pool.name}`, `Type:            ${pool.type}`, `Volume ID:       ${pool.volumeId}`, `Reclaim policy:  ${pool.reclaimPolicy}`];
    if (pool.singlePvPerPool) lines.push("Single PV:       yes");
    if (pool.options) {
      const entries = Object.entries(pool.options);
      lines.push(`Options:         ${entries.length ? entries.map(([key, value]) => `${key}=${value}`).join(", ") : "<none>"}`);
    }
    const usage = usageLine(pool);
    if (usage) lines.push(`Usage:           ${usage}`);
    if (pool.external) {
      lines.push(`Gluster hosts:   ${pool.external.hosts.join(", ")}`, `Gluster volume:  ${pool.external.volume}`);
      if (pool.external.options) lines.push(`Mount options:   ${pool.external.options}`);
    } else {
      const rows = pool.storageUnits.map((unit) => [
        String(unit.index + 1), unit.node || "-", unit.device || unit.path || `pvc/${unit.pvc}`, unit.serverPod,
        unit.podPhase === undefined ? "-" : `${unit.podPhase}${unit.ready ? ", Ready" : ", not ready"}`,
      ]);
      lines.push("Storage units:", ...renderTable(["#", "Node", "Device/Path/PVC", "Server pod", "Status"], rows, { noHeaders }).trimEnd().split("\n").map((line) => `  ${line}`));
    }
    return `${lines.join("\n")}\n`;
  }).join("\n");
}

/** The documented machine-readable shape: bytes as integers, fields present whatever was asked. */
export function poolDocument(report: PoolListReport): Record<string, unknown> {
  return {
    apiVersion: "kubectl-kadalu/v1",
    kind: "StoragePoolList",
    pools: report.pools.map((pool) => ({
      name: pool.name,
      type: pool.type,
      volumeId: pool.volumeId,
      reclaimPolicy: pool.reclaimPolicy,
      singlePvPerPool: pool.singlePvPerPool,
      storageUnits: pool.storageUnits,
      external: pool.external,
      options: pool.options ?? null,
      usage: pool.usage ?? null,
      ...(pool.usageError ? { usageError: pool.usageError } : {}),
    })),
    problems: report.problems,
  };
}
