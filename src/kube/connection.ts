/** Finds the cluster the way kubectl does: --kubeconfig, else KUBECONFIG (several paths merged, first
 * wins), else ~/.kube/config, else the in-cluster service account; then --context. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { Agent as HttpsAgent } from "node:https";
import { KubeConfig } from "./client-node.js";
import { ClusterError, UsageError } from "../core/errors.js";

const sharedAgents = new WeakMap<KubeConfig, HttpsAgent>();

/**
 * client-node builds a new https.Agent for every request, so each one pays a TLS handshake. The options
 * are the same for one kubeconfig, so one keep-alive agent serves every request made with it, typed or
 * raw (Node unrefs idle kept-alive sockets: a finished command still exits at once). Proxy agents are
 * returned as they are.
 */
export function sharedAgent<T>(kc: KubeConfig, created: T): T | HttpsAgent {
  const base = created as unknown;
  if (!(base instanceof HttpsAgent) || base.constructor !== HttpsAgent) return created;
  let agent = sharedAgents.get(kc);
  if (!agent) {
    agent = new HttpsAgent({ ...base.options, keepAlive: true });
    sharedAgents.set(kc, agent);
  }
  return agent;
}

class SharedAgentKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(context: Parameters<KubeConfig["applySecurityAuthentication"]>[0]): Promise<void> {
    await super.applySecurityAuthentication(context);
    const agent = context.getAgent();
    if (agent) context.setAgent(sharedAgent(this, agent));
  }
}

export interface ConnectionOptions {
  kubeconfig?: string;
  context?: string;
  /** The deadline of every request (watches excepted: they are bounded by their own silence timer). */
  requestTimeoutMs?: number;
}

/** kubectl's merge: files that do not exist are skipped; for a name in several files the first wins. */
function loadMerged(kc: KubeConfig, paths: string[]): void {
  const files = paths
    .filter((path) => existsSync(path))
    .map((path) => {
      const file = new KubeConfig();
      file.loadFromFile(path);
      return file;
    });
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  kc.loadFromOptions({
    clusters: firstByName(files.map((file) => file.clusters)),
    users: firstByName(files.map((file) => file.users)),
    contexts: firstByName(files.map((file) => file.contexts)),
    currentContext: files.map((file) => file.currentContext).find((name) => name) ?? "",
  });
}

function loadSource(kc: KubeConfig, options: ConnectionOptions, env: NodeJS.ProcessEnv): void {
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) throw new UsageError(`--kubeconfig "${options.kubeconfig}": no such file`);
    kc.loadFromFile(options.kubeconfig);
    return;
  }
  const envPaths = (env.KUBECONFIG ?? "").split(delimiter).filter((path) => path && existsSync(path));
  if (envPaths.length > 0) return loadMerged(kc, envPaths);
  const home = join(env.HOME ?? homedir(), ".kube", "config");
  if (existsSync(home)) return kc.loadFromFile(home);
  if (env.KUBERNETES_SERVICE_HOST) return kc.loadFromCluster();
  const named = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  // KUBECONFIG set to files that are not there is a typo or a removed sandbox: say which.
  if (named.length > 0) throw new ClusterError(`KUBECONFIG names no file that exists (${named.join(", ")}): fix it, or pass --kubeconfig FILE`);
  throw new ClusterError("no cluster configured: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config");
}

export function loadKubeConfig(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new SharedAgentKubeConfig();
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
  if (!kc.getCurrentCluster()) {
    const current = kc.getCurrentContext();
    throw new ClusterError(current ? `the kubeconfig has no cluster for context "${current}"` : "the kubeconfig has no current context; pass --context NAME");
  }
  return kc;
}
