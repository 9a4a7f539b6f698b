/** A stand-in for OpenShift's service-ca operator, which the MicroShift-built apiserver assumes. */
import type { RealCluster } from "../real/cluster.js";

export const SERVICE_CA = "openshift-service-ca.crt";

/**
 * The apiserver is MicroShift's build: its ServiceAccount admission projects the ConfigMap
 * openshift-service-ca.crt (key service-ca.crt) into every token volume, and the kubelet will not start a
 * pod until it exists. OpenShift's service-ca operator writes it into each namespace; this stands in for
 * it, with the apiserver's CA, polling the namespaces until stopped.
 */
export class ServiceCaPublisher {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private readonly done = new Set<string>();

  constructor(private readonly cluster: RealCluster) {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.publish()).catch(() => undefined);
    }, 300);
  }

  private async publish(): Promise<void> {
    const admin = this.cluster.admin;
    for (const namespace of (await admin.get("/api/v1/namespaces")).items) {
      const name = namespace.metadata.name;
      if (this.done.has(name) || namespace.status?.phase === "Terminating") continue;
      if (!(await admin.find(`/api/v1/namespaces/${name}/configmaps/${SERVICE_CA}`))) {
        await admin.post(`/api/v1/namespaces/${name}/configmaps`, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: SERVICE_CA },
          data: { "service-ca.crt": this.cluster.ca },
        });
      }
      this.done.add(name);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
