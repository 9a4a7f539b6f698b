/**
 * CSI: sequential CreateVolume then DeleteVolume through the real `kadalu-csi` binary's unix socket
 * (p50, p99, errors; after unmeasured warm-up cycles), then 32 concurrent clients: on a local-directory
 * pool, and on a real GlusterFS Replica3 volume where GlusterFS is installed.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { csiClient, type CsiClient } from "../harness/helpers/csi-client.js";
import type { Glusterd } from "../harness/real/gluster.js";
import { percentile, spread, timed, type Row } from "./stats.js";

const BIN = fileURLToPath(new URL("../bin/kadalu-csi", import.meta.url));
const CAPS = [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }];

const HASH_DIRS = 256;

/**
 * Waits (30 s at most) until the driver has made the first-level hash directories of both trees under
 * `root`, which it does once per pool, in the background, when it opens it: a steady pool is measured,
 * not one still being prepared.
 */
export async function hashDirsReady(root: string, waitMs = 30_000): Promise<void> {
  const count = (tree: string): number => {
    try {
      return readdirSync(join(root, tree)).filter((name) => /^[0-9a-f]{2}$/.test(name)).length;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + waitMs;
  while (count("subvol") < HASH_DIRS || count("info/subvol") < HASH_DIRS) {
    if (Date.now() > deadline) throw new Error(`the driver did not prepare the hash directories under ${root} within ${waitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sequential create+delete cycles, then `workers` concurrent clients: the driver's latency and throughput on one pool. */
async function measure(
  socket: string,
  label: string,
  counts: { warmup: number; sequential: number; workers: number; perWorker: number },
  parameters: Record<string, string>,
  targets: [string, string, string],
  poolRoot: string,
): Promise<Row[]> {
  const client = csiClient(`unix://${socket}`);
  const run = (own: CsiClient, name: string): Promise<[number, number]> => cycleWith(own, name, parameters);
  const creates: number[] = [];
  const deletes: number[] = [];
  let errors = 0;
  // Warm-up: a fresh process JIT-compiles its hot paths first; those cycles are not measured.
  for (let i = 0; i < counts.warmup; i += 1) await run(client, `pvc-warm-${i}`);
  await hashDirsReady(poolRoot);
  for (let i = 0; i < counts.sequential; i += 1) {
    try {
      const [c, d] = await run(client, `pvc-seq-${i}`);
      creates.push(c);
      deletes.push(d);
    } catch {
      errors += 1;
    }
  }
  const concurrent: number[] = [];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: counts.workers }, async (_, worker) => {
      const own = csiClient(`unix://${socket}`);
      for (let i = 0; i < counts.perWorker; i += 1) {
        try {
          concurrent.push(...(await run(own, `pvc-c${worker}-${i}`)));
        } catch {
          errors += 1;
        }
      }
      own.close();
    }),
  );
  const elapsed = Date.now() - started;
  client.close();
  const calls = counts.workers * counts.perWorker * 2;
  return [
    [
      `CSI CreateVolume, ${label}, ${counts.sequential} sequential`,
      `p50 ${percentile(creates, 50).toFixed(2)} ms, p99 ${percentile(creates, 99).toFixed(2)} ms`,
      targets[0],
    ],
    [
      `CSI DeleteVolume, ${label}, ${counts.sequential} sequential`,
      `p50 ${percentile(deletes, 50).toFixed(2)} ms, p99 ${percentile(deletes, 99).toFixed(2)} ms`,
      targets[1],
    ],
    [
      `CSI ${counts.workers} concurrent clients x ${counts.perWorker} create+delete, ${label}`,
      `p50 ${percentile(concurrent, 50).toFixed(2)} ms, p99 ${percentile(concurrent, 99).toFixed(2)} ms, ${Math.round((calls * 1000) / elapsed)} calls/s`,
      targets[2],
    ],
    [`CSI errors, ${label}`, String(errors), "0"],
  ];
}

async function cycleWith(client: CsiClient, name: string, parameters: Record<string, string>): Promise<[number, number]> {
  const create = await timed(() =>
    client.controller("CreateVolume", { name, capacity_range: { required_bytes: 1024 ** 2 }, volume_capabilities: CAPS, parameters }),
  );
  const remove = await timed(() => client.controller("DeleteVolume", { volume_id: name }));
  return [create, remove];
}

/**
 * What durability alone costs on the pool's filesystem, the floor under a CreateVolume: the fdatasync of a
 * new metadata file, and one stat.db commit as the driver makes it (rollback journal, synchronous FULL,
 * the lock held). Any acknowledged create pays the RPC's round trip plus at least the slower of the two.
 */
async function durabilityFloor(dir: string, where = ""): Promise<Row[]> {
  const { StatDb } = await import("../src/statdb/stat-db.js");
  const { open } = await import("node:fs/promises");
  mkdirSync(dir);
  const syncs: number[] = [];
  for (let i = 0; i < 300; i += 1) {
    const handle = await open(join(dir, `floor-${i}.json`), "w", 0o644);
    await handle.writeFile('{"size": 1048576, "path_prefix": "subvol/ab/cd"}');
    syncs.push(await timed(() => handle.datasync()));
    await handle.close();
  }
  const db = StatDb.open(join(dir, "floor.db"));
  db.setLockingMode("EXCLUSIVE");
  const commits: number[] = [];
  for (let i = 0; i < 300; i += 1) commits.push(await timed(async () => db.transaction(() => db.upsertPv(`pvc-floor-${i}`, 1024 ** 2))));
  db.close();
  return [
    [
      `  durability floor${where}: fdatasync of a new metadata file`,
      `p50 ${percentile(syncs.slice(50), 50).toFixed(2)} ms, p99 ${percentile(syncs.slice(50), 99).toFixed(2)} ms`,
      "-",
    ],
    [
      `  durability floor${where}: one stat.db commit (rollback journal, synchronous FULL)`,
      `p50 ${percentile(commits.slice(50), 50).toFixed(2)} ms, p99 ${percentile(commits.slice(50), 99).toFixed(2)} ms`,
      "-",
    ],
  ];
}

/**
 * CreateVolume against its floor, side by side: each step of a round makes one no-op RPC, one fdatasync of
 * a new metadata file and one stat.db commit (as the driver makes them) in this process, and one
 * CreateVolume + DeleteVolume through the driver, so the floor and the path share the same minute of a
 * noisy machine. Per round: p50(create) / (p50(no-op) + p50(fdatasync) + p50(commit)).
 */
async function floorRounds(socket: string, dir: string, rounds: number, steps: number): Promise<Row[]> {
  const { StatDb } = await import("../src/statdb/stat-db.js");
  const { open } = await import("node:fs/promises");
  mkdirSync(dir);
  const db = StatDb.open(join(dir, "floor.db"));
  db.setLockingMode("EXCLUSIVE");
  const client = csiClient(`unix://${socket}`);
  const all = { noop: [] as number[], sync: [] as number[], commit: [] as number[], create: [] as number[], remove: [] as number[] };
  const ratios: number[] = [];
  let errors = 0;
  try {
    for (let round = 0; round < rounds; round += 1) {
      const part = { noop: [] as number[], sync: [] as number[], commit: [] as number[], create: [] as number[] };
      for (let i = 0; i < steps; i += 1) {
        part.noop.push(await timed(() => client.controller("ControllerGetCapabilities", {})));
        const handle = await open(join(dir, `floor-${round}-${i}.json`), "w", 0o644);
        await handle.writeFile('{"size": 1048576, "path_prefix": "subvol/ab/cd"}');
        part.sync.push(await timed(() => handle.datasync()));
        await handle.close();
        part.commit.push(await timed(async () => db.transaction(() => db.upsertPv(`pvc-floor-${round}-${i}`, 1024 ** 2))));
        try {
          const [c, d] = await cycleWith(client, `pvc-floor-${round}-${i}`, {});
          part.create.push(c);
          all.remove.push(d);
        } catch {
          errors += 1;
        }
      }
      const floor = percentile(part.noop, 50) + percentile(part.sync, 50) + percentile(part.commit, 50);
      ratios.push(percentile(part.create, 50) / floor);
      all.noop.push(...part.noop);
      all.sync.push(...part.sync);
      all.commit.push(...part.commit);
      all.create.push(...part.create);
    }
  } finally {
    client.close();
    db.close();
  }
  const p = (values: number[]): string => `p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms`;
  return [
    [`CSI CreateVolume, local directory, ${rounds} rounds x ${steps} sequential`, p(all.create), "p50 <= 2 ms, p99 <= 10 ms (issue 16)"],
    [`CSI DeleteVolume, local directory, ${rounds} rounds x ${steps} sequential`, p(all.remove), "p50 <= 2 ms, p99 <= 10 ms (issue 16)"],
    ["  floor: a call that does nothing (ControllerGetCapabilities)", p(all.noop), "-"],
    ["  floor: fdatasync of a new metadata file", p(all.sync), "-"],
    ["  floor: one stat.db commit (rollback journal, synchronous FULL)", p(all.commit), "-"],
    ["  CreateVolume p50 / floor (no-op + fdatasync + commit), per round min/med/max", spread(ratios, 2, "x"), "<= 1.5x (issue 40)"],
    ["  errors", String(errors), "0"],
  ];
}

/** `workers` concurrent clients, create+delete each, `repeats` times: calls/s min/med/max. */
async function concurrentRounds(socket: string, workers: number, perWorker: number, repeats: number, parameters: Record<string, string> = {}): Promise<Row[]> {
  const rates: number[] = [];
  const latencies: number[] = [];
  let errors = 0;
  for (let repeat = 0; repeat < repeats; repeat += 1) {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        const own = csiClient(`unix://${socket}`);
        for (let i = 0; i < perWorker; i += 1) {
          try {
            latencies.push(...(await cycleWith(own, `pvc-r${repeat}-c${worker}-${i}`, parameters)));
          } catch {
            errors += 1;
          }
        }
        own.close();
      }),
    );
    rates.push((workers * perWorker * 2 * 1000) / (performance.now() - started));
  }
  return [
    [
      `CSI ${workers} concurrent clients x ${perWorker} create+delete, local directory, ${repeats} times`,
      `${spread(rates, 0, " calls/s")}; p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
      ">= 500 calls/s (issue 16)",
    ],
    ["  errors", String(errors), "0"],
  ];
}

export async function csiScenarios(quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-csi-bench-"));
  mkdirSync(join(dir, "pool1"));
  const socket = join(dir, "csi.sock");
  const child = spawn(
    process.execPath,
    [BIN, "--endpoint", `unix://${socket}`, "--node-id", "n1", "--role", "provisioner", "--pool-dir", `pool1=${join(dir, "pool1")}`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await new Promise<void>((resolve) => child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("serving on") && resolve()));
    child.stdout!.resume();
    const client = csiClient(`unix://${socket}`);
    // Warm-up: a fresh process JIT-compiles its hot paths first; those cycles are not measured.
    for (let i = 0; i < 50; i += 1) await cycleWith(client, `pvc-warm-${i}`, {});
    client.close();
    await hashDirsReady(join(dir, "pool1"));
    return [
      ...(await floorRounds(socket, join(dir, "floor"), quick ? 3 : 7, quick ? 100 : 200)),
      ...(await concurrentRounds(socket, 32, 20, quick ? 2 : 5)),
      ...(await snapshotScenario(socket, "local directory", {}, hostExec, join(dir, "pool1"), [join(dir, "pool1", "snapshots")])),
    ];
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const execFileAsync = promisify(execFile);
type Exec = (command: string[]) => Promise<{ stdout: string }>;
export const hostExec: Exec = (command) => execFileAsync(command[0]!, command.slice(1), { maxBuffer: 16 * 1024 * 1024 });

const SNAPSHOT_FILES = 1000;
const SNAPSHOT_FILE_BYTES = 256 * 1024;

/** Bytes allocated under `paths` (du: blocks, so shared reflink extents count once per file, holes not at all). */
async function allocated(paths: string[]): Promise<number> {
  let total = 0;
  for (const path of paths) total += Number((await hostExec(["du", "-s", "-B1", path]).catch(() => ({ stdout: "0" }))).stdout.split(/\s/)[0] ?? 0);
  return total;
}

/**
 * A snapshot of a 1 GiB PV holding 1000 files (256 KiB each), a clone from it, and `cp -a` of the same
 * tree through the pool's mount beside them. `exec` runs where the pool is mounted at `mountRoot`;
 * `shelves` are where the snapshot's bytes land (the pool root, or every brick's snapshots/).
 */
export async function snapshotScenario(
  socket: string,
  label: string,
  parameters: Record<string, string>,
  exec: Exec,
  mountRoot: string,
  shelves: string[],
): Promise<Row[]> {
  const client = csiClient(`unix://${socket}`);
  try {
    const { volume } = await client.controller("CreateVolume", {
      name: "pvc-snap-bench",
      capacity_range: { required_bytes: 1024 ** 3 },
      volume_capabilities: CAPS,
      parameters,
    });
    const pv = join(mountRoot, volume.volume_context.path);
    await exec([
      "sh",
      "-c",
      `cd "$1" && i=0; while [ $i -lt ${SNAPSHOT_FILES} ]; do head -c ${SNAPSHOT_FILE_BYTES} /dev/urandom > f$i; i=$((i+1)); done`,
      "fill",
      pv,
    ]);
    const mib = (SNAPSHOT_FILES * SNAPSHOT_FILE_BYTES) / 1024 ** 2;
    const before = await allocated(shelves);
    const snapshotMs = await timed(() => client.controller("CreateSnapshot", { name: "snap-bench", source_volume_id: "pvc-snap-bench" }));
    const extra = (await allocated(shelves)) - before;
    const cloneMs = await timed(() =>
      client.controller("CreateVolume", {
        name: "pvc-clone-bench",
        capacity_range: { required_bytes: 1024 ** 3 },
        volume_capabilities: CAPS,
        parameters,
        volume_content_source: { snapshot: { snapshot_id: `${volume.volume_context.hostvol}/snap-bench` } },
      }),
    );
    const cpMs = await timed(() => exec(["cp", "-a", pv, `${pv}-cp-bench`]));
    await exec(["rm", "-rf", `${pv}-cp-bench`]);
    await client.controller("DeleteVolume", { volume_id: "pvc-clone-bench" });
    await client.controller("DeleteSnapshot", { snapshot_id: `${volume.volume_context.hostvol}/snap-bench` });
    await client.controller("DeleteVolume", { volume_id: "pvc-snap-bench" });
    const rate = (ms: number): string => `${(mib / (ms / 1000)).toFixed(0)} MiB/s`;
    return [
      [
        `CreateSnapshot of a 1 GiB PV holding ${SNAPSHOT_FILES} files (${mib} MiB), ${label}`,
        `${(snapshotMs / 1000).toFixed(2)} s, ${rate(snapshotMs)}`,
        "< 2 s on reflink bricks (issue 39)",
      ],
      ["  extra bytes it took (all bricks)", `${(extra / 1024 ** 2).toFixed(1)} MiB`, "< 5 MiB per brick on reflink bricks (issue 39)"],
      ["  CreateVolume from that snapshot", `${(cloneMs / 1000).toFixed(2)} s, ${rate(cloneMs)}`, "-"],
      ["  cp -a of the same tree through the mount", `${(cpMs / 1000).toFixed(2)} s, ${rate(cpMs)}`, "-"],
    ];
  } finally {
    client.close();
  }
}

const PARTS = ["bricks", "FUSE client", "driver"] as const;

/** CPU ticks (user + system) used so far by this host's bricks, Gluster FUSE clients and CSI drivers. */
function cpuByPart(): Map<string, number> {
  const used = new Map<string, number>();
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const part = command.includes("glusterfsd")
        ? "bricks"
        : command.includes("fuse\0")
          ? "FUSE client"
          : command.includes("bin/kadalu-csi")
            ? "driver"
            : undefined;
      if (!part) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      used.set(part, (used.get(part) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return used;
}

/**
 * The durability floor on the Gluster volume itself, mounted here by Debian's FUSE client with the
 * provisioner's write-behind setting (the driver's own mount lives in its mount namespace).
 */
async function glusterFloor(dir: string): Promise<Row[]> {
  const { execFileSync } = await import("node:child_process");
  const { BRICK_ADDRESS } = await import("../harness/real/gluster.js");
  const { mounted } = await import("../csi/os/mount-table.js");
  const { provisionerWriteBehind } = await import("../csi/os/mounter.js");
  const { waitUntil } = await import("../harness/real/processes.js");
  const mnt = join(dir, "floor-mnt");
  mkdirSync(mnt);
  execFileSync("glusterfs", [
    "--process-name",
    "fuse",
    "-l",
    join(dir, "floor-client.log"),
    "--volfile-id",
    "pool1",
    provisionerWriteBehind("pool1"),
    "--volfile-server",
    BRICK_ADDRESS,
    mnt,
  ]);
  try {
    await waitUntil("the floor's Gluster mount", () => mounted(mnt) || undefined, 30_000);
    return await durabilityFloor(join(mnt, "floor"), " on real GlusterFS");
  } finally {
    if (mounted(mnt)) execFileSync("umount", ["-l", mnt]);
  }
}

/**
 * What one CreateVolume and one DeleteVolume cost the bricks: Gluster's own profile of the volume
 * (every FOP each brick served, AFR's locks and changelog xattrops included), per call and per brick.
 */
async function brickOperations(socket: string, gluster: Glusterd, bricks: number): Promise<Row[]> {
  const client = csiClient(`unix://${socket}`);
  const calls = 50;
  const perCall = async (work: (i: number) => Promise<unknown>): Promise<string> => {
    const counts = await gluster.profile("pool1", async () => {
      for (let i = 0; i < calls; i += 1) await work(i);
    });
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const top = [...counts.entries()]
      .filter(([fop]) => !["RELEASE", "RELEASEDIR", "FORGET"].includes(fop))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);
    return `${(total / calls / bricks).toFixed(1)} per brick (${top.map(([fop, n]) => `${fop} ${(n / calls / bricks).toFixed(1)}`).join(", ")})`;
  };
  try {
    const create = await perCall((i) =>
      client.controller("CreateVolume", {
        name: `pvc-ops-${i}`,
        capacity_range: { required_bytes: 1024 ** 2 },
        volume_capabilities: CAPS,
        parameters: { storage_name: "pool1" },
      }),
    );
    const remove = await perCall((i) => client.controller("DeleteVolume", { volume_id: `pvc-ops-${i}` }));
    return [
      [`  brick FOPs per CreateVolume (gluster volume profile, ${calls} calls)`, create, "-"],
      [`  brick FOPs per DeleteVolume (gluster volume profile, ${calls} calls)`, remove, "-"],
    ];
  } finally {
    client.close();
  }
}

/**
 * The same on a real GlusterFS Replica3 volume (three bricks on this host, FUSE-mounted by the driver's
 * own GlusterMounter in a mount namespace of its own), where the real tier's parts are here.
 */
export async function glusterCsiScenarios(): Promise<Row[]> {
  const { glusterParts } = await import("../harness/real/components.js");
  const parts = glusterParts();
  if (typeof parts === "string") return [["CSI on real GlusterFS", `skipped: ${parts}`, "-"]];
  const { startGlusterCsi } = await import("../harness/real/gluster-csi.js");
  const dir = mkdtempSync(join(tmpdir(), "kadalu-csi-bench-gluster-"));
  const pool = await startGlusterCsi(parts, dir);
  try {
    const before = cpuByPart();
    const rows = await measure(
      pool.socket,
      "real GlusterFS Replica3",
      { warmup: 20, sequential: 200, workers: 32, perWorker: 5 },
      { storage_name: "pool1" },
      ["p50 <= 25 ms, p99 <= 60 ms (issue 21)", "p50 <= 20 ms (issue 21)", ">= 100 calls/s (issue 21)"],
      pool.bricks[0]!,
    );
    const used = cpuByPart();
    const ticks = PARTS.map((part) => (used.get(part) ?? 0) - (before.get(part) ?? 0));
    const total = ticks.reduce((a, b) => a + b, 0) || 1;
    return [
      ...rows,
      ["  CPU those calls took on this host, by process", PARTS.map((part, index) => `${part} ${Math.round((ticks[index]! * 100) / total)}%`).join(", "), "-"],
      ...(await brickOperations(pool.socket, pool.gluster, pool.bricks.length)),
      ...(await snapshotScenario(
        pool.socket,
        "real GlusterFS Replica3 (full copy: FUSE has no reflink)",
        { storage_name: "pool1" },
        (command) => pool.csi.exec(command),
        "/mnt/pool1",
        pool.bricks.map((brick) => join(brick, "snapshots")),
      )),
      ...(await glusterFloor(dir)),
    ];
  } finally {
    await pool.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
