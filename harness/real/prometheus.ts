/**
 * A real Prometheus server (Debian's) scraping given targets every second with the project's alert rules
 * loaded, its HTTP API for queries, and promtool. Stopped with the test's other processes.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { toPortableYaml } from "../../src/core/yaml.js";
import { freePort } from "./cluster.js";
import type { PrometheusParts } from "./components.js";
import { waitUntil, type Processes, type Started } from "./processes.js";

const run = promisify(execFile);

export interface QueryResult {
  resultType: string;
  result: { metric: Record<string, string>; value: [number, string] }[];
}

export class RealPrometheus {
  private constructor(
    readonly url: string,
    readonly process: Started,
  ) {}

  static async start(parts: PrometheusParts, processes: Processes, dir: string, targets: Record<string, number>, ruleFile: string): Promise<RealPrometheus> {
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [ruleFile],
      scrape_configs: Object.entries(targets).map(([job, port]) => ({ job_name: job, static_configs: [{ targets: [`127.0.0.1:${port}`] }] })),
    };
    writeFileSync(join(dir, "prometheus.yml"), toPortableYaml(config));
    const port = await freePort();
    const started = processes.start("prometheus", parts.prometheus, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    const prometheus = new RealPrometheus(`http://127.0.0.1:${port}`, started);
    await waitUntil(
      `Prometheus to be ready\n${started.tail()}`,
      async () => (await fetch(`${prometheus.url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok || undefined,
      30_000,
      200,
    );
    return prometheus;
  }

  async api<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(query)}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${path} ${JSON.stringify(query)}: ${body.error}`);
    return body.data;
  }

  query(expr: string): Promise<QueryResult> {
    return this.api<QueryResult>("query", { query: expr });
  }
}

/** promtool with `args`, `input` on stdin: its exit code and output (never throws for a non-zero exit). */
export async function promtool(parts: PrometheusParts, args: string[], input?: string): Promise<{ code: number; output: string }> {
  const child = run(parts.promtool, args, { timeout: 60_000 });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}
