/** A kubeconfig for the test server: cluster, bearer-token user, context and namespace. */
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";

export interface KubeconfigOptions {
  server: string;
  token: string;
  namespace?: string;
  context?: string;
  /** PEM of the CA that signed the server certificate (HTTPS servers). */
  ca?: string;
}

export function kubeconfigText(options: KubeconfigOptions): string {
  const context = options.context ?? "kadalu-test";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "kadalu-test",
        cluster: { server: options.server, ...(options.ca ? { "certificate-authority-data": Buffer.from(options.ca).toString("base64") } : {}) },
      },
    ],
    users: [{ name: "kadalu-test", user: { token: options.token } }],
    contexts: [{ name: context, context: { cluster: "kadalu-test", user: "kadalu-test", namespace: options.namespace ?? "default" } }],
    "current-context": context,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, options: KubeconfigOptions): string {
  writeFileSync(path, kubeconfigText(options), { mode: 0o600 });
  return path;
}
