/**
 * A grown pool's mounted clients told to fetch the new volfile: a stand-in for the glusterfs FUSE client
 * (a real process named glusterfs whose last argument is the mountpoint) shows its running graph under
 * `<mount>/.meta/graphs/active/volfile` and, on SIGHUP, the volfile "served" now (what a brick's
 * volspec-directory holds). The volfiles are the server's own volgen output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildNativeInfo, encodeInfo, type NativePoolInfo } from "../../../src/core/info/codec.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";
import { poolVolfiles } from "../../../server/pool-volfiles.js";
import { clientProcessOf } from "../../../csi/os/client-process.js";
import { activeVolfile, poolBricks, volfileBricks, VolfileReloader } from "../../../csi/jobs/volfile-reload.js";
import { startCsi, type RunningCsi } from "../../../csi/main.js";
import { waitUntil } from "../../../harness/real/processes.js";

/** The stand-in client: shows `served` as its graph at start and again on each SIGHUP, counting them. */
const CLIENT = [
  `const fs = require("node:fs"); const path = require("node:path");`,
  `const mount = process.argv.at(-1); const meta = path.join(mount, ".meta", "graphs", "active");`,
  `const load = () => { fs.mkdirSync(meta, { recursive: true }); fs.writeFileSync(path.join(meta, "next"), fs.readFileSync(process.env.SERVED)); fs.renameSync(path.join(meta, "next"), path.join(meta, "volfile")); };`,
  `load(); process.on("SIGHUP", () => { fs.appendFileSync(process.env.HUPS, "hup\\n"); load(); }); setInterval(() => {}, 1 << 30);`,
].join(" ");

let dir: string;
let clients: ChildProcess[];
let logs: string[];
const log = (line: string): void => void logs.push(line);

function info(units: number): NativePoolInfo {
  const storage = Array.from({ length: units }, (_, index) => ({ node: "kube1", path: `/data/pool1-${index}` }));
  const pool: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool1" },
    spec: { type: "Replica1", storage },
  };
  return buildNativeInfo(pool, { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "00000000-0000-4000-8000-000000000001" });
}

/** The client volfile brick 0 of the pool would serve, from the server's volgen. */
function clientVolfile(pool: NativePoolInfo): string {
  const brick = pool.bricks[0]!;
  const identity = {
    pool: pool.volname,
    volumeId: pool.volume_id,
    brickPath: brick.brick_path,
    brickIndex: 0,
    nodeId: brick.node_id,
    nodeName: brick.kube_hostname,
  };
  return poolVolfiles(pool, identity).files[`${pool.volname}.vol`]!;
}

const served = (): string => join(dir, "served.vol");
const serve = (pool: NativePoolInfo): void => writeFileSync(served(), clientVolfile(pool));
const hups = (): number => (existsSync(join(dir, "hups")) ? readFileSync(join(dir, "hups"), "utf8").split("\n").filter(Boolean).length : 0);

/** Starts the stand-in client for `mountpoint`, with the arguments before it as given. */
async function startClient(
  mountpoint: string,
  args = ["--process-name", "fuse", "--volfile-id", "pool1", "--volfile-server", "server-pool1-0-0.pool1"],
): Promise<ChildProcess> {
  mkdirSync(mountpoint, { recursive: true });
  const child = spawn(process.execPath, ["-e", CLIENT, "--", ...args, mountpoint], {
    argv0: "glusterfs",
    env: { ...process.env, SERVED: served(), HUPS: join(dir, "hups") },
    stdio: "ignore",
  });
  clients.push(child);
  await waitUntil("the stand-in client's graph", async () => existsSync(activeVolfile(mountpoint)) || undefined, 10_000, 20);
  return child;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-reload-"));
  clients = [];
  logs = [];
});
afterEach(async () => {
  for (const child of clients) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const closed = new Promise((resolve) => child.once("close", resolve));
    child.kill("SIGKILL");
    await closed;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("the client of a mount", () => {
  it("is found by its mountpoint, and says whether it fetches its volfile from a server", async () => {
    serve(info(1));
    const fetching = await startClient(join(dir, "mnt", "pool1"));
    const local = await startClient(join(dir, "mnt", "pool2"), ["--process-name", "fuse", "-f", "/etc/pool2.vol"]);
    expect(clientProcessOf(join(dir, "mnt", "pool1"))).toMatchObject({ pid: fetching.pid, refetches: true });
    expect(clientProcessOf(join(dir, "mnt", "pool2"))).toMatchObject({ pid: local.pid, refetches: false });
    expect(clientProcessOf(join(dir, "mnt"))).toBeUndefined();
  });
});

describe("VolfileReloader", () => {
  it("reads the bricks of the server's client volfile as kadalu-info names them", () => {
    expect(volfileBricks(clientVolfile(info(2)))).toEqual(poolBricks(info(2)));
    expect(poolBricks(info(2))).toHaveLength(2);
  });

  it("signals the client until its graph has the new brick, the brick's volfile changing only later", async () => {
    serve(info(1));
    const mountpoint = join(dir, "mnt", "pool1");
    await startClient(mountpoint);
    const reloader = new VolfileReloader("pool1", mountpoint, poolBricks(info(2)), log, { intervalMs: 100, timeoutMs: 20_000 });
    const outcome = reloader.run();
    // The first SIGHUPs fetch the old volfile (the brick has not seen kadalu-info change yet).
    await waitUntil("two SIGHUPs", async () => hups() >= 2 || undefined, 10_000, 20);
    expect(volfileBricks(readFileSync(activeVolfile(mountpoint), "utf8"))).toHaveLength(1);
    serve(info(2));
    expect(await outcome).toBe("reloaded");
    expect(volfileBricks(readFileSync(activeVolfile(mountpoint), "utf8"))).toEqual(poolBricks(info(2)));
    expect(logs.join("\n")).toMatch(/pool pool1: the client at .* now uses all 2 bricks \(\d+ SIGHUP\)/);
  });

  it("leaves a client whose graph is current alone", async () => {
    serve(info(2));
    const mountpoint = join(dir, "mnt", "pool1");
    await startClient(mountpoint);
    expect(await new VolfileReloader("pool1", mountpoint, poolBricks(info(2)), log, { intervalMs: 100, timeoutMs: 5000 }).run()).toBe("current");
    expect(hups()).toBe(0);
    expect(logs).toEqual([]);
  });

  it("gives up at once on a client that has no volfile server to fetch from", async () => {
    serve(info(1));
    const mountpoint = join(dir, "mnt", "pool1");
    await startClient(mountpoint, ["--process-name", "fuse", "-f", "/etc/pool1.vol"]);
    expect(await new VolfileReloader("pool1", mountpoint, poolBricks(info(2)), log, { intervalMs: 100, timeoutMs: 5000 }).run()).toBe("gave-up");
    expect(hups()).toBe(0);
    expect(logs.join("\n")).toContain(`was started without --volfile-server and cannot fetch the new bricks ${poolBricks(info(2))[1]}`);
  });

  it("stops signalling when its time is up and says what the mount lacks", async () => {
    serve(info(1));
    const mountpoint = join(dir, "mnt", "pool1");
    await startClient(mountpoint);
    const t0 = Date.now();
    expect(await new VolfileReloader("pool1", mountpoint, poolBricks(info(2)), log, { intervalMs: 100, timeoutMs: 1000 }).run()).toBe("gave-up");
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(hups()).toBeGreaterThanOrEqual(3);
    expect(hups()).toBeLessThanOrEqual(11);
    expect(logs.at(-1)).toContain(`still runs without ${poolBricks(info(2))[1]} after 1 s`);
  });
});

describe.each(["provisioner", "nodeplugin"] as const)("the %s's driver", (role) => {
  let csi: RunningCsi | undefined;
  afterEach(async () => {
    await csi?.stop();
    csi = undefined;
  });

  it("tells a mounted pool's client to fetch the volfile once kadalu-info lists a new brick", async () => {
    mkdirSync(join(dir, "info"));
    writeFileSync(join(dir, "info", "pool1.info"), encodeInfo(info(1)));
    serve(info(1));
    const root = join(dir, "pools", "pool1");
    await startClient(root);
    csi = await startCsi(
      {
        endpoint: `unix://${join(dir, "csi.sock")}`,
        nodeId: "kube1",
        role,
        infoDir: join(dir, "info"),
        mountRoot: join(dir, "mnt"),
        poolDirs: new Map([["pool1", root]]),
        kubeletDir: join(dir, "kubelet"),
        statDbHoldMs: 0,
        quotaCrawlRate: 0,
        remountMs: 100,
        volfileReload: { intervalMs: 100, timeoutMs: 20_000 },
      },
      log,
    );
    // The nodeplugin mounts a pool for its first PV; the provisioner mounts every pool at start.
    await csi.driver.store(csi.driver.pool("pool1")!);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hups()).toBe(0);
    writeFileSync(join(dir, "info", "pool1.info"), encodeInfo(info(2)));
    await waitUntil("a SIGHUP", async () => hups() >= 1 || undefined, 10_000, 20);
    serve(info(2));
    await waitUntil("the client on both bricks", async () => logs.find((line) => line.includes("now uses all 2 bricks")), 10_000, 20);
    expect(volfileBricks(readFileSync(activeVolfile(root), "utf8"))).toEqual(poolBricks(info(2)));
  });
});
