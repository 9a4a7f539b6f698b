/**
 * What `storage-list` shows, as data: pools from `kadalu-info`, optionally their KadaluStorage options,
 * server pod states and usage. Round trips: one ConfigMap read, and beside it one pod list when pods
 * matter and one KadaluStorage list for --detail; then one exec for --status. Never a call per pool.
 */

import { ClusterError } from "../../core/errors.js";
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal, type InfoProblem, type PoolInfo } from "../../core/info/codec.js";
import { serverPodName } from "../../core/naming.js";
import type { PoolUsage } from "../../core/stats/usage.js";
import type { Kube, Pod as V1Pod } from "../../kube/client.js";
import { fetchPoolUsage, type UsageResult } from "./stat-fetch.js";

export const PROVISIONER_SELECTOR = "app.kubernetes.io/name=kadalu-csi-provisioner";
export const PROVISIONER_CONTAINER = "kadalu-provisioner";
const KADALU_PODS = "app.kubernetes.io/part-of=kadalu";

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
  options?: Record<string, string>;
  usage?: PoolUsage | null;
  usageError?: string;
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

function baseReport(info: PoolInfo, pods: Map<string, V1Pod> | undefined): PoolReport {
  const units = isExternal(info) ? [] : info.bricks.map((brick): StorageUnitReport => {
    const serverPod = serverPodName(info.volname, brick.brick_index);
    const pod = pods?.get(serverPod);
    return {
      index: brick.brick_index, node: brick.kube_hostname, device: brick.brick_device, path: brick.host_brick_path, pvc: brick.pvc_name, serverPod,
      ...(pods ? { podPhase: pod?.status?.phase ?? "Missing", ready: isReady(pod) } : {}),
    };
  });
  return {
    name: info.volname, type: info.type, volumeId: info.volume_id, reclaimPolicy: info.pvReclaimPolicy, singlePvPerPool: info.single_pv_per_pool,
    storageUnits: units,
    external: isExternal(info) ? { hosts: info.gluster_hosts.split(",").filter(Boolean), volume: info.gluster_volname, options: info.gluster_options } : null,
  };
}

function pickProvisioner(pods: V1Pod[]): V1Pod | undefined {
  const candidates = pods.filter((pod) => pod.metadata?.labels?.["app.kubernetes.io/name"] === "kadalu-csi-provisioner" || pod.metadata?.name === "kadalu-csi-provisioner-0");
  return candidates.find((pod) => pod.status?.phase === "Running" && isReady(pod)) ?? candidates.find((pod) => pod.status?.phase === "Running");
}

function describePods(pods: V1Pod[]): string {
  return pods.map((pod) => `${pod.metadata?.name} (${pod.status?.phase ?? "Unknown"})`).join(", ") || "none";
}

async function usageFor(kube: Kube, namespace: string, pools: PoolInfo[], pods: V1Pod[]): Promise<Map<string, UsageResult>> {
  const measured = pools.filter((info) => !info.single_pv_per_pool).map((info) => info.volname);
  if (measured.length === 0) return new Map();
  const provisioner = pickProvisioner(pods);
  if (!provisioner) {
    const error = `no running CSI provisioner pod (${PROVISIONER_SELECTOR}) in namespace "${namespace}"; pods: ${describePods(pods.filter((pod) => pod.metadata?.name?.includes("provisioner")))}`;
    return new Map(measured.map((pool) => [pool, { error }]));
  }
  return fetchPoolUsage(kube, { namespace, pod: provisioner.metadata!.name!, container: PROVISIONER_CONTAINER }, measured);
}

/** The same promise, marked handled: when an earlier step throws first, its rejection is not reported as unhandled. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export async function collectPoolReport(kube: Kube, request: ReportRequest): Promise<PoolListReport> {
  const { namespace } = request;
  // The pod and pool lists do not depend on the ConfigMap: all three go out together.
  const podsAsked = request.detail || request.status ? settledLater(kube.listPods(namespace, KADALU_PODS)) : undefined;
  const poolsAsked = request.detail ? settledLater(kube.listPools(namespace)) : undefined;
  const data = await kube.readConfigMapData(namespace, INFO_CONFIGMAP);
  const decoded = decodeKadaluInfo(data);
  const known = [...decoded.pools.map((pool) => pool.volname), ...decoded.problems.map((problem) => problem.pool)];
  if (request.name && !known.includes(request.name)) {
    throw new ClusterError(`storage pool "${request.name}" not found in namespace "${namespace}"; pools: ${[...new Set(known)].sort().join(", ") || "none"}`);
  }
  const pools = decoded.pools.filter((pool) => !request.name || pool.volname === request.name);
  const problems = decoded.problems.filter((problem) => !request.name || problem.pool === request.name);
  if (pools.length === 0) return { pools: [], problems };
  const podList = await podsAsked;
  const pods = podList && request.detail ? new Map(podList.map((pod) => [pod.metadata!.name!, pod])) : undefined;
  const [resources, usage] = await Promise.all([poolsAsked, request.status ? usageFor(kube, namespace, pools, podList ?? []) : undefined]);
  const reports = pools.map((info) => {
    const report = baseReport(info, pods);
    if (resources) {
      const resource = resources.find((item) => item.metadata.name === info.volname);
      report.options = Object.fromEntries((resource?.spec.options ?? []).map((option) => [option.key, option.value]));
    }
    if (usage) {
      const result = usage.get(info.volname);
      if (!result) report.usage = null;
      else if ("usage" in result) report.usage = result.usage;
      else report.usageError = result.error;
    }
    return report;
  });
  return { pools: reports, problems };
}
