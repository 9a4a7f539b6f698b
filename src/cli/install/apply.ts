/** Applies install objects in order: the namespace first, a CRD established before anything uses it. */
import { ClusterError } from "../../core/errors.js";
import type { KubeObject } from "../../core/manifests/index.js";
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
      await kube.apply(object as AnyObject, { dryRun: options.dryRun });
      applied += 1;
      options.sink({ type: "applied", object: objectRef(object), dryRun: options.dryRun });
    }));
    for (const crd of group.filter((object) => object.kind === "CustomResourceDefinition")) {
      if (!options.dryRun) await waitEstablished(kube, crd, options.sink, options.crdTimeoutMs ?? 60_000);
    }
  }
  return applied;
}
