/**
 * kadalu-operator: in-cluster with the service account, or out-of-cluster with --kubeconfig for
 * development. Serves /healthz and /readyz (ready once the caches are synced) for the Deployment's probes.
 */
import { createServer, type Server } from "node:http";
import { connect } from "../src/kube/client.js";
import { configFromEnv, port, type OperatorConfig } from "./config.js";
import { Controller, type Logger } from "./controller.js";
import { operatorMetrics } from "./metrics.js";
import { closeServer, newRegistry, serveMetrics } from "../src/metrics/registry.js";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { readFlags } from "../src/core/daemon-flags.js";

export interface RunningOperator {
  controller: Controller;
  health?: Server;
  metrics?: Server;
  stop(): Promise<void>;
}

export function consoleLogger(verbose: boolean): Logger {
  return (level, message) => {
    if (level === "debug" && !verbose) return;
    const line = `${new Date().toISOString()} ${level} ${message}\n`;
    (level === "error" ? process.stderr : process.stdout).write(line);
  };
}

/** `metricsPort` overrides the config's (0: any free port, for tests). */
export async function startOperator(options: {
  kubeconfig?: string;
  context?: string;
  config: OperatorConfig;
  log: Logger;
  health?: boolean;
  metricsPort?: number;
}): Promise<RunningOperator> {
  const kube = await connect({ kubeconfig: options.kubeconfig, context: options.context, requestTimeoutMs: options.config.requestTimeoutMs });
  const controller = new Controller(kube, options.config, options.log);
  let ready = false;
  let health: Server | undefined;
  if (options.health ?? true) {
    health = createServer((req, res) => {
      const ok = req.url === "/healthz" || (req.url === "/readyz" && ready);
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
    });
    await new Promise<void>((resolve) => health!.listen(options.config.healthPort, resolve));
  }
  const metricsPort = options.metricsPort ?? (options.config.metricsPort > 0 ? options.config.metricsPort : undefined);
  let metrics: Server | undefined;
  if (metricsPort !== undefined) {
    const registry = newRegistry();
    operatorMetrics(registry, controller, process.env.HOSTNAME ?? hostname());
    metrics = await serveMetrics(registry, metricsPort, (message) => options.log("error", message));
  }
  await controller.start();
  ready = true;
  options.log("info", `kadalu-operator ${options.config.kadaluVersion} watching KadaluStorage in all namespaces; Kadalu namespace ${options.config.namespace}`);
  return {
    controller,
    health,
    metrics,
    async stop() {
      controller.stop();
      await closeServer(metrics);
      await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
    },
  };
}

/** The flags, for local runs; in the cluster the environment the install manifests set configures it. */
const FLAGS = {
  namespace: { type: "string" },
  "health-port": { type: "string" },
  "metrics-port": { type: "string" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
} as const;

export async function main(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values: flags } = readFlags(() => parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }), Object.keys(FLAGS));
  const config = configFromEnv({ ...env, ...(flags.namespace ? { KADALU_NAMESPACE: flags.namespace } : {}) });
  if (flags["health-port"]) config.healthPort = Number(flags["health-port"]);
  if (flags["metrics-port"]) config.metricsPort = port(flags["metrics-port"], "--metrics-port");
  const log = consoleLogger(config.verbose);
  const running = await startOperator({ kubeconfig: flags.kubeconfig, context: flags.context, config, log });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log("info", `${signal}: stopping`);
      void running.stop().then(() => process.exit(0));
    });
  }
}
