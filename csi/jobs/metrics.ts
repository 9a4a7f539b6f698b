/**
 * The provisioner's /metrics: upstream's capacity gauges from statfs of each mounted pool and of each PV
 * directory (upstream's CSI exporter did the same per scrape), and each CSI call's latency and errors.
 * A scrape refreshes at most PV_STATFS_PER_SCRAPE PV directories (those seen longest ago); the rest are
 * served from the last answer, so a pool of 10k PVs costs a scrape at most that many statfs calls.
 */
import { statfs } from "node:fs/promises";
import { basename } from "node:path";
import { CSI_LATENCY_BUCKETS } from "../../src/core/metrics/catalog.js";
import { counterOf, gaugeOf, histogramOf, processGauges, type Registry } from "../../src/metrics/registry.js";
import type { Driver } from "../driver.js";

export const PV_STATFS_PER_SCRAPE = 500;
const PARALLEL_STATFS = 16;

interface Space {
  totalBytes: number;
  freeBytes: number;
  totalInodes: number;
  freeInodes: number;
}

async function spaceOf(path: string): Promise<Space | undefined> {
  try {
    const stats = await statfs(path);
    return { totalBytes: stats.bsize * stats.blocks, freeBytes: stats.bsize * stats.bavail, totalInodes: stats.files, freeInodes: stats.ffree };
  } catch {
    return undefined; // a block PV (a file, not a directory), or a PV deleted since the list was taken
  }
}

/** PV directory -> its last statfs, refreshed oldest first within the budget. */
class PvSpaces {
  private readonly known = new Map<string, { space: Space; at: number }>();

  async refresh(paths: string[], budget: number): Promise<Map<string, Space>> {
    const wanted = new Set(paths);
    for (const path of this.known.keys()) if (!wanted.has(path)) this.known.delete(path);
    const stale = [...paths].sort((a, b) => (this.known.get(a)?.at ?? 0) - (this.known.get(b)?.at ?? 0)).slice(0, budget);
    for (let index = 0; index < stale.length; index += PARALLEL_STATFS) {
      await Promise.all(
        stale.slice(index, index + PARALLEL_STATFS).map(async (path) => {
          const space = await spaceOf(path);
          if (space) this.known.set(path, { space, at: Date.now() });
          else this.known.delete(path);
        }),
      );
    }
    return new Map([...this.known].map(([path, { space }]) => [path, space]));
  }
}

type Which = "total" | "used" | "free";
const valueOf = (space: Space, which: Which, unit: "bytes" | "inodes"): number => {
  const [total, free] = unit === "bytes" ? [space.totalBytes, space.freeBytes] : [space.totalInodes, space.freeInodes];
  return which === "total" ? total : which === "free" ? free : total - free;
};

/** What one scrape saw: each pool's space by pool name, each PV directory's by PV name. */
interface Sample {
  pools: Map<string, Space>;
  pvs: Map<string, Space>;
}

/** Twelve gauges read one sample: it is taken once per scrape (a second asking within 1 s shares it). */
function spaceGauges(registry: Registry, sample: () => Promise<Sample>): void {
  for (const [prefix, key] of [
    ["storage", "pools"],
    ["pvc", "pvs"],
  ] as const) {
    for (const which of ["total", "used", "free"] as const) {
      for (const [unit, suffix] of [
        ["bytes", "capacity_bytes"],
        ["inodes", "inodes"],
      ] as const) {
        gaugeOf(registry, `kadalu_${prefix}_${which}_${suffix}`, async function collect() {
          const spaces = (await sample())[key];
          this.reset();
          for (const [name, space] of spaces) this.set({ name }, valueOf(space, which, unit));
        });
      }
    }
  }
}

export interface CsiMetrics {
  /** One finished CSI call: its method, gRPC status name (OK, NOT_FOUND, ...) and duration. */
  observe(method: string, code: string, seconds: number): void;
}

export function csiMetrics(registry: Registry, driver: Driver, podName: string): CsiMetrics {
  processGauges(registry, podName);
  const spaces = new PvSpaces();
  let last: { at: number; sample: Promise<Sample> } | undefined;
  const take = async (): Promise<Sample> => {
    const stores = driver.mounted();
    const pools = new Map<string, Space>();
    await Promise.all(
      stores.map(async (store) => {
        const space = await spaceOf(store.root);
        if (space) pools.set(store.pool, space);
      }),
    );
    const pvs = new Map(
      [
        ...(await spaces.refresh(
          stores.flatMap((store) => store.pvDirectories()),
          PV_STATFS_PER_SCRAPE,
        )),
      ].map(([path, space]) => [basename(path), space]),
    );
    return { pools, pvs };
  };
  spaceGauges(registry, () => {
    if (!last || Date.now() - last.at > 1000) last = { at: Date.now(), sample: take() };
    return last.sample;
  });
  const durations = histogramOf(registry, "kadalu_csi_operation_duration_seconds", CSI_LATENCY_BUCKETS);
  const errors = counterOf(registry, "kadalu_csi_operation_errors_total");
  const copies = counterOf(registry, "kadalu_csi_copies_total");
  const copyBytes = counterOf(registry, "kadalu_csi_copy_bytes_total");
  const written = counterOf(registry, "kadalu_csi_copy_written_bytes_total");
  driver.copies.onProgress = (pool, bytes) => written.inc({ pool }, bytes);
  driver.copies.onFinished = ({ pool, kind, operation, bytes }) => {
    copies.inc({ pool, kind, operation });
    copyBytes.inc({ pool, kind, operation }, bytes);
  };
  return {
    observe(method, code, seconds) {
      durations.observe({ method, code }, seconds);
      if (code !== "OK") errors.inc({ method, code });
    },
  };
}
