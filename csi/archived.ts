/**
 * `kadalu-csi archived --pool P --root /mnt/P [--pvc archived-X] [--remove]`: run in the provisioner by
 * `kubectl kadalu remove-archived-pv`. Prints the archived PVs (removed ones with --remove) as JSON.
 */
import { ARCHIVED_PREFIX } from "../src/core/pv-layout.js";
import { PoolStore } from "./pool-store.js";

export async function archivedTool(args: string[], out: (text: string) => void): Promise<void> {
  const value = (flag: string): string | undefined => {
    const index = args.indexOf(flag);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const pool = value("--pool");
  const root = value("--root");
  const only = value("--pvc");
  if (!pool || !root) throw new Error("archived needs --pool NAME and --root DIR");
  if (only && !only.startsWith(ARCHIVED_PREFIX)) throw new Error(`--pvc "${only}" is not an archived PV`);
  const store = new PoolStore(pool, root, () => undefined);
  try {
    await store.open();
    const archived = store.list().filter((record) => record.name.startsWith(ARCHIVED_PREFIX) && (!only || record.name === only));
    if (only && archived.length === 0) throw new Error(`archived PV ${only} not found in pool ${pool}`);
    if (args.includes("--remove")) for (const record of archived) await store.removeArchived(record);
    out(JSON.stringify(archived.map((record) => ({ name: record.name, size: record.size }))));
  } finally {
    await store.close();
  }
}
