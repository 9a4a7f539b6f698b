/**
 * `support-bundle`'s collection: doctor's snapshot and findings, the Kadalu objects (never a Secret),
 * events, every Kadalu container's log (and its previous one), each pool's stat.db summary, versions.
 * Requests go side by side, logs a few at a time; every file is scrubbed before it is written.
 */
import { diagnose, type Finding, type Thresholds } from "../../core/doctor/checks.js";
import { boundLog, scrubber, summaryMarkdown, tidy } from "../../core/doctor/bundle.js";
import { writeTar, type TarEntry } from "../../core/tar.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { Kube } from "../../kube/client.js";
import { CSI_DRIVER_NAME, type KubeObject } from "../../core/kube-vocabulary.js";
import { INFO_CONFIGMAP } from "../../core/info/codec.js";
import { toYaml } from "../io.js";
import { poolDocument } from "../pools/print.js";
import { collectPoolReport } from "../pools/report.js";
import { gather } from "./gather.js";

export interface BundleOptions {
  namespace: string;
  sinceSeconds?: number;
  maxLogBytes: number;
  redact: string[];
  thresholds?: Thresholds;
  progress: (message: string) => void;
}

const LOG_CONCURRENCY = 4;

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

const list = (items: unknown[]): string => toYaml({ apiVersion: "v1", kind: "List", items: items.map((item) => tidy(item as KubeObject)) });

export async function collectBundle(kube: Kube, options: BundleOptions): Promise<{ name: string; archive: Buffer; findings: Finding[]; files: number }> {
  const ns = options.namespace;
  options.progress("running doctor");
  const [snapshot, version, deployments, statefulSets, daemonSets, storageClasses, volumes, csiDrivers] = await Promise.all([
    gather(kube, ns),
    kube.serverVersion().then(
      (v) => v.gitVersion,
      (error: Error) => `unknown (${error.message})`,
    ),
    kube.listObjects("apps/v1", "Deployment", ns),
    kube.listObjects("apps/v1", "StatefulSet", ns),
    kube.listObjects("apps/v1", "DaemonSet", ns),
    kube.listObjects("storage.k8s.io/v1", "StorageClass"),
    kube.listObjects("v1", "PersistentVolume"),
    kube.listObjects("storage.k8s.io/v1", "CSIDriver"),
  ]);
  const findings = diagnose(snapshot, { thresholds: options.thresholds });
  const kadaluClasses = new Set(snapshot.kadaluStorageClasses);
  const files = new Map<string, string>();
  files.set("doctor.json", `${JSON.stringify({ findings }, null, 2)}\n`);
  files.set(
    "versions.json",
    `${JSON.stringify(
      {
        plugin: PLUGIN_VERSION,
        kubernetes: version,
        images: Object.fromEntries(
          [...deployments, ...statefulSets, ...daemonSets].flatMap((w: any) =>
            (w.spec?.template?.spec?.containers ?? []).map((c: any) => [`${w.metadata.name}/${c.name}`, c.image]),
          ),
        ),
      },
      null,
      2,
    )}\n`,
  );
  files.set("objects/kadalustorages.yaml", list(snapshot.pools));
  const info = await kube.getObject("v1", "ConfigMap", INFO_CONFIGMAP, ns);
  files.set("objects/kadalu-info.yaml", info ? toYaml(tidy(info)) : "# no kadalu-info ConfigMap\n");
  files.set(
    "objects/workloads.yaml",
    list(
      [...deployments, ...statefulSets, ...daemonSets].map((w, i) => ({
        ...w,
        kind: i < deployments.length ? "Deployment" : i < deployments.length + statefulSets.length ? "StatefulSet" : "DaemonSet",
      })),
    ),
  );
  files.set("objects/pods.yaml", list(snapshot.pods));
  files.set("objects/storageclasses.yaml", list(storageClasses.filter((sc) => kadaluClasses.has(sc.metadata.name))));
  files.set("objects/csidrivers.yaml", list(csiDrivers.filter((driver) => driver.metadata.name === CSI_DRIVER_NAME)));
  files.set("objects/persistentvolumes.yaml", list(volumes.filter((pv: any) => pv.spec?.csi?.driver === CSI_DRIVER_NAME)));
  files.set("objects/persistentvolumeclaims.yaml", list(snapshot.claims.filter((claim) => kadaluClasses.has(claim.spec?.storageClassName ?? ""))));
  files.set("events/namespace.yaml", list(snapshot.podEvents ?? []));
  files.set("events/persistentvolumeclaims.yaml", list(snapshot.events));
  options.progress("reading each pool's stat.db summary");
  try {
    files.set("pools.json", `${JSON.stringify(poolDocument(await collectPoolReport(kube, { namespace: ns, status: true, detail: false })), null, 2)}\n`);
  } catch (error) {
    files.set("pools.json", `${JSON.stringify({ error: (error as Error).message })}\n`);
  }
  const containers = snapshot.pods.flatMap((pod: any) =>
    (pod.spec?.containers ?? []).map((c: { name: string }) => ({
      pod: pod.metadata.name as string,
      container: c.name,
      restarted: (pod.status?.containerStatuses ?? []).some((s: any) => s.name === c.name && s.restartCount > 0),
    })),
  );
  options.progress(`collecting the logs of ${containers.length} containers`);
  const query = { sinceSeconds: options.sinceSeconds, tailLines: Math.max(1000, Math.ceil(options.maxLogBytes / 20)), limitBytes: options.maxLogBytes * 4 };
  await inBatches(containers, LOG_CONCURRENCY, async ({ pod, container, restarted }) => {
    const read = (previous: boolean) =>
      kube.readLog(ns, pod, container, { ...query, previous }).then(
        (text) => boundLog(text, options.maxLogBytes),
        (error: Error) => `# log not read: ${error.message}\n`,
      );
    files.set(`logs/${pod}/${container}.log`, await read(false));
    if (restarted) files.set(`logs/${pod}/${container}.previous.log`, await read(true));
  });
  const scrub = scrubber(options.redact);
  const names = ["SUMMARY.md", ...[...files.keys()].sort()];
  const summary = summaryMarkdown({
    createdAt: new Date().toISOString(),
    pluginVersion: PLUGIN_VERSION,
    kubernetes: version,
    namespace: ns,
    findings,
    files: names,
  });
  const entries: TarEntry[] = [
    { name: "SUMMARY.md", data: Buffer.from(scrub(summary)) },
    ...[...files.keys()].sort(byDoctorFirst).map((name) => ({ name, data: Buffer.from(scrub(files.get(name)!)) })),
  ];
  const root = `kadalu-support-${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}Z`;
  // Loaded here, not at start-up: only this command compresses (a dynamic import is not available in the code-cached bundle).
  const { gzipSync }: typeof import("node:zlib") = process.getBuiltinModule?.("node:zlib") ?? require("node:zlib");
  return {
    name: `${root}.tar.gz`,
    archive: gzipSync(
      writeTar(
        entries.map((entry) => ({ ...entry, name: `${root}/${entry.name}` })),
        Date.now() / 1000,
      ),
    ),
    findings,
    files: entries.length,
  };
}

/** doctor.json right after SUMMARY.md; the rest in name order. */
function byDoctorFirst(a: string, b: string): number {
  if (a === "doctor.json") return -1;
  if (b === "doctor.json") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
