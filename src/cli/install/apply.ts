/** Applies install objects in order: the namespace first, a CRD established before anything uses it. */
import { ClusterError } from "../../core/errors.js";
import type { KubeObject } from "../../core/kube-vocabulary.js";
import { foreignSpecManagers } from "../../core/manifests/managed-fields.js";
import type { Kube } from "../../kube/client.js";
import type { EventSink } from "./events.js";

export const objectRef = (object: KubeObject): string => `${object.kind.toLowerCase()}/${object.metadata.name}`;

/** As kubectl names an object in its answers: kind.group/name (`deployment.apps/operator`, `namespace/kadalu`). */
export function resourceRef(object: KubeObject): string {
  const group = object.apiVersion.includes("/") ? object.apiVersion.split("/")[0] : "";
  return `${object.kind.toLowerCase()}${group ? `.${group}` : ""}/${object.metadata.name}`;
}

/** What an apply did to an object, in kubectl apply's words ("serverside-applied" when a dry run cannot tell). */
export type ApplyOutcome = "created" | "configured" | "unchanged" | "serverside-applied";

export interface Applied {
  object: KubeObject;
  outcome: ApplyOutcome;
  note?: string;
}

/**
 * From the apply's own answer and the cluster's resourceVersion before the first apply: 201 means created; a
 * newer resourceVersion means this run wrote it; an older one means the server found nothing to change.
 */
export function outcomeOf(answer: { object: KubeObject; created: boolean }, before: string | undefined, dryRun: boolean): ApplyOutcome {
  if (answer.created) return "created";
  if (dryRun) return "serverside-applied";
  const after = (answer.object.metadata as { resourceVersion?: string }).resourceVersion;
  if (before === undefined || after === undefined || !/^\d+$/.test(before) || !/^\d+$/.test(after)) return "configured";
  return BigInt(after) > BigInt(before) ? "configured" : "unchanged";
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitEstablished(kube: Kube, crd: KubeObject, sink: EventSink, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = (await kube.getObject(crd.apiVersion, crd.kind, crd.metadata.name)) as
      { status?: { conditions?: { type: string; status: string }[] } } | undefined;
    if (live?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) {
      sink({ type: "ready", what: `CRD ${crd.metadata.name} established` });
      return;
    }
    if (Date.now() > deadline)
      throw new ClusterError(
        `CRD ${crd.metadata.name} was not established within ${Math.round(timeoutMs / 1000)}s; see: kubectl get crd ${crd.metadata.name} -o yaml`,
      );
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
async function applyWorkload(kube: Kube, object: KubeObject, before: string | undefined): Promise<Applied> {
  let answer: { object: KubeObject; created: boolean };
  try {
    answer = await kube.applyReporting(object);
  } catch (error) {
    if ((error as ClusterError).status !== 422) throw error;
    await kube.deleteObject(object);
    return { object: await kube.apply(object), outcome: "configured", note: "deleted and created anew: its immutable fields differed" };
  }
  const others = foreignSpecManagers(answer.object);
  if (others.length === 0) return { object: answer.object, outcome: outcomeOf(answer, before, false) };
  await kube.replace(object, (answer.object.metadata as { resourceVersion?: string }).resourceVersion ?? "");
  return { object: await kube.apply(object), outcome: "configured", note: `replaced: fields set by ${others.join(", ")} removed` };
}

export interface ApplyOptions {
  dryRun: boolean;
  sink: EventSink;
  crdTimeoutMs?: number;
}

/**
 * Applies groups in order; objects within a group go in parallel. In a server dry run nothing is
 * persisted, so objects in a namespace that does not exist yet cannot be checked and are skipped.
 * Returns what each apply did, in the order the answers came.
 */
export async function applyGroups(kube: Kube, groups: KubeObject[][], options: ApplyOptions): Promise<Applied[]> {
  const applied: Applied[] = [];
  let missingNamespace: string | undefined;
  // Without it (no right to list namespaces) every existing object is said to be "configured", as kubectl would.
  const before = options.dryRun ? undefined : await kube.currentResourceVersion().catch(() => undefined);
  for (const group of groups) {
    await Promise.all(
      group.map(async (object) => {
        if (options.dryRun && missingNamespace && object.metadata.namespace === missingNamespace) {
          options.sink({
            type: "skipped",
            object: resourceRef(object),
            reason: `namespace ${missingNamespace} does not exist yet, so the server cannot check it`,
          });
          return;
        }
        if (options.dryRun && object.kind === "Namespace" && !(await kube.getObject("v1", "Namespace", object.metadata.name)))
          missingNamespace = object.metadata.name;
        // A CSIDriver's spec is immutable too: an older install's (upstream's attachRequired) is replaced the same way.
        const result: Applied =
          !options.dryRun && [...WORKLOADS, "CSIDriver"].includes(object.kind)
            ? await applyWorkload(kube, object, before)
            : await kube
                .applyReporting(object, { dryRun: options.dryRun })
                .then((answer) => ({ object: answer.object, outcome: outcomeOf(answer, before, options.dryRun) }));
        applied.push(result);
        options.sink({ type: "applied", object: resourceRef(object), outcome: result.outcome, note: result.note, dryRun: options.dryRun });
      }),
    );
    for (const crd of group.filter((object) => object.kind === "CustomResourceDefinition")) {
      if (!options.dryRun) await waitEstablished(kube, crd, options.sink, options.crdTimeoutMs ?? 60_000);
    }
  }
  return applied;
}
