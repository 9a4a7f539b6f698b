/**
 * The nodeplugin's start: a pool's FUSE client runs in the plugin's container, so it dies with it, and
 * every PV bind the previous plugin made (the staging binds under the kubelet's CSI plugins directory, and
 * the targets under its pods directory bound from them) then answers ENOTCONN. The kubelet neither stages
 * nor publishes a running pod's volume again, so the new plugin does (as ceph-csi remounts its FUSE
 * mounts): it mounts the pool and binds the PV's directory again on top of each dead bind, staging paths
 * first, never unmounting the dead one first, so the new mount propagates to app containers that mount the
 * volume with HostToContainer propagation. A target bound from a staging path is that bind's peer (the
 * kubelet's directories are shared mounts), so the staging path's new bind reaches it too and it is found
 * alive; a target published without staging is bound itself. A container without HostToContainer keeps its
 * dead mount and sees ENOTCONN (an error, never silence) until its pod is recreated.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve, sep } from "node:path";
import { promisify } from "node:util";
import { isExternal, type PoolInfo } from "../../src/core/info/codec.js";
import type { Driver } from "../driver.js";
import { deadMount } from "../os/mounter.js";
import { mountTable } from "../os/mount-table.js";

const run = promisify(execFile);

/** The pool a FUSE mount's source names: `SERVER:VOLFILE-ID` (External) or `kadalu:POOL` (--fs-display-name). */
function poolOfSource(pools: PoolInfo[], source: string): PoolInfo | undefined {
  const volume = source.slice(source.lastIndexOf(":") + 1);
  return pools.find((pool) => (isExternal(pool) ? pool.gluster_volname : pool.volname) === volume);
}

/** Binds again every dead directory PV of ours, staging paths and then pods' targets; the paths done. */
export async function republishDead(driver: Driver, log: (message: string) => void): Promise<string[]> {
  const pods = `${driver.config.kubeletDir}/pods/`;
  const staging = `${driver.config.kubeletDir}/plugins/kubernetes.io/csi/`;
  const stages = new Map<string, { source: string; root: string; options: string[] }>();
  const targets = new Map<string, { source: string; root: string; options: string[] }>();
  for (const entry of mountTable()) {
    if (entry.fstype !== "fuse.glusterfs") continue;
    if (entry.target.startsWith(staging)) stages.set(entry.target, entry);
    else if (entry.target.startsWith(pods) && entry.target.includes("/volumes/kubernetes.io~csi/")) targets.set(entry.target, entry);
  }
  const done: string[] = [];
  for (const [target, { source, root, options }] of [...stages, ...targets]) {
    if (!deadMount(target)) continue;
    const pool = poolOfSource(driver.pools(), source);
    if (!pool || !root.startsWith("/subvol/")) {
      log(`republish: ${target} (${source}${root}) is dead and not a directory PV of a known pool: left as it is`);
      continue;
    }
    try {
      const store = await driver.store(pool);
      const directory = resolve(store.root, `.${root}`);
      if (!directory.startsWith(store.root + sep) || !existsSync(directory)) throw new Error(`${root} is not in pool ${pool.volname}`);
      await driver.volumeLocks.run(`${stages.has(target) ? "staging" : "target"}:${target}`, async () => {
        await run("mount", ["--bind", directory, target]);
        if (options.includes("ro")) await run("mount", ["-o", "remount,bind,ro", target]);
      });
      done.push(target);
      log(`republish: ${target} bound again to ${pool.volname}${root} (its FUSE client died with the previous nodeplugin)`);
    } catch (error) {
      log(`republish: ${target} stays dead: ${(error as Error).message}`);
    }
  }
  return done;
}
