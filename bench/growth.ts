/**
 * Cost as a pool grows: pools holding 0 / 1k / 10k / 100k PVs, seeded straight into the on-disk layout the
 * driver reads (directory, metadata file, stat.db row: one transaction for the rows, no RPC per PV), then
 * - CreateVolume and DeleteVolume through one provisioner serving every size at once, the sizes taken in
 *   turn call by call (side by side in the same process and minute), in rounds: each round's p50 ratio
 *   to the empty pool, min / median / max over the rounds;
 * - the provisioner's start-up with one such pool: to "serving on", and to its first CreateVolume answered
 *   (mount, stat.db open, the records' repair scan), repeated;
 * - one quota crawler sweep over the pool's PVs, unpaced.
 * A seeded PV is read back through the CSI (ValidateVolumeCapabilities) before any figure is believed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodePvMetadata, pvPrefix } from "../src/core/pv-layout.js";
import { StatDb, STAT_DB_FILE } from "../src/statdb/stat-db.js";
import { csiClient, type CsiClient } from "../harness/helpers/csi-client.js";
import { percentile, spread, timed, type Row } from "./stats.js";
import { hashDirsReady } from "./csi.js";

const BIN = fileURLToPath(new URL("../bin/kadalu-csi", import.meta.url));
const CAPS = [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }];
/** Small, so 100k of them fit any disk's free-space rule. */
const SEEDED_BYTES = 4096;

export const seededName = (i: number): string => `pvc-seed-${i}`;
const label = (count: number): string => (count >= 1000 ? `${count / 1000}k` : String(count));

/** `count` PVs in upstream's layout under `root`: what the driver would have left after `count` creates. */
export function seedPool(root: string, count: number): void {
  mkdirSync(root, { recursive: true });
  const made = new Set<string>();
  const dir = (path: string): void => {
    if (made.has(path)) return;
    mkdirSync(path, { recursive: true });
    made.add(path);
  };
  const db = StatDb.open(join(root, STAT_DB_FILE));
  try {
    db.transaction(() => {
      for (let i = 0; i < count; i += 1) db.upsertPv(seededName(i), SEEDED_BYTES);
    });
  } finally {
    db.close();
  }
  for (let i = 0; i < count; i += 1) {
    const name = seededName(i);
    const prefix = pvPrefix("subvol", name);
    mkdirSync(join(root, prefix, name), { recursive: true });
    dir(join(root, "info", prefix));
    writeFileSync(join(root, "info", prefix, `${name}.json`), encodePvMetadata(SEEDED_BYTES, prefix));
  }
}

interface Provisioner {
  child: ChildProcess;
  socket: string;
  /** ms from spawn to "serving on". */
  servingMs: number;
  stop: () => Promise<void>;
}

async function startProvisioner(dir: string, pools: Map<string, string>, extra: string[] = []): Promise<Provisioner> {
  const socket = join(dir, `csi-${Date.now()}.sock`);
  const args = [
    BIN,
    "--endpoint",
    `unix://${socket}`,
    "--node-id",
    "n1",
    "--role",
    "provisioner",
    ...[...pools].flatMap(([pool, root]) => ["--pool-dir", `${pool}=${root}`]),
    ...extra,
  ];
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the provisioner did not serve within 120 s: ${stderr}`)), 120_000);
      child.once("exit", (code) => reject(new Error(`the provisioner exited (${code}): ${stderr}`)));
      child.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("serving on")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  child.stdout!.resume();
  return { child, socket, servingMs: performance.now() - start, stop };
}

const create = (client: CsiClient, pool: string, name: string): Promise<unknown> =>
  client.controller("CreateVolume", { name, capacity_range: { required_bytes: 1024 ** 2 }, volume_capabilities: CAPS, parameters: { storage_name: pool } });

/** Fails unless the driver finds seeded PV `name` (its metadata read through the CSI). */
async function readBack(client: CsiClient, name: string): Promise<void> {
  await client.controller("ValidateVolumeCapabilities", { volume_id: name, volume_capabilities: CAPS });
}

export interface GrowthOptions {
  sizes: number[];
  rounds: number;
  cyclesPerRound: number;
  startups: number;
}

/** Every row of this file for `options.sizes`; the pools live in one temporary directory, removed at the end. */
export async function growthScenarios(options: GrowthOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-bench-growth-"));
  try {
    const pools = new Map<string, string>();
    const seedRows: Row[] = [];
    for (const size of options.sizes) {
      const root = join(dir, `grow${label(size)}`);
      const ms = await timed(async () => seedPool(root, size));
      pools.set(`grow${label(size)}`, root);
      seedRows.push([`  seeding a pool of ${label(size)} PVs (files + one stat.db transaction)`, `${(ms / 1000).toFixed(1)} s`, "-"]);
    }
    return [
      ...(await createDeleteCurve(dir, pools, options)),
      ...seedRows,
      ...(await startupCurve(dir, pools, options)),
      ...(await crawlerCurve(pools, options.sizes)),
    ];
  } finally {
    // A failed removal must not hide the rows or the error that ended them.
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    } catch (error) {
      process.stderr.write(`bench: ${dir} not removed: ${(error as Error).message}\n`);
    }
  }
}

async function createDeleteCurve(dir: string, pools: Map<string, string>, options: GrowthOptions): Promise<Row[]> {
  const names = [...pools.keys()];
  const provisioner = await startProvisioner(dir, pools, ["--quota-crawl-rate", "0"]);
  const client = csiClient(`unix://${provisioner.socket}`);
  try {
    for (const [pool, root] of pools) {
      for (let i = 0; i < 20; i += 1) {
        await create(client, pool, `pvc-warm-${pool}-${i}`);
        await client.controller("DeleteVolume", { volume_id: `pvc-warm-${pool}-${i}` });
      }
      await hashDirsReady(root, 60_000);
    }
    const last = options.sizes[options.sizes.length - 1]!;
    if (last > 0) await readBack(client, seededName(last - 1));
    const creates = new Map(names.map((pool) => [pool, [] as number[]]));
    const deletes = new Map(names.map((pool) => [pool, [] as number[]]));
    const createRatios = new Map(names.map((pool) => [pool, [] as number[]]));
    const deleteRatios = new Map(names.map((pool) => [pool, [] as number[]]));
    let errors = 0;
    for (let round = 0; round < options.rounds; round += 1) {
      const roundCreates = new Map(names.map((pool) => [pool, [] as number[]]));
      const roundDeletes = new Map(names.map((pool) => [pool, [] as number[]]));
      for (let i = 0; i < options.cyclesPerRound; i += 1) {
        // Rotating the order: no size always goes first after the others' work.
        for (let k = 0; k < names.length; k += 1) {
          const pool = names[(i + k) % names.length]!;
          const name = `pvc-g${round}-${i}-${pool}`;
          try {
            roundCreates.get(pool)!.push(await timed(() => create(client, pool, name)));
            roundDeletes.get(pool)!.push(await timed(() => client.controller("DeleteVolume", { volume_id: name })));
          } catch {
            errors += 1;
          }
        }
      }
      const base = names[0]!;
      for (const pool of names) {
        creates.get(pool)!.push(...roundCreates.get(pool)!);
        deletes.get(pool)!.push(...roundDeletes.get(pool)!);
        createRatios.get(pool)!.push(percentile(roundCreates.get(pool)!, 50) / percentile(roundCreates.get(base)!, 50));
        deleteRatios.get(pool)!.push(percentile(roundDeletes.get(pool)!, 50) / percentile(roundDeletes.get(base)!, 50));
      }
    }
    const rows: Row[] = [];
    const header = `${options.rounds} rounds x ${options.cyclesPerRound} per size, sizes interleaved`;
    for (const [kind, all, ratios] of [
      ["CreateVolume", creates, createRatios],
      ["DeleteVolume", deletes, deleteRatios],
    ] as const) {
      rows.push([
        `CSI ${kind} in a local pool holding N PVs (${header})`,
        "p50, p99; round p50 ratio to 0 min/med/max",
        kind === "CreateVolume" ? "p50 at 100k <= 1.2x at 0 (issue 40)" : "-",
      ]);
      options.sizes.forEach((size, index) => {
        const pool = names[index]!;
        const values = all.get(pool)!;
        rows.push([
          `  ${label(size)} PVs`,
          `p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms; ${spread(ratios.get(pool)!, 2, "x")}`,
          "-",
        ]);
      });
    }
    rows.push(["  errors", String(errors), "0"]);
    return rows;
  } finally {
    client.close();
    await provisioner.stop();
  }
}

async function startupCurve(dir: string, pools: Map<string, string>, options: GrowthOptions): Promise<Row[]> {
  const rows: Row[] = [
    [
      `provisioner start-up with one pool of N PVs (${options.startups} starts each)`,
      "to serving; to first CreateVolume answered (min/med/max)",
      "<= 10 s at 100k (issue 40)",
    ],
  ];
  const entries = [...pools];
  const serving = entries.map(() => [] as number[]);
  const first = entries.map(() => [] as number[]);
  for (let run = 0; run < options.startups; run += 1) {
    for (const [index, [pool, root]] of entries.entries()) {
      const start = performance.now();
      const provisioner = await startProvisioner(dir, new Map([[pool, root]]));
      const client = csiClient(`unix://${provisioner.socket}`);
      try {
        const name = `pvc-start-${run}`;
        await create(client, pool, name);
        first[index]!.push(performance.now() - start);
        serving[index]!.push(provisioner.servingMs);
        const size = options.sizes[index]!;
        if (size > 0) await readBack(client, seededName(size - 1));
        await client.controller("DeleteVolume", { volume_id: name });
      } finally {
        client.close();
        await provisioner.stop();
      }
    }
  }
  options.sizes.forEach((size, index) => {
    rows.push([`  ${label(size)} PVs`, `${spread(serving[index]!, 0, " ms")}; ${spread(first[index]!, 0, " ms")}`, "-"]);
  });
  return rows;
}

async function crawlerCurve(pools: Map<string, string>, sizes: number[]): Promise<Row[]> {
  const { DEFAULT_CRAWLER, QuotaCrawler } = await import("../csi/jobs/quota-crawler.js");
  const rows: Row[] = [
    ["quota crawler, one sweep unpaced over N PVs (statfs + usage xattr each)", "wall, CPU, PVs visited, usages written; next sweep (nothing changed)", "-"],
  ];
  for (const [index, root] of [...pools.values()].entries()) {
    const size = sizes[index]!;
    const directories = Array.from({ length: size }, (_, i) => join(root, pvPrefix("subvol", seededName(i)), seededName(i)));
    // Local filesystems have no glusterfs.* xattrs: the same calls are made under a user.* name.
    const crawler = new QuotaCrawler(
      "bench",
      () => directories,
      () => undefined,
      { ...DEFAULT_CRAWLER, ratePerSecond: 1e9, usageAttribute: "user.kadalu-bench.total-usage" },
    );
    const sweep = async (): Promise<string> => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const result = await crawler.sweep();
      const used = process.cpuUsage(cpu);
      return `${(performance.now() - start).toFixed(0)} ms wall, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU, ${result.visited} visited, ${result.written} written`;
    };
    const cpu = process.cpuUsage();
    const firstSweep = await sweep();
    const used = process.cpuUsage(cpu);
    rows.push([`  ${label(size)} PVs`, `${firstSweep}; next: ${(await sweep()).split(", ").slice(0, 2).join(", ")}`, "-"]);
    if (index === sizes.length - 1 && size > 0) {
      const seconds = size / DEFAULT_CRAWLER.ratePerSecond;
      rows.push([
        `  at the default pace (${DEFAULT_CRAWLER.ratePerSecond} PVs/s), ${label(size)} PVs: a sweep every ${seconds.toFixed(0)} s + ${DEFAULT_CRAWLER.pauseMs / 1000} s`,
        `${(((used.user + used.system) / 1e6 / seconds) * 100).toFixed(2)}% of one core at most`,
        "bounded (issue 18)",
      ]);
    }
  }
  return rows;
}
