/**
 * `snapshot-list [pool]`: the VolumeSnapshots of Kadalu pools (pool, source PVC, size, ready, age), from one
 * list of VolumeSnapshots and one of VolumeSnapshotContents. A command of its own rather than a
 * `storage-list` flag: its rows are snapshots, not pools, with their own columns and JSON items.
 */
import { Command } from "commander";
import { formatBytes } from "../../core/units.js";
import type { SnapshotRow } from "../../core/cluster-snapshots.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, addPoolSelector, selectedPool, type GlobalOptions } from "../flags.js";
import { formatObject } from "../io.js";
import { age } from "../pools/print.js";
import { renderTable } from "../table.js";
import { requireSnapshots } from "../snapshots/list.js";

const FORMATS = ["table", "wide", "json", "yaml"] as const;
type Format = (typeof FORMATS)[number];

interface RawOptions extends GlobalOptions {
  pool?: string;
  output?: Format;
  headers: boolean;
}

export interface SnapshotListOptions {
  global: GlobalOptions;
  pool?: string;
  output: Format;
  noHeaders: boolean;
}

/** The pool name is checked before this runs (checked-input.ts). */
export function complete(raw: RawOptions, pool?: string): SnapshotListOptions {
  const name = selectedPool(pool, raw);
  return { global: raw, pool: name, output: raw.output ?? "table", noHeaders: !raw.headers };
}

export function snapshotDocument(rows: SnapshotRow[]): Record<string, unknown> {
  return {
    apiVersion: "kubectl-kadalu/v1",
    kind: "SnapshotList",
    snapshots: rows.map((row) => ({
      pool: row.pool,
      namespace: row.namespace,
      name: row.name,
      pvc: row.pvc || null,
      content: row.content || null,
      sizeBytes: row.sizeBytes ?? null,
      ready: row.ready,
      createdAt: row.created ?? null,
      ...(row.error ? { error: row.error } : {}),
    })),
  };
}

export function snapshotTable(rows: SnapshotRow[], options: { wide: boolean; noHeaders: boolean; now?: number }): string {
  const headers = ["pool", "namespace", "pvc", "snapshot", "size", "ready", "age", ...(options.wide ? ["content", "error"] : [])];
  return renderTable(
    headers,
    rows.map((row) => [
      row.pool,
      row.namespace,
      row.pvc || "-",
      row.name,
      row.sizeBytes === undefined ? "-" : formatBytes(row.sizeBytes),
      row.ready ? "true" : "false",
      age(row.created ?? null, options.now),
      ...(options.wide ? [row.content || "-", row.error ?? ""] : []),
    ]),
    { noHeaders: options.noHeaders },
  );
}

export async function run(options: SnapshotListOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const rows = await requireSnapshots(kube, options.global.namespace, options.pool);
  if (options.output === "json" || options.output === "yaml") {
    io.out.write(formatObject(snapshotDocument(rows), options.output));
    return;
  }
  if (rows.length > 0) io.out.write(snapshotTable(rows, { wide: options.output === "wide", noHeaders: options.noHeaders }));
  else
    io.err.write(
      `No snapshots of ${options.pool ? `pool "${options.pool}"` : "Kadalu pools"}. Take one with a VolumeSnapshot of class kadalu.POOL (README: Snapshots and clones)\n`,
    );
}

export function snapshotListCommand(deps: Deps): Command {
  const command = new Command("snapshot-list").description("List the VolumeSnapshots of Kadalu pools: pool, source PVC, size, ready, age");
  addOutputFlag(command, FORMATS).option("--no-headers", "print tables without headers");
  addPoolSelector(command);
  command.addHelpText(
    "after",
    `
Examples:
  kubectl kadalu snapshot-list
  kubectl kadalu snapshot-list pool1
  kubectl kadalu snapshot-list -o json`,
  );
  return command.action(async (pool: string | undefined, _opts: unknown, cmd: Command) => {
    await run(complete(cmd.optsWithGlobals<RawOptions>(), pool), deps);
  });
}
