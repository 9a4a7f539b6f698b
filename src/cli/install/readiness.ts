/**
 * Waits until the operator is available, the provisioner ready and the nodeplugin ready on every node;
 * on timeout names the pods that are not ready, why, and the command to run next.
 */
import { ClusterError } from "../../core/errors.js";
import { formatDuration } from "../../core/duration.js";
import { NODEPLUGIN_DAEMONSET, OPERATOR_DEPLOYMENT, PROVISIONER_STATEFULSET } from "../../core/manifests/common.js";
import { KADALU_PODS_SELECTOR } from "../../core/kube-vocabulary.js";
import type { Kube, Pod } from "../../kube/client.js";
import type { EventSink } from "./events.js";

interface Component {
  kind: "Deployment" | "StatefulSet" | "DaemonSet";
  name: string;
  label: string;
  judge: (status: Record<string, number | undefined>) => { ready: boolean; text: string };
}

const COMPONENTS: Component[] = [
  { kind: "Deployment", name: OPERATOR_DEPLOYMENT, label: "operator", judge: (s) => ({ ready: (s.availableReplicas ?? 0) >= 1, text: "operator available" }) },
  {
    kind: "StatefulSet",
    name: PROVISIONER_STATEFULSET,
    label: "provisioner",
    judge: (s) => ({ ready: (s.readyReplicas ?? 0) >= 1, text: "CSI provisioner ready" }),
  },
  {
    kind: "DaemonSet",
    name: NODEPLUGIN_DAEMONSET,
    label: "nodeplugin",
    judge: (s) => {
      const desired = s.desiredNumberScheduled ?? 0;
      const ready = s.numberReady ?? 0;
      if (desired === 0) return { ready: false, text: "CSI nodeplugin: no node has its pod scheduled yet" };
      return { ready: ready >= desired, text: `CSI nodeplugin ready on ${ready}/${desired} nodes` };
    },
  },
];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const PULL_FAILURES = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"];

/** Which image could not be pulled, and what a user does about it. */
function pullProblem(pod: Pod, container: string, reason: string, message: string | undefined): string {
  const image =
    pod.spec?.containers?.find((c) => c.name === container)?.image ?? pod.status?.containerStatuses?.find((c) => c.name === container)?.image ?? "?";
  return (
    `${reason}: cannot pull image ${image} for container ${container}${message ? ` (${message})` : ""}; ` +
    "push the images to a registry your nodes reach (README, Container images: how to build and mirror them) " +
    "and install with --image-registry REGISTRY [--image-repository PATH] [--image-pull-secret NAME]"
  );
}

// eslint-disable-next-line complexity -- ordered one-line checks over a Pod's optional fields; the first that matches is the problem
function podProblem(pod: Pod): string | undefined {
  const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  if (ready) return undefined;
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && PULL_FAILURES.includes(waiting.reason)) return pullProblem(pod, status.name, waiting.reason, waiting.message);
    if (waiting?.reason) return `${waiting.reason} in container ${status.name}${waiting.message ? `: ${waiting.message}` : ""}`;
    const terminated = status.state?.terminated ?? status.lastState?.terminated;
    if (terminated && !status.ready) return `container ${status.name} exited with ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}`;
  }
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled) return `not scheduled: ${unscheduled.message ?? unscheduled.reason ?? "no node fits"}`;
  return `${pod.status?.phase ?? "Unknown"}, not ready`;
}

export function diagnose(pods: Pod[], namespace: string): string[] {
  return pods.flatMap((pod) => {
    const problem = podProblem(pod);
    if (!problem) return [];
    const name = pod.metadata?.name ?? "?";
    const container = pod.status?.containerStatuses?.find((s) => !s.ready)?.name ?? pod.spec?.containers?.[0]?.name ?? "";
    const next = /ImagePull|ErrImage|not scheduled|ContainerCreating/.test(problem)
      ? `kubectl describe pod -n ${namespace} ${name}`
      : `kubectl logs -n ${namespace} ${name} -c ${container}${/CrashLoop|exited/.test(problem) ? " --previous" : ""}`;
    return [`  ${name}: ${problem}\n    next: ${next}`];
  });
}

export async function waitReady(kube: Kube, namespace: string, timeoutMs: number, sink: EventSink, pollMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const done = new Set<string>();
  for (;;) {
    const pending: string[] = [];
    for (const component of COMPONENTS.filter((c) => !done.has(c.name))) {
      const live = (await kube.getObject("apps/v1", component.kind, component.name, namespace)) as { status?: Record<string, number> } | undefined;
      const verdict = component.judge(live?.status ?? {});
      if (verdict.ready) {
        done.add(component.name);
        sink({ type: "ready", what: verdict.text });
      } else pending.push(live ? verdict.text.replace(/ ready| available/, " not ready yet") : `${component.kind.toLowerCase()}/${component.name} missing`);
    }
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      const pods = await kube.listPods(namespace, KADALU_PODS_SELECTOR);
      const problems = diagnose(
        pods.filter((pod) => !(pod.metadata?.labels?.["app.kubernetes.io/component"] === "server")),
        namespace,
      );
      throw new ClusterError(
        `Kadalu was not ready after ${formatDuration(timeoutMs)}: ${pending.join("; ")}${problems.length ? `\n${problems.join("\n")}` : ""}`,
      );
    }
    sink({ type: "waiting", what: `waiting: ${pending.join("; ")}` });
    await sleep(pollMs);
  }
}
