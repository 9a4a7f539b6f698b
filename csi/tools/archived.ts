/**
 * `kadalu-csi archived --pool P --root /mnt/P [--pvc archived-X] [--remove]`: run in the provisioner by
 * `kubectl kadalu remove-archived-pv`. Prints the archived PVs (removed ones with --remove) as JSON.
 */
import { parseArgs } from "node:util";
import { readFlags } from "../../src/core/daemon-flags.js";
import { UsageError } from "../../src/core/errors.js";
import { ARCHIVED_PREFIX } from "../../src/core/pv-layout.js";
import { PoolStore } from "../store/pool-store.js";

const FLAGS = { pool: { type: "string" }, root: { type: "string" }, pvc: { type: "string" }, remove: { type: "boolean" } } as const;

export async function archivedTool(args: string[], out: (text: string) => void): Promise<void> {
  const { values } = readFlags(() => parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }), Object.keys(FLAGS));
  const { pool, root, pvc: only } = values;
  if (!pool || !root) throw new UsageError("archived needs --pool NAME and --root DIR");
  if (only && !only.startsWith(ARCHIVED_PREFIX)) throw new UsageError(`--pvc "${only}" is not an archived PV`);
  const store = new PoolStore(pool, root, () => undefined);
  try {
    await store.open();
    const archived = store.list().filter((record) => record.name.startsWith(ARCHIVED_PREFIX) && (!only || record.name === only));
    if (only && archived.length === 0) throw new Error(`archived PV ${only} not found in pool ${pool}`);
    if (values.remove) for (const record of archived) await store.removeArchived(record);
    out(JSON.stringify(archived.map((record) => ({ name: record.name, size: record.size }))));
  } finally {
    await store.close();
  }
}
