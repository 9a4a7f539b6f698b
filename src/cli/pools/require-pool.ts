/** A pool that must exist; when it does not, the error lists the pools that do. */
import { ClusterError, KadaluNotInstalled } from "../../core/errors.js";
import type { KadaluStorage } from "../../core/pool/types.js";
import type { Kube } from "../../kube/client.js";

export async function requirePool(kube: Kube, namespace: string, name: string): Promise<KadaluStorage> {
  const pool = await kube.getPool(namespace, name);
  if (pool) return pool;
  const pools = (
    await kube.listPools(namespace).catch((error: unknown) => (error instanceof KadaluNotInstalled ? Promise.reject(error) : ([] as KadaluStorage[])))
  )
    .map((item) => item.metadata.name)
    .sort();
  throw poolNotFound(name, namespace, pools);
}

/** The one answer every command gives for a pool that is not there: the pools that are. */
export function poolNotFound(name: string, namespace: string, pools: string[]): ClusterError {
  return new ClusterError(`storage pool "${name}" not found in namespace "${namespace}"; pools: ${pools.join(", ") || "none"}`);
}
