/**
 * Plays the scheduler and the kubelet for the real tier (no container runs here): Nodes with this agent
 * as their kubelet endpoint, pods bound to the node their affinity names (or the first), their status
 * Running and Ready as a kubelet reports it, and `exec` served where the apiserver sends it (the
 * kubelet's /exec endpoint, over WebSocket), by handlers the test registers per pod and container.
 * The real controllers (StatefulSet, DaemonSet, Deployment, garbage collector) do everything else.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { EXEC_PROTOCOLS, serveExec, type ExecHandler } from "../apiserver/exec.js";
import type { Api } from "./api.js";

const TLS = fileURLToPath(new URL("../apiserver/tls/", import.meta.url));

interface PodLike {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string }[]; affinity?: any };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

function nodeOfAffinity(pod: PodLike): string | undefined {
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const expression of [...(term.matchFields ?? []), ...(term.matchExpressions ?? [])]) {
      if (expression.operator === "In" && ["metadata.name", "kubernetes.io/hostname"].includes(expression.key)) return expression.values?.[0];
    }
  }
  return undefined;
}

export class NodeAgent {
  private readonly handlers = new Map<string, ExecHandler>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** What went wrong in its loop, for failure messages. */
  readonly errors: string[] = [];

  private constructor(
    private readonly api: Api,
    readonly nodes: string[],
    private readonly https: Server,
    readonly port: number,
    private readonly namespaces: string[],
  ) {}

  static async start(api: Api, nodes: string[], namespaces = ["kadalu"]): Promise<NodeAgent> {
    const https = createServer({ key: readFileSync(`${TLS}server.key`), cert: readFileSync(`${TLS}server.crt`) });
    const sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false });
    const port = await new Promise<number>((resolve) => https.listen(0, "127.0.0.1", () => resolve((https.address() as { port: number }).port)));
    const agent = new NodeAgent(api, nodes, https, port, namespaces);
    https.on("request", (_req, res) => res.writeHead(404).end());
    https.on("upgrade", (req, socket, head) => {
      // /exec/{namespace}/{pod}/{container}?command=...&stdout=1&stdin=1
      const url = new URL(req.url ?? "/", "https://agent");
      const [, verb, namespace, pod, container] = url.pathname.split("/");
      const handler = agent.handlers.get(`${namespace}/${pod}/${container}`);
      if (verb !== "exec" || !handler) {
        socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => {
        void serveExec(
          ws,
          { namespace: namespace!, pod: pod!, container: container!, command: url.searchParams.getAll("command") },
          ["1", "true"].includes(url.searchParams.get("stdin") ?? ""),
          handler,
        );
      });
    });
    for (const name of nodes) {
      await api.post("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
        status: {
          addresses: [
            { type: "InternalIP", address: "127.0.0.1" },
            { type: "Hostname", address: name },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "KubeletReady",
              message: "node agent of the real tier",
              lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
            },
          ],
          nodeInfo: {
            kubeletVersion: "v1.26.0",
            osImage: "real tier",
            containerRuntimeVersion: "none://0",
            kernelVersion: "",
            architecture: "amd64",
            operatingSystem: "linux",
          },
          capacity: { cpu: "2", memory: "8Gi", pods: "110" },
          allocatable: { cpu: "2", memory: "8Gi", pods: "110" },
        },
      });
    }
    // A kubelet that reports Ready makes the node lifecycle controller lift the not-ready taint that
    // admission put on the new Node; this agent is both.
    for (const name of nodes) await api.merge(`/api/v1/nodes/${name}`, { spec: { taints: null } });
    agent.timer = setInterval(() => void agent.tick(), 150);
    return agent;
  }

  onExec(namespace: string, pod: string, container: string, handler: ExecHandler): void {
    this.handlers.set(`${namespace}/${pod}/${container}`, handler);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const namespace of this.namespaces) {
        const pods = (await this.api.get<{ items: PodLike[] }>(`/api/v1/namespaces/${namespace}/pods`)).items;
        for (const pod of pods) await this.step(pod);
      }
    } catch (error) {
      // The apiserver is going away or a pod changed under us: the next tick sees the new state.
      const message = (error as Error).message;
      if (this.errors.at(-1) !== message) this.errors.push(message);
    } finally {
      this.busy = false;
    }
  }

  private async step(pod: PodLike): Promise<void> {
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    if (pod.metadata.deletionTimestamp) {
      // A kubelet confirms the containers stopped by deleting with grace period 0.
      await this.api.call("DELETE", path, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      return;
    }
    if (!pod.spec.nodeName) {
      const node = nodeOfAffinity(pod) ?? this.nodes[0]!;
      await this.api.post(`${path}/binding`, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: pod.metadata.name, uid: pod.metadata.uid },
        target: { apiVersion: "v1", kind: "Node", name: node },
      });
      return;
    }
    if (pod.status?.phase === "Running") return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const conditions = ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({ type, status: "True", lastTransitionTime: now }));
    await this.api.merge(`${path}/status`, {
      status: {
        phase: "Running",
        conditions,
        hostIP: "127.0.0.1",
        podIP: "127.0.0.1",
        podIPs: [{ ip: "127.0.0.1" }],
        startTime: now,
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          ready: true,
          started: true,
          restartCount: 0,
          image: "real-tier",
          imageID: "",
          state: { running: { startedAt: now } },
        })),
      },
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise<void>((resolve) => {
      this.https.closeAllConnections();
      this.https.close(() => resolve());
    });
  }
}
