/** Pending heal entries of a replicated pool, from upstream's heal-info.sh in one of its ready brick pods. */
import type { PoolInfo } from "../../core/info/codec.js";
import { isReady, pendingHeals, replicaGroups, type PodView } from "../../core/upgrade/switch-over.js";
import type { Kube } from "../../kube/client.js";

export const HEAL_INFO = "/kadalu/heal-info.sh";

/** The report's pending count run in `pod`, or why there is none. */
export async function healsIn(kube: Kube, namespace: string, pod: string, pool: string, onReport?: (report: string) => void): Promise<number | string> {
  try {
    const result = await kube.exec(namespace, pod, "server", [HEAL_INFO, pool]);
    const report = result.stdout.toString("utf8");
    if (result.exitCode === 0) onReport?.(report);
    const count = result.exitCode === 0 ? pendingHeals(report) : undefined;
    return (
      count ??
      `${HEAL_INFO} in ${pod} (exit ${result.exitCode}) gave no count for every brick: ${(result.stderr.toString().trim() || report.trim()).split("\n").slice(-3).join(" / ")}`
    );
  } catch (error) {
    return `${HEAL_INFO} in ${pod}: ${(error as Error).message}`;
  }
}

/** Asked in the first ready brick pod of the pool (`pods` by name). */
export async function poolHeals(
  kube: Kube,
  namespace: string,
  info: PoolInfo,
  pods: Map<string, PodView>,
  onReport?: (report: string) => void,
): Promise<number | string> {
  const pod = replicaGroups(info)
    .flat()
    .find((name) => isReady(pods.get(name)));
  return pod ? healsIn(kube, namespace, pod, info.volname, onReport) : "no brick pod of the pool is ready to ask";
}
