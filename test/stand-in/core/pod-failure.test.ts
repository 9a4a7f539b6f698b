/** podFailure: a pod's own reason, from container statuses and Events as the kubelet and scheduler write them. */
import { describe, expect, it } from "vitest";
import { eventsOfPod, lastLines, missingHostPath, podFailure, type FailingPodView, type PodEventView } from "../../../src/core/doctor/pod-failure.js";

const UID = "5b0c1c1e-0000-4000-8000-000000000001";
const pod = (status: FailingPodView["status"], nodeName: string | null = "kube1"): FailingPodView => ({
  metadata: { name: "server-pool1-0-0", uid: UID },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "server", image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0" }] },
  status,
});
const event = (reason: string, message: string, lastTimestamp: string, uid = UID, type = "Warning"): PodEventView => ({
  involvedObject: { kind: "Pod", name: "server-pool1-0-0", namespace: "kadalu", uid },
  type,
  reason,
  message,
  lastTimestamp,
});
const waiting = (reason: string, message = "", extra: Record<string, unknown> = {}) => ({
  phase: reason === "ContainerCreating" ? "Pending" : "Running",
  containerStatuses: [
    { name: "server", image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0", ready: false, restartCount: 0, state: { waiting: { reason, message } }, ...extra },
  ],
});
// The kubelet's words (pkg/volume/hostpath checkType, operationexecutor GenerateError), for a StatefulSet's hostPath of type Directory.
const HOST_PATH_FAILED = 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool1 is not a directory';

describe("podFailure", () => {
  const cases: { name: string; pod: FailingPodView; events?: PodEventView[]; expected: ReturnType<typeof podFailure> }[] = [
    {
      name: "FailedMount of a hostPath: the missing directory and the node",
      pod: pod(waiting("ContainerCreating")),
      events: [
        event(
          "FailedMount",
          "Unable to attach or mount volumes: unmounted volumes=[glusterfsd-mountdir], unattached volumes=[]: timed out waiting for the condition",
          "2026-12-06T00:02:00Z",
        ),
        event("FailedMount", HOST_PATH_FAILED, "2026-12-06T00:01:00Z"),
      ],
      expected: { reason: "FailedMount", detail: "host directory /data/pool1 is missing on node kube1", missingPath: "/data/pool1", node: "kube1" },
    },
    {
      name: "FailedMount of something else: the kubelet's message",
      pod: pod(waiting("ContainerCreating")),
      events: [
        event("FailedMount", 'MountVolume.SetUp failed for volume "glusterfsd-volfilesdir" : configmap "kadalu-info" not found', "2026-12-06T00:01:00Z"),
      ],
      expected: { reason: "FailedMount", detail: 'MountVolume.SetUp failed for volume "glusterfsd-volfilesdir" : configmap "kadalu-info" not found' },
    },
    {
      name: "a FailedMount of an earlier pod of the same name is not this pod's",
      pod: pod(waiting("ContainerCreating")),
      events: [event("FailedMount", HOST_PATH_FAILED, "2026-12-06T00:01:00Z", "another-uid")],
      expected: undefined,
    },
    {
      name: "a FailedMount that is over: the pod runs now (not ready yet) and says nothing of its own",
      pod: pod({ phase: "Running", containerStatuses: [{ name: "server", ready: false, restartCount: 0, state: { running: {} } }] }),
      events: [event("FailedMount", HOST_PATH_FAILED, "2026-12-06T00:01:00Z")],
      expected: undefined,
    },
    {
      name: "ImagePullBackOff: the image from the pod's spec",
      pod: pod(waiting("ImagePullBackOff", 'Back-off pulling image "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0"')),
      expected: {
        reason: "ImagePullBackOff",
        detail: "image ghcr.io/kubectl-kadalu/kadalu-server:0.1.0 cannot be pulled",
        container: "server",
        image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0",
        node: "kube1",
      },
    },
    {
      name: "an image that cannot be pulled after a FailedMount now over: the image (volumes are mounted before images are pulled)",
      pod: pod({ ...waiting("ImagePullBackOff"), phase: "Pending" }),
      events: [event("FailedMount", HOST_PATH_FAILED, "2026-12-06T00:01:00Z")],
      expected: {
        reason: "ImagePullBackOff",
        detail: "image ghcr.io/kubectl-kadalu/kadalu-server:0.1.0 cannot be pulled",
        container: "server",
        image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0",
        node: "kube1",
      },
    },
    {
      name: "ErrImagePull",
      pod: pod(waiting("ErrImagePull", "rpc error: code = NotFound")),
      expected: {
        reason: "ErrImagePull",
        detail: "image ghcr.io/kubectl-kadalu/kadalu-server:0.1.0 cannot be pulled",
        container: "server",
        image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0",
        node: "kube1",
      },
    },
    {
      name: "ErrImageNeverPull: not on the node, and never pulled",
      pod: pod(waiting("ErrImageNeverPull", 'Container image "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0" is not present with pull policy of Never')),
      expected: {
        reason: "ErrImageNeverPull",
        detail: "image ghcr.io/kubectl-kadalu/kadalu-server:0.1.0 is not on node kube1 and its pull policy is Never",
        container: "server",
        image: "ghcr.io/kubectl-kadalu/kadalu-server:0.1.0",
        node: "kube1",
      },
    },
    {
      name: "CrashLoopBackOff: the exit code and restarts; its previous log is wanted",
      pod: pod(
        waiting("CrashLoopBackOff", "back-off 40s restarting failed container=server", {
          restartCount: 4,
          lastState: { terminated: { reason: "Error", exitCode: 1 } },
        }),
      ),
      expected: {
        reason: "CrashLoopBackOff",
        detail: "container server keeps exiting with code 1 (4 restarts)",
        container: "server",
        node: "kube1",
        crashed: true,
      },
    },
    {
      name: "OOMKilled, crash-looping",
      pod: pod(waiting("CrashLoopBackOff", "", { restartCount: 2, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } } })),
      expected: {
        reason: "OOMKilled",
        detail: "container server ran out of memory (OOMKilled, 2 restarts)",
        container: "server",
        node: "kube1",
        crashed: true,
      },
    },
    {
      name: "the brick runtime's own exit message names its directory",
      pod: pod(
        waiting("CrashLoopBackOff", "", {
          restartCount: 1,
          lastState: { terminated: { reason: "Error", exitCode: 1, message: "error: brick directory /data/pool1 is missing\n" } },
        }),
      ),
      expected: {
        reason: "BrickDirectoryMissing",
        detail: "brick directory /data/pool1 is missing on node kube1",
        container: "server",
        missingPath: "/data/pool1",
        node: "kube1",
      },
    },
    {
      name: "CreateContainerConfigError: the kubelet's message",
      pod: pod(waiting("CreateContainerConfigError", 'secret "glusterquota-ssh-secret" not found')),
      expected: {
        reason: "CreateContainerConfigError",
        detail: 'container server: secret "glusterquota-ssh-secret" not found',
        container: "server",
        node: "kube1",
      },
    },
    {
      name: "Pending, unscheduled: the scheduler's reason",
      pod: pod(
        {
          phase: "Pending",
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
            },
          ],
        },
        null,
      ),
      events: [event("FailedScheduling", "older words", "2026-12-06T00:01:00Z")],
      expected: { reason: "FailedScheduling", detail: "no node can run it: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector." },
    },
    {
      name: "Pending, unscheduled, no message on the condition: the latest FailedScheduling event",
      pod: pod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }] }, null),
      events: [
        event("FailedScheduling", "0/3 nodes are available: 3 Insufficient memory.", "2026-12-06T00:02:00Z"),
        event("FailedScheduling", "older words", "2026-12-06T00:01:00Z"),
      ],
      expected: { reason: "FailedScheduling", detail: "no node can run it: 0/3 nodes are available: 3 Insufficient memory." },
    },
    {
      name: "running, only its readiness probe failing: nothing of its own to say",
      pod: pod({
        phase: "Running",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [{ name: "server", restartCount: 0, state: { running: {} } }],
      }),
      expected: undefined,
    },
  ];
  for (const { name, pod: subject, events, expected } of cases) {
    it(name, () => {
      expect(podFailure(subject, events ?? [])).toEqual(expected);
    });
  }
});

describe("the pieces", () => {
  it("missingHostPath reads the kubelet's hostPath check and the brick runtime's exit", () => {
    expect(missingHostPath(HOST_PATH_FAILED)).toBe("/data/pool1");
    expect(missingHostPath("brick directory /bricks/p/data/brick is missing")).toBe("/bricks/p/data/brick");
    expect(missingHostPath('MountVolume.SetUp failed for volume "x" : hostPath type check failed: /dev/vdc is not a block device')).toBeUndefined();
    expect(missingHostPath(undefined)).toBeUndefined();
  });

  it("eventsOfPod keeps the pod's events, oldest first, and no other object's", () => {
    const events = [
      event("B", "second", "2026-12-06T00:02:00Z"),
      event("A", "first", "2026-12-06T00:01:00Z"),
      { ...event("C", "other pod", "2026-12-06T00:00:00Z"), involvedObject: { kind: "Pod", name: "server-pool1-1-0" } },
      { ...event("D", "the StatefulSet", "2026-12-06T00:00:00Z"), involvedObject: { kind: "StatefulSet", name: "server-pool1-0-0" } },
    ];
    expect(eventsOfPod(pod({}), events).map((e) => e.message)).toEqual(["first", "second"]);
  });

  it("lastLines keeps the last non-empty lines, each shortened for a table cell", () => {
    expect(lastLines("a\n\nb\nc\nd\n")).toEqual(["b", "c", "d"]);
    expect(lastLines(`${"x".repeat(200)}\n`, 3, 10)).toEqual([`${"x".repeat(9)}…`]);
    expect(lastLines("")).toEqual([]);
  });
});
