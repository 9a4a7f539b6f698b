/**
 * What `uninstall --purge` leaves behind with no Kadalu to serve or remove it: Bound PVs of the Kadalu
 * CSI driver, the per-pool `kadalu.*` StorageClasses the operator made, and archived PVs on the bricks.
 * Found with one list per kind, and one call of the provisioner's archived-PV tool per pool.
 */
import { decodeKadaluInfo, INFO_CONFIGMAP, isExternal } from "../../core/info/codec.js";
import { CSI_DRIVER_NAME } from "../../core/kube-vocabulary.js";
import type { Kube } from "../../kube/client.js";
import { archivedTool } from "../commands/remove-archived-pv.js";
import { PROVISIONER_SELECTOR } from "../pools/report.js";
import { counted } from "../../core/words.js";

export interface Orphans {
  bound: { pv: string; claim: string; namespace: string }[];
  storageClasses: string[];
  archived: { pool: string; name: string }[];
  /** Why archived PVs could not be listed (no running provisioner, the tool failed), if so. */
  archivedUnknown?: string;
}

export function orphanCount(orphans: Orphans): number {
  return orphans.bound.length + orphans.storageClasses.length + orphans.archived.length;
}

/** "2 bound PVs, 1 StorageClass, 1 archived PV" */
export function orphanSummary(orphans: Orphans): string {
  const parts = [
    [orphans.bound.length, "bound PV"],
    [orphans.storageClasses.length, "StorageClass"],
    [orphans.archived.length, "archived PV"],
  ] as const;
  return parts
    .filter(([count]) => count > 0)
    .map(([count, word]) => counted(count, word, word === "StorageClass" ? "StorageClasses" : undefined))
    .join(", ");
}

/** One line per orphan, then a note when archived PVs could not be listed. */
export function describeOrphans(orphans: Orphans): string {
  const lines = [
    ...orphans.bound.map((pv) => `  persistentvolume/${pv.pv}: bound to claim ${pv.namespace}/${pv.claim}`),
    ...orphans.storageClasses.map((name) => `  storageclass/${name}`),
    ...orphans.archived.map((pv) => `  archived PV ${pv.name} in pool ${pv.pool} (its data stays on the bricks)`),
  ];
  const head = orphanCount(orphans) > 0 ? [`--purge leaves ${counted(orphanCount(orphans), "object")} behind that nothing will serve or remove:`] : [];
  const unknown = orphans.archivedUnknown ? [`archived PVs not listed: ${orphans.archivedUnknown}`] : [];
  return [...head, ...lines, ...unknown].map((line) => `${line}\n`).join("");
}

async function archivedPvs(kube: Kube, namespace: string): Promise<Pick<Orphans, "archived" | "archivedUnknown">> {
  const { pools } = decodeKadaluInfo(await kube.readConfigMapData(namespace, INFO_CONFIGMAP));
  const local = pools.filter((pool) => !isExternal(pool));
  if (local.length === 0) return { archived: [] };
  const provisioner = (await kube.listPods(namespace, PROVISIONER_SELECTOR)).find((pod) => pod.status?.phase === "Running");
  if (!provisioner) return { archived: [], archivedUnknown: `no running CSI provisioner pod in namespace "${namespace}" to look on the bricks` };
  const archived: Orphans["archived"] = [];
  for (const pool of local) {
    try {
      const found = await archivedTool(kube, namespace, provisioner.metadata!.name!, ["--pool", pool.volname, "--root", `/mnt/${pool.volname}`]);
      archived.push(...found.map((pv) => ({ pool: pool.volname, name: pv.name })));
    } catch (error) {
      return { archived, archivedUnknown: `pool ${pool.volname}: ${(error as Error).message}` };
    }
  }
  return { archived };
}

interface PersistentVolume {
  metadata: { name: string };
  spec?: { csi?: { driver?: string }; claimRef?: { name?: string; namespace?: string } };
  status?: { phase?: string };
}

export async function findOrphans(kube: Kube, namespace: string): Promise<Orphans> {
  const [pvs, classes, archived] = await Promise.all([
    kube.listObjects("v1", "PersistentVolume"),
    kube.listObjects("storage.k8s.io/v1", "StorageClass"),
    archivedPvs(kube, namespace),
  ]);
  const bound = (pvs as PersistentVolume[])
    .filter((pv) => pv.spec?.csi?.driver === CSI_DRIVER_NAME && pv.status?.phase === "Bound")
    .map((pv) => ({ pv: pv.metadata.name, claim: pv.spec?.claimRef?.name ?? "?", namespace: pv.spec?.claimRef?.namespace ?? "?" }));
  const storageClasses = classes.filter((sc) => sc.metadata.name.startsWith("kadalu.")).map((sc) => sc.metadata.name);
  return { bound, storageClasses, ...archived };
}
