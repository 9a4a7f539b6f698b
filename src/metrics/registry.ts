/**
 * prom-client metrics built from the catalogue (src/core/metrics/catalog.ts), one registry per process,
 * and the /metrics endpoint that serves it.
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { metric } from "../core/metrics/catalog.js";

export { Registry };

export function newRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

type Collect = (this: Gauge) => void | Promise<void>;

export function gaugeOf(registry: Registry, name: string, collect?: Collect): Gauge {
  const spec = metric(name);
  return new Gauge({ name, help: spec.help, labelNames: [...spec.labels], registers: [registry], ...(collect ? { collect } : {}) });
}

export function counterOf(registry: Registry, name: string): Counter {
  const spec = metric(name);
  return new Counter({ name, help: spec.help, labelNames: [...spec.labels], registers: [registry] });
}

export function histogramOf(registry: Registry, name: string, buckets: number[]): Histogram {
  const spec = metric(name);
  return new Histogram({ name, help: spec.help, labelNames: [...spec.labels], buckets, registers: [registry] });
}

/**
 * Upstream's per-process gauges, `name` being the pod (HOSTNAME in a pod). CPU in nanoseconds, as
 * upstream read it from the cgroup; here the process's own user + system time.
 */
export function processGauges(registry: Registry, podName: string): void {
  gaugeOf(registry, "kadalu_memory_usage_in_bytes", function collect() {
    this.set({ name: podName }, process.memoryUsage.rss());
  });
  gaugeOf(registry, "kadalu_cpu_usage_in_ns", function collect() {
    const { user, system } = process.cpuUsage();
    this.set({ name: podName }, (user + system) * 1000);
  });
}

/** Serves GET /metrics on `port` (0: a free one, for tests); the bound port is on the returned server. */
export async function serveMetrics(registry: Registry, port: number, log: (message: string) => void): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: metrics are at /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
      (error: Error) => {
        log(`metrics: ${error.message}`);
        res.writeHead(500, { "Content-Type": "text/plain" }).end(`${error.message}\n`);
      },
    );
  });
  // A scrape never holds the process: slow clients are cut off.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve());
  });
  return server;
}

export const boundPort = (server: Server): number => (server.address() as { port: number }).port;

export function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
