/**
 * Why a pod is not running, in its own words: its container statuses first (what the kubelet says now),
 * then its Events (what only events carry: a volume that cannot be mounted, a pod no node takes).
 * Pure: shared by `doctor` and the operator's pool status.
 */

interface Terminated {
  reason?: string;
  exitCode?: number;
  message?: string;
}
export interface ContainerStatusView {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: Terminated; running?: unknown };
  lastState?: { terminated?: Terminated };
}

export interface FailingPodView {
  metadata?: { name?: string; uid?: string };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[]; initContainers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
}

export interface PodEventView {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

export type PodFailureReason =
  | "FailedMount"
  | "FailedScheduling"
  | "ImagePullBackOff"
  | "ErrImagePull"
  | "ErrImageNeverPull"
  | "InvalidImageName"
  | "CrashLoopBackOff"
  | "OOMKilled"
  | "CreateContainerConfigError"
  | "BrickDirectoryMissing";

export interface PodFailure {
  /** The kubelet's (or scheduler's) word for it. */
  reason: PodFailureReason;
  /** What is wrong, in one line, without the pod's name. */
  detail: string;
  container?: string;
  image?: string;
  /** A host directory the pod needs that is missing on its node. */
  missingPath?: string;
  node?: string;
  /** The container crashed: its previous instance's log tells why. */
  crashed?: boolean;
}

const IMAGE_REASONS = ["ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName"] as const;

/** The kubelet's hostPath type check (`type: Directory`): "hostPath type check failed: /data/p1 is not a directory". */
const HOST_PATH_MISSING = /hostPath type check failed: (\S+) is not a directory/;
/** What the brick runtime says when it exits for want of its directory (its termination message). */
const BRICK_DIR_MISSING = /brick directory (\S+) is missing/;

/** The host path a FailedMount event (or a brick's exit message) says is missing, if it says so. */
export function missingHostPath(message: string | undefined): string | undefined {
  return HOST_PATH_MISSING.exec(message ?? "")?.[1] ?? BRICK_DIR_MISSING.exec(message ?? "")?.[1];
}

const when = (event: PodEventView): string => event.lastTimestamp ?? event.eventTime ?? "";

/** The pod's events, oldest first; an event of an earlier pod of the same name (a StatefulSet's) is not its. */
export function eventsOfPod(pod: FailingPodView, events: PodEventView[]): PodEventView[] {
  const uid = pod.metadata?.uid;
  return events
    .filter(
      (event) =>
        event.involvedObject?.kind === "Pod" &&
        event.involvedObject.name === pod.metadata?.name &&
        (!uid || !event.involvedObject.uid || event.involvedObject.uid === uid),
    )
    .sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0));
}

const latest = (events: PodEventView[], reason: string): PodEventView | undefined => events.filter((event) => event.reason === reason).at(-1);
const oneLine = (text: string | undefined): string => (text ?? "").replace(/\s+/g, " ").trim();

function imageFailure(
  status: ContainerStatusView,
  reason: PodFailureReason,
  node: string | undefined,
  imageOf: (name: string) => string | undefined,
): PodFailure {
  const image = imageOf(status.name) ?? status.image ?? "?";
  const detail =
    reason === "ErrImageNeverPull"
      ? `image ${image} is not on node ${node ?? "?"} and its pull policy is Never`
      : reason === "InvalidImageName"
        ? `image name ${image} is invalid`
        : `image ${image} cannot be pulled`;
  return { reason, detail, container: status.name, image, node };
}

function exitOf(terminated: Terminated | undefined): string {
  if (!terminated) return "";
  return terminated.exitCode === undefined ? "" : ` with code ${terminated.exitCode}`;
}

/** What a container's own status says, if it says something is wrong. */
// eslint-disable-next-line complexity -- one branch per waiting reason the kubelet reports
function containerFailure(status: ContainerStatusView, node: string | undefined, imageOf: (name: string) => string | undefined): PodFailure | undefined {
  const waiting = status.state?.waiting;
  const last = status.state?.terminated ?? status.lastState?.terminated;
  const reason = waiting?.reason;
  if (reason && (IMAGE_REASONS as readonly string[]).includes(reason)) return imageFailure(status, reason as PodFailureReason, node, imageOf);
  if (reason === "CreateContainerConfigError")
    return { reason, detail: `container ${status.name}: ${oneLine(waiting?.message) || "its configuration cannot be made"}`, container: status.name, node };
  const missing = missingHostPath(last?.message);
  if (missing && (reason === "CrashLoopBackOff" || status.state?.terminated)) {
    return {
      reason: "BrickDirectoryMissing",
      detail: `brick directory ${missing} is missing on node ${node ?? "?"}`,
      container: status.name,
      missingPath: missing,
      node,
    };
  }
  if (last?.reason === "OOMKilled" && (reason === "CrashLoopBackOff" || status.state?.terminated)) {
    return {
      reason: "OOMKilled",
      detail: `container ${status.name} ran out of memory (OOMKilled, ${status.restartCount ?? 0} restarts)`,
      container: status.name,
      node,
      crashed: true,
    };
  }
  if (reason === "CrashLoopBackOff") {
    return {
      reason,
      detail: `container ${status.name} keeps exiting${exitOf(last)} (${status.restartCount ?? 0} restarts)`,
      container: status.name,
      node,
      crashed: true,
    };
  }
  return undefined;
}

function scheduling(pod: FailingPodView, events: PodEventView[]): PodFailure | undefined {
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (pod.status?.phase !== "Pending" || pod.spec?.nodeName || !unscheduled) return undefined;
  const why = oneLine(unscheduled.message) || oneLine(latest(events, "FailedScheduling")?.message) || "no node takes it";
  return { reason: "FailedScheduling", detail: `no node can run it: ${why}` };
}

/** A volume the kubelet cannot mount: only while the pod's containers wait for it (a later success leaves the old events behind). */
function mounting(pod: FailingPodView, events: PodEventView[]): PodFailure | undefined {
  if (pod.status?.phase !== "Pending") return undefined;
  const failed = events.filter((event) => event.reason === "FailedMount");
  // "Unable to attach or mount volumes ... timed out" repeats after the message that says why.
  const event = failed.filter((e) => /MountVolume\.\w+ failed/.test(e.message ?? "")).at(-1) ?? failed.at(-1);
  if (!event) return undefined;
  const node = pod.spec?.nodeName;
  const path = missingHostPath(event.message);
  if (path) return { reason: "FailedMount", detail: `host directory ${path} is missing on node ${node ?? "?"}`, missingPath: path, node };
  return { reason: "FailedMount", detail: oneLine(event.message) };
}

/** Why the pod does not run, or undefined when nothing it reports says so (a readiness probe failing, say). */
export function podFailure(pod: FailingPodView, events: PodEventView[]): PodFailure | undefined {
  const own = eventsOfPod(pod, events);
  const node = pod.spec?.nodeName;
  const images = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c.image]));
  const imageOf = (name: string): string | undefined => images.get(name);
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const unscheduled = scheduling(pod, own);
  if (unscheduled) return unscheduled;
  // A container that reached its image or its start has its volumes: an earlier FailedMount is over.
  for (const status of statuses) {
    const failure = containerFailure(status, node, imageOf);
    if (failure) return failure;
  }
  return mounting(pod, own);
}

/** The last lines of a log, each on one line and shortened, for a table cell. */
export function lastLines(log: string, count = 3, width = 120): string[] {
  return log
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
}
