/** Applies install objects in order: the namespace first, a CRD established before anything uses it. */
import { ClusterError } from "../../core/errors.js";
import type { KubeObject } from "../../core/manifests/index.js";
import { foreignSpecManagers } from "../../core/manifests/managed-fields.js";
import type { AnyObject, Kube } from "../../kube/client.js";
import type { EventSink } from "./events.js";

export const objectRef = (object: KubeObject | AnyObject): string => `${object.kind.toLowerCase()}/${object.metadata.name}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitEstablished(kube: Kube, crd: KubeObject, sink: EventSink, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = (await kube.getObject(crd.apiVersion, crd.kind, crd.metadata.name)) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
    if (live?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
      sink({ type: "ready", what: `CRD ${crd.metadata.name} established` });
      return;
    }
    if (Date.now() > deadline) throw new ClusterError(`CRD ${crd.metadata.name} was not established within ${Math.round(timeoutMs / 1000)}s; see: kubectl get crd ${crd.metadata.name} -o yaml`);
    sink({ type: "waiting", what: `waiting for CRD ${crd.metadata.name} to be established` });
    await sleep(250);
  }
}

/** Workloads whose pods would run whatever another field manager left in their template. */
const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet"];

/**
 * Server-side apply never removes fields another manager owns: a container or volume left by an earlier
 * `kubectl apply` (or upstream's install) would stay in our pods. The apply's answer says who else owns
 * parts of the spec; such a workload is replaced whole (PUT) and applied again. One whose immutable fields
 * (a selector) differ is refused by the apply: it is deleted and created anew. The usual path costs nothing.
 */
async function applyWorkload(kube: Kube, object: KubeObject): Promise<string | undefined> {
  let applied: AnyObject;
  try {
    applied = await kube.apply(object as AnyObject);
  } catch (error) {
    if ((error as ClusterError).status !== 422) throw error;
    await kube.deleteObject(object as AnyObject);
    await kube.apply(object as AnyObject);
    return "deleted and created anew: its immutable fields differed";
  }
  const others = foreignSpecManagers(applied);
  if (others.length === 0) return undefined;
  await kube.replace(object as AnyObject, (applied.metadata as { resourceVersion?: string }).resourceVersion ?? "");
  await kube.apply(object as AnyObject);
  return `replaced: fields set by ${others.join(", ")} removed`;
}

export interface ApplyOptions {
  dryRun: boolean;
  sink: EventSink;
  crdTimeoutMs?: number;
}

/**
 * Applies groups in order; objects within a group go in parallel. In a server dry run nothing is
 * persisted, so objects in a namespace that does not exist yet cannot be checked and are skipped.
 */
export async function applyGroups(kube: Kube, groups: KubeObject[][], options: ApplyOptions): Promise<number> {
  let applied = 0;
  let missingNamespace: string | undefined;
  for (const group of groups) {
    await Promise.all(group.map(async (object) => {
      if (options.dryRun && missingNamespace && object.metadata.namespace === missingNamespace) {
        options.sink({ type: "skipped", object: objectRef(object), reason: `namespace ${missingNamespace} does not exist yet, so the server cannot check it` });
        return;
      }
      if (options.dryRun && object.kind === "Namespace" && !(await kube.getObject("v1", "Namespace", object.metadata.name))) missingNamespace = object.metadata.name;
      let note: string | undefined;
      // A CSIDriver's spec is immutable too: an older install's (upstream's attachRequired) is replaced the same way.
      if (!options.dryRun && [...WORKLOADS, "CSIDriver"].includes(object.kind)) note = await applyWorkload(kube, object);
      else await kube.apply(object as AnyObject, { dryRun: options.dryRun });
      applied += 1;
      options.sink({ type: "applied", object: note ? `${objectRef(object)} (${note})` : objectRef(object), dryRun: options.dryRun });
    }));
    for (const crd of group.filter((object) => object.kind === "CustomResourceDefinition")) {
      if (!options.dryRun) await waitEstablished(kube, crd, options.sink, options.crdTimeoutMs ?? 60_000);
    }
  }
  return applied;
}
