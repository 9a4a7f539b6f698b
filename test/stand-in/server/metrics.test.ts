/**
 * The brick pod's /metrics (server/metrics.ts) over HTTP: a real brick directory (statvfs, simple-quota's
 * xattrs on PV directories, as root), a real listening brick port, real supervised processes.
 */
import { setAttribute } from "@napi-rs/xattr";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brickMetrics, quotaNumber } from "../../../server/metrics.js";
import { metricsPortOf } from "../../../server/main.js";
import { Supervised } from "../../../server/supervisor.js";
import { metricsOf } from "../../../src/core/metrics/catalog.js";
import { boundPort, closeServer, newRegistry, serveMetrics } from "../../../src/metrics/registry.js";
import { waitUntil } from "../../../harness/real/processes.js";

const root = process.getuid?.() === 0;
const BRICK = "kube1:/bricks/pool1/data/brick";
const LABELS = `pool="pool1",namespace="kadalu",brick="${BRICK}"`;

let scratch: string;
let brickPort: Server;
const supervised: Supervised[] = [];
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "kadalu-brick-metrics-"));
  brickPort = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => brickPort.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  for (const process of supervised) await process.stop();
  await new Promise((resolve) => brickPort.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return response.text();
}

const line = (text: string, name: string, labels = LABELS): string | undefined => text.split("\n").find((entry) => entry.startsWith(`${name}{${labels}} `));
const value = (text: string, name: string, labels = LABELS): number | undefined => {
  const found = line(text, name, labels);
  return found === undefined ? undefined : Number(found.slice(found.lastIndexOf(" ") + 1));
};

describe("brick metrics", () => {
  it("reads simple-quota's numbers as it writes them: decimal text, NUL-terminated", () => {
    expect(quotaNumber(Buffer.from("10748928\0", "latin1"))).toBe(10748928);
    expect(quotaNumber(Buffer.from("5242880"))).toBe(5242880);
    expect(quotaNumber(Buffer.from([0, 0, 1, 0]))).toBeUndefined();
    expect(quotaNumber(null)).toBeUndefined();
  });

  it("takes METRICS_PORT, 8050 by default, 0 for none; refuses anything else", () => {
    expect(metricsPortOf({})).toBe(8050);
    expect(metricsPortOf({ METRICS_PORT: "0" })).toBe(0);
    expect(() => metricsPortOf({ METRICS_PORT: "80a" })).toThrow('METRICS_PORT "80a" must be a port number (0 for no metrics)');
    expect(() => metricsPortOf({ METRICS_PORT: "70000" })).toThrow("must be a port number");
  });

  it.skipIf(!root)("serves brick up, restarts, the self-heal daemon, the brick's statvfs and each PV's quota as Prometheus text", async () => {
    const brickPath = join(scratch, "brick");
    const pvDir = join(brickPath, "subvol", "ab", "cd", "pvc-1");
    mkdirSync(pvDir, { recursive: true });
    mkdirSync(join(brickPath, "subvol", "ab", "cd", "pvc-no-limit"), { recursive: true });
    await setAttribute(pvDir, "trusted.glusterfs.namespace", "true");
    await setAttribute(pvDir, "trusted.gfs.squota.limit", "10485760");
    await setAttribute(pvDir, "trusted.gfs.squota.size", Buffer.from("4194304\0", "latin1"));
    const log = (): void => undefined;
    const glusterfsd = new Supervised("glusterfsd", "sleep", ["60"], log, { firstDelayMs: 50, maxDelayMs: 50, healthyMs: 60_000 });
    const shd = new Supervised("shd", "sleep", ["60"], log);
    supervised.push(glusterfsd, shd);
    glusterfsd.start();
    shd.start();
    const registry = newRegistry();
    brickMetrics(registry, {
      pool: "pool1",
      namespace: "kadalu",
      brick: BRICK,
      brickPath,
      brickPort: (brickPort.address() as AddressInfo).port,
      glusterfsd,
      shd,
    });
    const server = await serveMetrics(registry, 0, log);
    try {
      const port = boundPort(server);
      let text = await scrape(port);
      for (const spec of metricsOf("server").filter((candidate) => candidate.exporter === "server"))
        expect(text, spec.name).toContain(`# TYPE ${spec.name} ${spec.type}`);
      expect(value(text, "kadalu_brick_up")).toBe(1);
      expect(value(text, "kadalu_brick_restarts_total")).toBe(0);
      expect(value(text, "kadalu_self_heal_daemon_up")).toBe(1);
      // df's own numbers for the brick's filesystem.
      const [size, used, inodes, inodesUsed] = execFileSync("df", ["-B1", "--output=size,used", brickPath], { encoding: "utf8" })
        .trim()
        .split("\n")[1]!
        .trim()
        .split(/\s+/)
        .map(Number)
        .concat(execFileSync("df", ["--output=itotal,iused", brickPath], { encoding: "utf8" }).trim().split("\n")[1]!.trim().split(/\s+/).map(Number));
      expect(value(text, "kadalu_brick_capacity_bytes")).toBe(size);
      expect(Math.abs(value(text, "kadalu_brick_used_bytes")! - used!)).toBeLessThan(64 * 1024 * 1024);
      expect(value(text, "kadalu_brick_inodes")).toBe(inodes);
      expect(Math.abs(value(text, "kadalu_brick_inodes_used")! - inodesUsed!)).toBeLessThan(10_000);
      expect(value(text, "kadalu_pv_quota_limit_bytes", `${LABELS},pv="pvc-1"`)).toBe(10485760);
      expect(value(text, "kadalu_pv_quota_used_bytes", `${LABELS},pv="pvc-1"`)).toBe(4194304);
      expect(text).not.toContain('pv="pvc-no-limit"');

      // glusterfsd dies: down until the supervisor has started it again, the restart counted.
      const first = glusterfsd.pid!;
      process.kill(first, "SIGKILL");
      await waitUntil("the supervisor to start glusterfsd again", () => (glusterfsd.pid !== undefined && glusterfsd.pid !== first) || undefined, 5000, 20);
      text = await scrape(port);
      expect(value(text, "kadalu_brick_restarts_total")).toBe(1);
      expect(value(text, "kadalu_brick_up")).toBe(1);
      // The brick port stops answering: down, though the process runs.
      await new Promise((resolve) => brickPort.close(resolve));
      text = await scrape(port);
      expect(value(text, "kadalu_brick_up")).toBe(0);
      await shd.stop();
      expect(value(await scrape(port), "kadalu_self_heal_daemon_up")).toBe(0);
      // A brick directory gone: no filesystem numbers rather than a failed scrape.
      rmSync(brickPath, { recursive: true, force: true });
      text = await scrape(port);
      expect(line(text, "kadalu_brick_capacity_bytes")).toBeUndefined();
      expect(text).not.toContain("kadalu_pv_quota_limit_bytes{");
    } finally {
      await closeServer(server);
    }
  });
});
