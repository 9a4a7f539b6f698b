/** The operator's configuration, from the environment the install manifests set (and flags for local runs). */
import { UsageError } from "../src/core/errors.js";

export interface OperatorConfig {
  namespace: string;
  kadaluVersion: string;
  serverImage: string;
  k8sDist: string;
  verbose: boolean;
  healthPort: number;
  /** Where /metrics is served (upstream's exporter port, 8050); 0: not at all. */
  metricsPort: number;
  /** How often every pool is reconciled even without events. */
  resyncMs: number;
  /** Timeout of the TCP check of External pools' Gluster hosts. */
  hostCheckTimeoutMs: number;
  /** The deadline of every API request: a hung one fails, and the reconcile is retried. */
  requestTimeoutMs: number;
  /** How long each watch lasts before it is renewed; one silent for longer (plus a margin) counts as a dead connection. */
  watchTimeoutSeconds: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv): OperatorConfig {
  const version = env.KADALU_VERSION ?? "devel";
  const hub = env.IMAGES_HUB ?? "docker.io";
  const user = env.DOCKER_USER ?? "kadalu";
  return {
    namespace: env.KADALU_NAMESPACE ?? "kadalu",
    kadaluVersion: version,
    serverImage: env.SERVER_IMAGE ?? `${hub}/${user}/kadalu-server:${version}`,
    k8sDist: env.K8S_DIST ?? "kubernetes",
    verbose: (env.VERBOSE ?? "no") === "yes",
    healthPort: Number(env.HEALTH_PORT ?? 8080),
    metricsPort: port(env.METRICS_PORT ?? "8050", "METRICS_PORT"),
    resyncMs: Number(env.RESYNC_SECONDS ?? 300) * 1000,
    hostCheckTimeoutMs: 3000,
    requestTimeoutMs: Number(env.REQUEST_TIMEOUT_SECONDS ?? 30) * 1000,
    watchTimeoutSeconds: Number(env.WATCH_TIMEOUT_SECONDS ?? 300),
  };
}

export function port(value: string, what: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`${what} must be a TCP port (0: off), not "${value}"`);
  return Number(value);
}
