/**
 * What `storage-list` shows, as data: pools from the KadaluStorage objects (a pool the operator has not
 * reconciled yet included) with their state, joined with `kadalu-info` (bricks, volume id), optionally
 * server pod states and usage. Round trips: the pool list and the ConfigMap side by side, with the pod
 * list for --detail; then one exec into the provisioner for --status. Never a call per pool.
 */

import { ClusterError } from "../../core/errors.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal, type InfoProblem, type PoolInfo } from "../../core/info/codec.js";
import { PROVISIONER_STATEFULSET } from "../../core/manifests/common.js";
import { serverPodName } from "../../core/naming.js";
import { KADALU_PODS_SELECTOR } from "../../core/kube-vocabulary.js";
import type { KadaluStorage } from "../../core/pool/types.js";
import type { Kube, Pod as V1Pod } from "../../kube/client.js";
import { isNotFound } from "../../kube/errors.js";
import { fetchPoolUsage, type ListedUsage, type UsageResult } from "./stat-fetch.js";

export const PROVISIONER_SELECTOR = "app.kubernetes.io/name=kadalu-csi-provisioner";
export const PROVISIONER_CONTAINER = "kadalu-provisioner";

export interface StorageUnitReport {
  index: number;
  node: string;
  device: string;
  path: string;
  pvc: string;
  serverPod: string;
  podPhase?: string;
  ready?: boolean;
}

export interface PoolReport {
  name: string;
  type: string;
  volumeId: string;
  reclaimPolicy: string;
  singlePvPerPool: boolean;
  storageUnits: StorageUnitReport[];
  external: { hosts: string[]; volume: string; options: string } | null;
  /** The status's state; "pending" before the operator wrote one, "-" with no KadaluStorage object. */
  state: string;
  /** Why it is not ready (the status's message), or why the usage is not known yet. */
  message: string;
  /** The KadaluStorage object's creationTimestamp, when there is one. */
  createdAt: string | null;
  options?: Record<string, string>;
  usage?: ListedUsage | null;
  usageError?: string;
  /** Why there is no usage though it was asked, when that is no failure (not mounted yet). */
  usagePending?: string;
}

export interface ReportRequest {
  namespace: string;
  name?: string;
  detail: boolean;
  status: boolean;
}

export interface PoolListReport {
  pools: PoolReport[];
  problems: InfoProblem[];
}

const isReady = (pod: V1Pod | undefined): boolean => Boolean(pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));

function infoReport(info: PoolInfo, pods: Map<string, V1Pod> | undefined): PoolReport {
  const units = isExternal(info)
    ? []
    : info.bricks.map((brick) =>
        unitReport(
          info.volname,
          brick.brick_index,
          {
            node: brick.kube_hostname,
            device: brick.brick_device,
            path: brick.host_brick_path,
            pvc: brick.pvc_name,
          },
          pods,
        ),
      );
  return {
    name: info.volname,
    type: info.type,
    volumeId: info.volume_id,
    reclaimPolicy: info.pvReclaimPolicy,
    singlePvPerPool: info.single_pv_per_pool,
    storageUnits: units,
    external: isExternal(info) ? { hosts: info.gluster_hosts.split(",").filter(Boolean), volume: info.gluster_volname, options: info.gluster_options } : null,
    state: "-",
    message: "no KadaluStorage object (only kadalu-info lists the pool)",
    createdAt: null,
  };
}

function unitReport(
  pool: string,
  index: number,
  unit: { node?: string; device?: string; path?: string; pvc?: string },
  pods: Map<string, V1Pod> | undefined,
): StorageUnitReport {
  const serverPod = serverPodName(pool, index);
  const pod = pods?.get(serverPod);
  return {
    index,
    node: unit.node ?? "",
    device: unit.device ?? "",
    path: unit.path ?? "",
    pvc: unit.pvc ?? "",
    serverPod,
    ...(pods ? { podPhase: pod?.status?.phase ?? "Missing", ready: isReady(pod) } : {}),
  };
}

/** A pool the operator has not written to kadalu-info yet: what its spec asks for. */
function specReport(pool: KadaluStorage, pods: Map<string, V1Pod> | undefined): PoolReport {
  const { spec } = pool;
  const external = spec.type === "External";
  const hosts = spec.details?.gluster_hosts ?? (spec.details?.gluster_host ? [spec.details.gluster_host] : []);
  return {
    name: pool.metadata.name,
    type: spec.type,
    volumeId: pool.status?.volumeId ?? spec.volume_id ?? "",
    reclaimPolicy: spec.pvReclaimPolicy ?? "delete",
    singlePvPerPool: Boolean(spec.single_pv_per_pool),
    storageUnits: external ? [] : (spec.storage ?? []).map((unit, index) => unitReport(pool.metadata.name, index, unit, pods)),
    external: external ? { hosts, volume: spec.details?.gluster_volname ?? "", options: spec.details?.gluster_options ?? "" } : null,
    state: "-",
    message: "",
    createdAt: null,
  };
}

/** The state and its reason from the object's status (what the operator and provisioner wrote). */
function withState(report: PoolReport, pool: KadaluStorage): PoolReport {
  const status = pool.status;
  const state = status?.state ?? (pool.metadata.deletionTimestamp ? "stopping" : "pending");
  const message =
    state === "ready" ? "" : (status?.message ?? (status?.state ? "" : "the operator has not reconciled this pool yet (is it running? kubectl kadalu doctor)"));
  return { ...report, state, message, createdAt: pool.metadata.creationTimestamp ?? null };
}

function pickProvisioner(pods: V1Pod[]): V1Pod | undefined {
  const candidates = pods.filter(
    (pod) => pod.metadata?.labels?.["app.kubernetes.io/name"] === PROVISIONER_STATEFULSET || pod.metadata?.name === `${PROVISIONER_STATEFULSET}-0`,
  );
  return candidates.find((pod) => pod.status?.phase === "Running" && isReady(pod)) ?? candidates.find((pod) => pod.status?.phase === "Running");
}

function describePods(pods: V1Pod[]): string {
  return pods.map((pod) => `${pod.metadata?.name} (${pod.status?.phase ?? "Unknown"})`).join(", ") || "none";
}

/**
 * The provisioner is a StatefulSet's one pod, so its name is known: it is asked straight away (no pod
 * list on the way). Only when that exec cannot start (the pod is missing or not running) are the pods
 * listed, to find another provisioner pod or to say which exist.
 */
async function usageFor(kube: Kube, namespace: string, pools: PoolInfo[], pods: V1Pod[] | undefined): Promise<Map<string, UsageResult>> {
  const measured = pools.filter((info) => !info.single_pv_per_pool).map((info) => info.volname);
  if (measured.length === 0) return new Map();
  const target = (pod: string) => ({ namespace, pod, container: PROVISIONER_CONTAINER });
  if (!pods) {
    try {
      return await fetchPoolUsage(kube, target(`${PROVISIONER_STATEFULSET}-0`), measured);
    } catch {
      pods = await kube.listPods(namespace, KADALU_PODS_SELECTOR);
    }
  }
  const provisioner = pickProvisioner(pods);
  if (!provisioner) {
    const error = `no running CSI provisioner pod (${PROVISIONER_SELECTOR}) in namespace "${namespace}"; pods: ${describePods(pods.filter((pod) => pod.metadata?.name?.includes("provisioner")))}`;
    return new Map(measured.map((pool) => [pool, { error }]));
  }
  return fetchPoolUsage(kube, target(provisioner.metadata!.name!), measured);
}

/** The same promise, marked handled: when an earlier step throws first, its rejection is not reported as unhandled. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function allOrFirstError<T extends readonly unknown[]>(work: T): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as { [K in keyof T]: Awaited<T[K]> };
}

export async function collectPoolReport(kube: Kube, request: ReportRequest): Promise<PoolListReport> {
  const { namespace } = request;
  // Nothing here depends on anything else: the pool list, the ConfigMap and the pods go out together.
  const podsAsked = request.detail ? settledLater(kube.listPods(namespace, KADALU_PODS_SELECTOR)) : undefined;
  // Without the CRD (Kadalu not installed) there are no objects: kadalu-info alone says what exists.
  let notInstalled: unknown;
  const poolsAsked = settledLater(
    kube.listPools(namespace).catch((error: unknown) => (isNotFound(error) ? ((notInstalled = error), []) : Promise.reject(error))),
  );
  // Every answer is in before a failure is reported: no request is left open behind the error.
  const [data, resources] = await allOrFirstError([kube.readConfigMapData(namespace, INFO_CONFIGMAP), poolsAsked, podsAsked] as const);
  const decoded = decodeKadaluInfo(data);
  const byName = new Map(resources.map((pool) => [pool.metadata.name, pool]));
  const infoByName = new Map(decoded.pools.map((info) => [info.volname, info]));
  // With neither the kind nor a pool layout, "no pools" would send the user to storage-add, which cannot work yet.
  if (notInstalled && decoded.pools.length === 0 && decoded.problems.length === 0) throw notInstalled;
  const broken = new Set(decoded.problems.map((problem) => problem.pool));
  const known = [...new Set([...byName.keys(), ...infoByName.keys(), ...broken])].sort();
  if (request.name && !known.includes(request.name)) {
    throw new ClusterError(`storage pool "${request.name}" not found in namespace "${namespace}"; pools: ${known.join(", ") || "none"}`);
  }
  // A malformed kadalu-info entry is reported as a problem; its pool is a row only if its object exists.
  const names = known.filter((name) => (!request.name || name === request.name) && (byName.has(name) || infoByName.has(name)));
  const problems = decoded.problems.filter((problem) => !request.name || problem.pool === request.name);
  if (names.length === 0) return { pools: [], problems };
  const podList = await podsAsked;
  const pods = podList && request.detail ? new Map(podList.map((pod) => [pod.metadata!.name!, pod])) : undefined;
  const reports = names.map((name) => {
    const info = infoByName.get(name);
    const resource = byName.get(name);
    let report = info ? infoReport(info, pods) : specReport(resource!, pods);
    if (resource) report = withState(report, resource);
    if (request.detail) report.options = Object.fromEntries((resource?.spec.options ?? []).map((option) => [option.key, option.value]));
    return report;
  });
  if (request.status) {
    const measured = reports.filter((report) => !report.singlePvPerPool && infoByName.has(report.name));
    const usage = await usageFor(
      kube,
      namespace,
      measured.map((report) => infoByName.get(report.name)!),
      podList,
    );
    for (const report of reports) {
      const result = usage.get(report.name);
      if (report.singlePvPerPool) report.usage = null;
      else if (!infoByName.has(report.name)) report.usagePending = "not configured by the operator yet";
      else if (!result) report.usage = null;
      else if ("usage" in result) report.usage = result.usage;
      else if ("pending" in result) report.usagePending = result.pending;
      else report.usageError = result.error;
    }
  }
  return { pools: reports, problems };
}
