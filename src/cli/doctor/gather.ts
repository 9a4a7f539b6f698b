/**
 * What `doctor` reads: one request per kind, all side by side; then one exec into the provisioner (the
 * pools' mounts and stat.db, by the driver's own probe) and one heal report per replicated pool, side by
 * side. Anything that cannot be read becomes part of the diagnosis, not a failure of the command.
 */
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal, type PoolInfo } from "../../core/info/codec.js";
import { NODEPLUGIN_DAEMONSET, OPERATOR_DEPLOYMENT, PROVISIONER_STATEFULSET } from "../../core/manifests/common.js";
import { KADALU_CRD_NAME } from "../../core/manifests/crd.js";
import { CSI_DRIVER_NAME } from "../../core/kube-vocabulary.js";
import { parseProbe, type Claim, type ClaimEvent, type Snapshot, type Workload } from "../../core/doctor/checks.js";
import { podFailure, type PodEventView } from "../../core/doctor/pod-failure.js";
import type { DisruptionBudget } from "../../core/doctor/drain.js";
import { isReady, replicated, type PodView } from "../../core/upgrade/switch-over.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { Kube } from "../../kube/client.js";
import { poolHeals } from "../pools/heals.js";
import { healRisk } from "../pools/heal-pvs.js";
import type { HealRisk } from "../../core/heal-entries.js";
import { inSandbox, SANDBOX_CONTEXT } from "../sandbox.js";
import { PROVISIONER_CONTAINER } from "../pools/report.js";
import { snapshotSupport } from "../install/snapshot-support.js";

const CSI_PROBE = ["node", "/kadalu/bin/kadalu-csi", "probe"];

const orUndefined = <T>(work: Promise<T>): Promise<T | undefined> => work.catch(() => undefined);
/** Crashing containers whose previous log doctor reads: a handful is enough to say why, and bounds the requests. */
const CRASH_LOGS_MAX = 6;

/** The last lines of each crashing container's previous instance, by `pod/container`; a log that cannot be read is left out. */
async function crashLogs(kube: Kube, namespace: string, pods: PodView[], events: PodEventView[]): Promise<Map<string, string>> {
  const crashing = pods
    .filter((pod) => !isReady(pod))
    .flatMap((pod) => {
      const failure = podFailure(pod, events);
      return failure?.crashed && failure.container ? [{ pod: pod.metadata?.name ?? "", container: failure.container }] : [];
    })
    .slice(0, CRASH_LOGS_MAX);
  const logs = await Promise.all(
    crashing.map(({ pod, container }) =>
      kube.readLog(namespace, pod, container, { previous: true, tailLines: 10, limitBytes: 16_384 }).then(
        (text): [string, string] => [`${pod}/${container}`, text],
        () => undefined,
      ),
    ),
  );
  return new Map(logs.filter((entry): entry is [string, string] => entry !== undefined));
}

/**
 * Pending heals and, when some are pending, the PVCs they put at risk (left out when they cannot be found,
 * never an error). A sandbox without GlusterFS has no server container to exec into: that is the
 * sandbox's limit, not the pool's fault.
 */
async function healsOf(
  kube: Kube,
  namespace: string,
  pool: PoolInfo,
  pods: Map<string, PodView>,
): Promise<[number | string | { notAsked: string }, HealRisk | undefined]> {
  let report: string | undefined;
  const heals = await poolHeals(kube, namespace, pool, pods, (text) => (report = text));
  if (typeof heals === "string" && inSandbox(kube) && heals.includes("cannot exec in pod"))
    return [{ notAsked: `the sandbox (context "${SANDBOX_CONTEXT}") runs no server containers` }, undefined];
  // A report with a brick down gives no count for it, and lists the entries of the bricks that answered.
  const risk = heals !== 0 && report && !isExternal(pool) ? await healRisk(kube, namespace, pool, report).catch(() => undefined) : undefined;
  return [heals, risk];
}

export async function gather(kube: Kube, namespace: string): Promise<Snapshot> {
  const [operator, crd, provisioner, nodeplugin, pods, pools, info, classes, claims, events, podEvents, budgets, snapshots] = await Promise.all([
    orUndefined(kube.getObject("apps/v1", "Deployment", OPERATOR_DEPLOYMENT, namespace)),
    orUndefined(kube.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", KADALU_CRD_NAME)),
    orUndefined(kube.getObject("apps/v1", "StatefulSet", PROVISIONER_STATEFULSET, namespace)),
    orUndefined(kube.getObject("apps/v1", "DaemonSet", NODEPLUGIN_DAEMONSET, namespace)),
    kube.listPods(namespace, ""),
    kube.listPools(namespace).catch(() => []),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP),
    kube.listObjects("storage.k8s.io/v1", "StorageClass"),
    kube.listObjects("v1", "PersistentVolumeClaim"),
    kube.getPath<{ items: ClaimEvent[] }>("/api/v1/events", { fieldSelector: "involvedObject.kind=PersistentVolumeClaim" }).then(
      (list) => list?.items ?? [],
      () => [],
    ),
    kube.listObjects("v1", "Event", namespace).then(
      (items) => items as unknown as PodEventView[],
      () => [],
    ),
    kube.listObjects("policy/v1", "PodDisruptionBudget", namespace).then(
      (list) => list as DisruptionBudget[],
      (error: Error) => error.message,
    ),
    snapshotSupport(kube, namespace).catch((error: Error) => error.message),
  ]);
  const infos = decodeKadaluInfo(info ?? {}).pools;
  const byName = new Map((pods as PodView[]).map((pod) => [pod.metadata?.name ?? "", pod]));
  const mounted = infos.filter((pool) => !pool.single_pv_per_pool);
  const provisionerPod = (pods as PodView[]).find((pod) => (pod.metadata?.name ?? "").startsWith(`${PROVISIONER_STATEFULSET}-`) && isReady(pod));
  const [probes, heals, logs] = await Promise.all([
    mounted.length === 0
      ? Promise.resolve(new Map())
      : provisionerPod
        ? probe(
            kube,
            namespace,
            provisionerPod.metadata!.name!,
            mounted.map((pool) => `/mnt/${pool.volname}`),
          )
        : Promise.resolve("no ready CSI provisioner pod to look from"),
    Promise.all(
      infos
        .filter((pool) => !isExternal(pool) && replicated(pool))
        .map(async (pool): Promise<[string, [number | string | { notAsked: string }, HealRisk | undefined]]> => [
          pool.volname,
          await healsOf(kube, namespace, pool, byName),
        ]),
    ),
    crashLogs(kube, namespace, pods as PodView[], podEvents),
  ]);
  return {
    namespace,
    pluginVersion: PLUGIN_VERSION,
    operator: operator as Workload | undefined,
    provisioner: provisioner as Workload | undefined,
    nodeplugin: nodeplugin as Workload | undefined,
    crdEstablished: crd
      ? Boolean((crd as any).status?.conditions?.some((c: { type: string; status: string }) => c.type === "Established" && c.status === "True"))
      : undefined,
    pods: pods as PodView[],
    pools,
    infos,
    probes,
    heals: new Map(heals.map(([pool, [count]]) => [pool, count])),
    healRisks: new Map(heals.flatMap(([pool, [, risk]]) => (risk && risk.pvcs.length > 0 ? [[pool, risk]] : []))),
    kadaluStorageClasses: classes.filter((sc) => (sc as { provisioner?: string }).provisioner === CSI_DRIVER_NAME).map((sc) => sc.metadata.name),
    claims: claims as unknown as Claim[],
    budgets,
    events,
    podEvents,
    crashLogs: logs,
    snapshots,
  };
}

async function probe(kube: Kube, namespace: string, pod: string, dirs: string[]) {
  try {
    const result = await kube.exec(namespace, pod, PROVISIONER_CONTAINER, [...CSI_PROBE, ...dirs]);
    if (result.exitCode !== 0) return `the provisioner's probe failed (exit ${result.exitCode}): ${result.stderr.toString().trim()}`;
    return parseProbe(result.stdout.toString("utf8"));
  } catch (error) {
    return `exec into ${pod}: ${(error as Error).message}`;
  }
}
