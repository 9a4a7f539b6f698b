/**
 * Plays the controllers and the kubelet for Kadalu's workloads: each StatefulSet gets its pod, the
 * Deployment its pod, the DaemonSet one pod per node, all Running and Ready (no container runs: the
 * sandbox says so), with owner references so they go with their workload. `onPod` is told when a pod
 * starts or stops, so the sandbox can run the real operator and CSI driver in their place.
 */
import type { ApiServer } from "../apiserver/server.js";
import type { KubeObject } from "../apiserver/store.js";

export interface PodEvents {
  started(pod: KubeObject): Promise<void> | void;
  stopped(pod: KubeObject): Promise<void> | void;
}

function podFor(owner: KubeObject, name: string, nodeName: string): KubeObject {
  const template = owner.spec?.template ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: template.metadata?.labels ?? {},
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }],
    },
    spec: { ...template.spec, nodeName },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: (template.spec?.containers ?? []).map((c: { name: string }) => ({ name: c.name, ready: true, state: { running: {} } })),
    },
  };
}

export function startKubelet(server: ApiServer, nodes: string[], events: PodEvents, namespace = "kadalu"): () => Promise<void> {
  const running = new Map<string, KubeObject>();
  let busy = false;
  // A workload scaled to 0 runs no pod (`kubectl scale --replicas=0`).
  const scaled = (kind: string): KubeObject[] => server.list("apps/v1", kind, namespace).filter((workload) => (workload.spec?.replicas ?? 1) > 0);
  const desiredPods = (): KubeObject[] => [
    ...scaled("StatefulSet").map((sts) => {
      const node =
        sts.spec?.template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]
          ?.values?.[0];
      return podFor(sts, `${sts.metadata.name}-0`, node ?? nodes[0]!);
    }),
    ...scaled("Deployment").map((deployment) => podFor(deployment, `${deployment.metadata.name}-7d4b9c-sandbox`, nodes[0]!)),
    ...server.list("apps/v1", "DaemonSet", namespace).flatMap((ds) => nodes.map((node) => podFor(ds, `${ds.metadata.name}-${node}`, node))),
  ];
  const statuses = (): void => {
    const set = (kind: string, name: string, status: Record<string, number>): void => {
      const live = server.get("apps/v1", kind, namespace, name);
      if (live && JSON.stringify(live.status ?? {}) !== JSON.stringify(status)) server.setStatus("apps/v1", kind, namespace, name, status);
    };
    const counts = (workload: KubeObject): Record<string, number> => {
      const replicas = Math.min(1, workload.spec?.replicas ?? 1);
      return { replicas, readyReplicas: replicas, availableReplicas: replicas };
    };
    for (const sts of server.list("apps/v1", "StatefulSet", namespace)) set("StatefulSet", sts.metadata.name, counts(sts));
    for (const d of server.list("apps/v1", "Deployment", namespace)) set("Deployment", d.metadata.name, counts(d));
    for (const ds of server.list("apps/v1", "DaemonSet", namespace))
      set("DaemonSet", ds.metadata.name, { desiredNumberScheduled: nodes.length, numberReady: nodes.length });
  };
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const wanted = desiredPods();
      for (const pod of wanted) {
        if (!server.get("v1", "Pod", namespace, pod.metadata.name) && server.get("v1", "Namespace", undefined, namespace)) server.seed(pod);
        if (!running.has(pod.metadata.name)) {
          running.set(pod.metadata.name, pod);
          await events.started(pod);
        }
      }
      for (const [name, pod] of running) {
        if (!wanted.some((w) => w.metadata.name === name)) {
          running.delete(name);
          await events.stopped(pod);
        }
      }
      statuses();
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 100);
  return async () => {
    clearInterval(timer);
    for (const pod of running.values()) await events.stopped(pod);
    running.clear();
  };
}
