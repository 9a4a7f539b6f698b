/** Finds the cluster the way kubectl does: --kubeconfig, else KUBECONFIG (several paths merged), else
 * ~/.kube/config, else the in-cluster service account; then --context. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ClusterError, UsageError } from "../core/errors.js";

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
}

function loadSource(kc: KubeConfig, options: ConnectionOptions, env: NodeJS.ProcessEnv): void {
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) throw new UsageError(`--kubeconfig "${options.kubeconfig}": no such file`);
    kc.loadFromFile(options.kubeconfig);
    return;
  }
  const hasEnv = Boolean(env.KUBECONFIG?.split(":").some((path) => path && existsSync(path)));
  const hasHome = existsSync(join(homedir(), ".kube", "config"));
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  if (!hasEnv && !hasHome && !inCluster) {
    throw new ClusterError("no cluster configured: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config");
  }
  kc.loadFromDefault();
}

export function loadKubeConfig(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    loadSource(kc, options, env);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ClusterError) throw error;
    throw new ClusterError(`cannot load the kubeconfig: ${(error as Error).message}`);
  }
  if (options.context) {
    const names = kc.getContexts().map((context) => context.name);
    if (!names.includes(options.context)) {
      throw new UsageError(`context "${options.context}" not found in the kubeconfig; contexts: ${names.join(", ") || "none"}`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new ClusterError(`the kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
  return kc;
}
