/**
 * One `top` sample of the cluster: one pod list, then one exec per server pod (upstream's image has a shell:
 * the fixed sampling script) and one in the CSI provisioner (`kadalu-csi proc-sample`: its image has none),
 * all side by side, each sampling /proc twice over the interval.
 */
import { decodeKadaluInfo, INFO_CONFIGMAP } from "../../core/info/codec.js";
import { KADALU_PODS_SELECTOR, POOL_LABEL } from "../../core/kube-vocabulary.js";
import { PROVISIONER_STATEFULSET } from "../../core/manifests/common.js";
import { parseSamples, processRates, SAMPLE_SCRIPT, type TopRow } from "../../core/top/proc.js";
import type { Kube, Pod } from "../../kube/client.js";
import { PROVISIONER_CONTAINER } from "../pools/report.js";

const CSI_PROC_SAMPLE = ["node", "/kadalu/bin/kadalu-csi", "proc-sample", "--interval"];

export interface TopSample {
  rows: TopRow[];
  /** Pods that could not be sampled, and why (shown as warnings; the others still count). */
  failures: { pod: string; reason: string }[];
}

/** The pool of a server pod: our label, else upstream's name (server-<pool>-<index>-0). */
function poolOf(pod: Pod): string | undefined {
  return pod.metadata?.labels?.[POOL_LABEL] ?? /^server-(.+)-\d+-0$/.exec(pod.metadata?.name ?? "")?.[1];
}

async function sampleIn(kube: Kube, namespace: string, pod: string, container: string, command: string[]): Promise<ReturnType<typeof processRates>> {
  const result = await kube.exec(namespace, pod, container, command);
  if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr.toString().trim().split("\n").at(-1) ?? ""}`);
  return processRates(parseSamples(result.stdout.toString("utf8")));
}

export async function sampleTop(kube: Kube, namespace: string, seconds: number, pool?: string): Promise<TopSample> {
  // kadalu-info names this cluster's pools (external ones too); read alongside the pod list, not after it.
  const [listed, info] = await Promise.all([
    kube.listPods(namespace, KADALU_PODS_SELECTOR),
    kube.readConfigMapData(namespace, INFO_CONFIGMAP).catch(() => undefined),
  ]);
  const ours = info ? new Set(decodeKadaluInfo(info).pools.map((known) => known.volname)) : undefined;
  const pods = listed.filter((pod) => pod.status?.phase === "Running");
  const servers = pods
    .filter((pod) => pod.metadata?.labels?.["app.kubernetes.io/component"] === "server" || /^server-.+-\d+-0$/.test(pod.metadata?.name ?? ""))
    .filter((pod) => !pool || poolOf(pod) === pool);
  const provisioner = pods.find((pod) => pod.metadata?.labels?.["app.kubernetes.io/name"] === PROVISIONER_STATEFULSET);
  const failures: TopSample["failures"] = [];
  const jobs = servers.map(async (pod): Promise<TopRow[]> => {
    const name = pod.metadata!.name!;
    const rows = await sampleIn(kube, namespace, name, "server", ["sh", "-c", SAMPLE_SCRIPT, "kadalu-top", String(seconds)]);
    return rows.map((row) => ({ ...row, pool: poolOf(pod) ?? "", pod: name }));
  });
  if (provisioner) {
    const name = provisioner.metadata!.name!;
    jobs.push(
      sampleIn(kube, namespace, name, PROVISIONER_CONTAINER, [...CSI_PROC_SAMPLE, String(seconds)]).then((rows) =>
        // A FUSE client belongs to the pool it mounts (/mnt/<pool>); one of a pool this cluster does not have is not ours.
        rows
          .map((row) => ({ ...row, pool: row.role.startsWith("client ") ? (row.role.split("/").at(-1) ?? "") : "", pod: name }))
          .filter((row) => (!pool || row.pool === pool) && (!ours || ours.has(row.pool))),
      ),
    );
  }
  const names = [...servers.map((pod) => pod.metadata!.name!), ...(provisioner ? [provisioner.metadata!.name!] : [])];
  const settled = await Promise.allSettled(jobs);
  const rows = settled.flatMap((outcome, index) => {
    if (outcome.status === "fulfilled") return outcome.value;
    failures.push({ pod: names[index]!, reason: (outcome.reason as Error).message });
    return [];
  });
  return { rows, failures };
}
