/**
 * The cluster side of a switch-over (`install --upgrade` over another Kadalu): the survey behind the
 * preflight (one list per kind, one heal report per replicated pool, side by side), the removal of
 * upstream's leftovers, and the brick pods restarted one at a time per replica group, each after the
 * one before is ready again and its pool has no heal pending.
 */
import { ClusterError } from "../../core/errors.js";
import { formatDuration } from "../../core/duration.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, type PoolInfo } from "../../core/info/codec.js";
import {
  isReady,
  outdated,
  preflight,
  replicaGroups,
  replicated,
  UPSTREAM_LEFTOVERS,
  type PodView,
  type PoolHealth,
  type Preflight,
  type PvView,
  type WorkloadView,
} from "../../core/upgrade/switch-over.js";
import type { Kube } from "../../kube/client.js";
import type { KubeObject } from "../../core/kube-vocabulary.js";
import { healsIn, poolHeals } from "../pools/heals.js";
import type { EventSink } from "./events.js";
import { counted } from "../../core/words.js";

const POLL_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Survey {
  report: Preflight;
  pools: PoolInfo[];
  leftovers: KubeObject[];
}

async function healsOf(kube: Kube, namespace: string, info: PoolInfo, pods: Map<string, PodView>): Promise<PoolHealth> {
  if (!replicated(info)) return { info };
  const heals = await poolHeals(kube, namespace, info, pods);
  return typeof heals === "number" ? { info, heals } : { info, healError: heals };
}

export async function survey(kube: Kube, namespace: string, installed: string, wanted: string): Promise<Survey> {
  const [data, statefulSets, daemonSets, pvs, appPods, leftovers] = await Promise.all([
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
    kube.listObjects("apps/v1", "StatefulSet", namespace),
    kube.listObjects("apps/v1", "DaemonSet", namespace),
    kube.listObjects("v1", "PersistentVolume"),
    kube.listObjects("v1", "Pod"),
    Promise.all(UPSTREAM_LEFTOVERS.map((ref) => kube.getObject(ref.apiVersion, ref.kind, ref.name))),
  ]);
  const { pools } = decodeKadaluInfo(data ?? {});
  // The namespace's pods are among every pod listed for the PVs in use: one list serves both.
  const pods = (appPods as unknown as PodView[]).filter((pod) => pod.metadata?.namespace === namespace);
  const byName = new Map(pods.map((pod) => [pod.metadata?.name ?? "", pod as PodView]));
  const health = await Promise.all(pools.map((info) => healsOf(kube, namespace, info, byName)));
  const present = leftovers.filter((object): object is KubeObject => Boolean(object));
  const report = preflight({
    // A list's items carry no kind.
    installed,
    wanted,
    workloads: [
      ...statefulSets.map((o) => ({ ...o, kind: "StatefulSet" })),
      ...daemonSets.map((o) => ({ ...o, kind: "DaemonSet" })),
    ] as unknown as WorkloadView[],
    leftovers: present.map((object) => `${object.kind.toLowerCase()}/${object.metadata.name}`),
    pools: health,
    pods,
    pvs: pvs as unknown as PvView[],
    appPods: appPods as unknown as PodView[],
  });
  return { report, pools, leftovers: present };
}

export async function removeLeftovers(kube: Kube, leftovers: KubeObject[], sink: EventSink): Promise<void> {
  await Promise.all(
    leftovers.map(async (object) =>
      sink({ type: "deleted", object: `${object.kind.toLowerCase()}/${object.metadata.name}`, existed: await kube.deleteObject(object), dryRun: false }),
    ),
  );
}

async function until<T>(what: string, deadline: number, sink: EventSink, probe: () => Promise<T | undefined>): Promise<T> {
  sink({ type: "waiting", what });
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new ClusterError(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

interface StatefulSetView extends WorkloadView {
  metadata: WorkloadView["metadata"] & { generation?: number };
  status?: WorkloadView["status"] & { observedGeneration?: number };
}

/**
 * Restarts the pool's brick pods that run an older template, one at a time per replica group: the
 * operator's StatefulSets wait for it (OnDelete). Each restart waits for the new pod to be ready and,
 * on a replicated pool, for its heals to be done, before the next.
 */
async function rollPool(kube: Kube, namespace: string, info: PoolInfo, timeoutMs: number, sink: EventSink): Promise<number> {
  let restarted = 0;
  const path = (name: string): string => `/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`;
  for (const group of replicaGroups(info)) {
    for (const podName of group) {
      const statefulSet = podName.replace(/-0$/, "");
      const deadline = Date.now() + timeoutMs;
      // The new operator's template, observed by the StatefulSet controller.
      const current = await until(`statefulset/${statefulSet} to carry this version's template (the operator applies it)`, deadline, sink, async () => {
        const live = await kube.getPath<StatefulSetView>(path(statefulSet));
        const taken =
          live?.spec?.updateStrategy?.type === "OnDelete" &&
          (live.status?.observedGeneration ?? 0) >= (live.metadata.generation ?? 1) &&
          live.status?.updateRevision;
        return taken ? live : undefined;
      });
      const pod = await kube.getPath<PodView>(`/api/v1/namespaces/${namespace}/pods/${podName}`);
      if (!outdated(current, pod)) continue;
      const oldUid = pod?.metadata?.uid;
      await kube.deleteObject({ apiVersion: "v1", kind: "Pod", metadata: { name: podName, namespace } });
      sink({ type: "deleted", object: `pod/${podName}`, existed: true, dryRun: false });
      await until(`pod/${podName} to be ready again`, deadline, sink, async () => {
        const fresh = await kube.getPath<PodView>(`/api/v1/namespaces/${namespace}/pods/${podName}`);
        return fresh && fresh.metadata?.uid !== oldUid && isReady(fresh) ? true : undefined;
      });
      restarted += 1;
      if (replicated(info)) {
        await until(`pool ${info.volname}'s heals to finish after ${podName} restarted`, deadline, sink, async () => {
          return (await healsIn(kube, namespace, podName, info.volname)) === 0 ? true : undefined;
        });
      }
      sink({ type: "ready", what: `${podName} restarted${replicated(info) ? `, pool ${info.volname} healed` : ""}` });
    }
  }
  return restarted;
}

/** Every pool's bricks, pool after pool; says how many restarted and how long it took. */
export async function rollBricks(kube: Kube, namespace: string, pools: PoolInfo[], timeoutMs: number, sink: EventSink): Promise<string> {
  const started = Date.now();
  let restarted = 0;
  for (const info of pools) restarted += await rollPool(kube, namespace, info, timeoutMs, sink);
  const brickPools = pools.filter((info) => replicaGroups(info).length > 0).length;
  return `${counted(restarted, "brick pod")} of ${counted(brickPools, "pool")} restarted one at a time in ${formatDuration(Date.now() - started)}`;
}
