/**
 * The brick pod's /metrics, on upstream's server exporter port (8050): whether glusterfsd serves (its
 * process runs and the brick port answers), how often it was restarted, whether the self-heal daemon
 * runs, the brick filesystem's size and inodes (statvfs), and each PV's simple-quota limit and usage
 * from the xattrs on its directory in the brick. Read at scrape time; no child process.
 */
import { getAttribute } from "@napi-rs/xattr";
import type { StatsFs } from "node:fs";
import { readdir, statfs } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { Counter, type Gauge } from "prom-client";
import { metric } from "../src/core/metrics/catalog.js";
import { gaugeOf, type Registry } from "../src/metrics/registry.js";

export const SERVER_METRICS_PORT = 8050;
export const QUOTA_LIMIT_XATTR = "trusted.gfs.squota.limit";
export const QUOTA_SIZE_XATTR = "trusted.gfs.squota.size";
const PROBE_MS = 1000;

/** What a scrape looks at: the processes the runtime supervises and the brick on disk. */
export interface BrickMetricsSource {
  pool: string;
  namespace: string;
  /** `node:path`, as gluster names a brick (heal-info shows the same). */
  brick: string;
  brickPath: string;
  brickPort: number;
  glusterfsd: { readonly pid: number | undefined; readonly restarts: number };
  /** Only for pools with a self-heal daemon. */
  shd?: { readonly pid: number | undefined };
}

export function portAnswers(port: number, timeoutMs = PROBE_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** simple-quota writes its numbers as decimal text, NUL-terminated (gluster's dict_set_int64). */
export function quotaNumber(value: Buffer | null | undefined): number | undefined {
  const text = value?.toString("latin1").replace(/\0+$/, "");
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

async function subdirectories(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return [];
  }
}

export interface PvQuota {
  pv: string;
  limit: number;
  used: number | undefined;
}

/** The PVs with a limit under the brick's `subvol/XX/YY/<pv>` (the CSI driver's layout). */
export async function pvQuotas(brickPath: string): Promise<PvQuota[]> {
  const root = join(brickPath, "subvol");
  const quotas: PvQuota[] = [];
  for (const first of await subdirectories(root)) {
    for (const second of await subdirectories(join(root, first))) {
      for (const pv of await subdirectories(join(root, first, second))) {
        const dir = join(root, first, second, pv);
        const [limit, used] = await Promise.all(
          [QUOTA_LIMIT_XATTR, QUOTA_SIZE_XATTR].map((name) => getAttribute(dir, name).then(quotaNumber, () => undefined)),
        );
        if (limit !== undefined) quotas.push({ pv, limit, used });
      }
    }
  }
  return quotas;
}

export function brickMetrics(registry: Registry, source: BrickMetricsSource): void {
  const labels = { pool: source.pool, namespace: source.namespace, brick: source.brick };
  gaugeOf(registry, "kadalu_brick_up", async function collect() {
    this.set(labels, source.glusterfsd.pid !== undefined && (await portAnswers(source.brickPort)) ? 1 : 0);
  });
  const restarts = metric("kadalu_brick_restarts_total");
  new Counter({
    name: restarts.name,
    help: restarts.help,
    labelNames: [...restarts.labels],
    registers: [registry],
    collect() {
      this.reset();
      this.inc(labels, source.glusterfsd.restarts);
    },
  });
  if (source.shd) {
    const shd = source.shd;
    gaugeOf(registry, "kadalu_self_heal_daemon_up", function collect() {
      this.set(labels, shd.pid !== undefined ? 1 : 0);
    });
  }
  // One statvfs per scrape, shared by the four gauges: a scrape calls their collects in registration order.
  let filesystem: Promise<StatsFs | undefined> | undefined;
  const fsGauge = (name: string, value: (stats: StatsFs) => number, first = false): void => {
    gaugeOf(registry, name, async function collect(this: Gauge) {
      if (first || !filesystem) filesystem = statfs(source.brickPath).catch(() => undefined);
      const stats = await filesystem;
      this.reset();
      if (stats) this.set(labels, value(stats));
    });
  };
  fsGauge("kadalu_brick_capacity_bytes", (stats) => stats.blocks * stats.bsize, true);
  fsGauge("kadalu_brick_used_bytes", (stats) => (stats.blocks - stats.bfree) * stats.bsize);
  fsGauge("kadalu_brick_inodes", (stats) => stats.files);
  fsGauge("kadalu_brick_inodes_used", (stats) => stats.files - stats.ffree);
  let quotas: Promise<PvQuota[]> | undefined;
  const quotaGauge = (name: string, value: (quota: PvQuota) => number | undefined, first = false): void => {
    gaugeOf(registry, name, async function collect(this: Gauge) {
      if (first || !quotas) quotas = pvQuotas(source.brickPath);
      this.reset();
      for (const quota of await quotas) {
        const current = value(quota);
        if (current !== undefined) this.set({ ...labels, pv: quota.pv }, current);
      }
    });
  };
  quotaGauge("kadalu_pv_quota_limit_bytes", (quota) => quota.limit, true);
  quotaGauge("kadalu_pv_quota_used_bytes", (quota) => quota.used);
}
