/** Plays the controllers and kubelet for install tests: marks Kadalu's workloads ready once they exist. */
import type { ApiServer } from "../apiserver/server.js";

export function markWorkloadsReady(server: ApiServer, namespace = "kadalu", nodes = 3): () => void {
  const timer = setInterval(() => {
    const statuses: [string, string, Record<string, number>][] = [
      ["Deployment", "operator", { replicas: 1, readyReplicas: 1, availableReplicas: 1 }],
      ["StatefulSet", "kadalu-csi-provisioner", { replicas: 1, readyReplicas: 1 }],
      ["DaemonSet", "kadalu-csi-nodeplugin", { desiredNumberScheduled: nodes, numberReady: nodes }],
    ];
    for (const [kind, name, status] of statuses) {
      const live = server.get("apps/v1", kind, namespace, name);
      if (live && JSON.stringify(live.status) !== JSON.stringify(status)) server.setStatus("apps/v1", kind, namespace, name, status);
    }
  }, 50);
  return () => clearInterval(timer);
}
