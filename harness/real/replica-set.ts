/**
 * A Replica3 pool as the server image runs it, on this host's GlusterFS and without glusterd: three
 * glusterfsd bricks and one self-heal daemon started with server/main.ts's arguments on volfiles from
 * server/volgen (bricks on 127.0.0.1, each on a port of its own), and FUSE mounts of its client volfile.
 * All three bricks are local to the one daemon (it tells its own bricks by their host name), as each pod's
 * daemon is to its pod's brick. The host's GlusterFS may lack simple-quota (10.3 has none): the brick
 * volfile then goes without it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { prepareBrickDir } from "../../server/brick-dir.js";
import { clientVolfile, shdVolfile, storageUnitVolfile, type VolgenVolume } from "../../server/volgen.js";
import { Processes, waitUntil, type Started } from "./processes.js";

const VOLUME_ID = "5b0e4f56-0d4f-4a5e-9d8e-6c1c2a7e9b31";
const HOST = "127.0.0.1";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const hasSimpleQuota = (): boolean => {
  const version = execFileSync("glusterfs", ["--version"], { encoding: "utf8" }).match(/glusterfs (\S+)/)?.[1] ?? "";
  return existsSync(`/usr/lib/x86_64-linux-gnu/glusterfs/${version}/xlator/features/simple-quota.so`);
};

/** The brick volfile without the simple-quota translator, its child taking its place. */
function withoutSimpleQuota(volfile: string, pool: string): string {
  return volfile
    .replace(new RegExp(`volume ${pool}-simple-quota\\n[\\s\\S]*?end-volume\\n\\n?`), "")
    .replace(`subvolumes ${pool}-simple-quota`, `subvolumes ${pool}-locks`);
}

export class ReplicaSet {
  readonly bricks: string[];
  readonly shdSocket: string;
  readonly volfilesDir: string;
  private readonly processes: Processes;
  private readonly brickProcesses: (Started | undefined)[] = [];
  private readonly mounts: string[] = [];
  private shd: Started | undefined;

  private constructor(
    readonly dir: string,
    readonly pool: string,
    private readonly ports: number[],
  ) {
    this.bricks = ports.map((_, index) => join(dir, `brick${index}`));
    this.shdSocket = join(dir, "shd.socket");
    this.volfilesDir = join(dir, "volfiles");
    this.processes = new Processes(dir);
  }

  static async start(dir: string, pool = "healpool"): Promise<ReplicaSet> {
    const set = new ReplicaSet(dir, pool, [await freePort(), await freePort(), await freePort()]);
    mkdirSync(set.volfilesDir, { recursive: true });
    const volume: VolgenVolume = {
      name: pool,
      id: VOLUME_ID,
      distribute_groups: [
        { replica_count: 3, storage_units: set.bricks.map((path, index) => ({ path, port: set.ports[index], node: { name: HOST, id: `node-${index}` } })) },
      ],
    };
    writeFileSync(join(set.volfilesDir, `${pool}.vol`), `${clientVolfile(volume)}\n`);
    writeFileSync(join(set.volfilesDir, "glustershd.vol"), `${shdVolfile(volume)}\n`);
    for (const index of [0, 1, 2]) set.startBrick(index);
    set.shd = set.processes.start("shd", "glusterfs", [
      "-N",
      "--volfile-id",
      "gluster/glustershd",
      "-p",
      join(dir, "glustershd.pid"),
      "-S",
      set.shdSocket,
      "-l",
      "-",
      "--xlator-option",
      "*replicate*.node-uuid=node-0",
      "-f",
      join(set.volfilesDir, "glustershd.vol"),
    ]);
    await waitUntil(`the self-heal daemon connected to the 3 bricks\n${set.shd.tail()}`, () => set.connected(3) || undefined, 30_000, 200);
    return set;
  }

  /** How many bricks the self-heal daemon has connected to since it last lost one (from its log). */
  private connected(count: number): boolean {
    const log = readFileSync(this.shd!.log, "utf8");
    const since = log.lastIndexOf("disconnected from");
    return (log.slice(since === -1 ? 0 : since).match(/Connected, attached to remote volume/g) ?? []).length >= count;
  }

  private startBrick(index: number): void {
    const path = this.bricks[index]!;
    prepareBrickDir(path, this.pool, VOLUME_ID);
    const unit = storageUnitVolfile({ path, port: this.ports[index], volume: { name: this.pool, id: VOLUME_ID } });
    const volfile = join(this.volfilesDir, `brick${index}.vol`);
    writeFileSync(volfile, `${hasSimpleQuota() ? unit : withoutSimpleQuota(unit, this.pool)}\n`);
    this.brickProcesses[index] = this.processes.start(`brick${index}`, "glusterfsd", [
      "-N",
      "--volfile-id",
      `${this.pool}.brick${index}`,
      "-p",
      join(this.dir, `brick${index}.pid`),
      "-S",
      join(this.dir, `brick${index}.socket`),
      "--brick-name",
      path,
      "-l",
      "-",
      "--xlator-option",
      `*-posix.glusterd-uuid=node-${index}`,
      "--brick-port",
      String(this.ports[index]),
      "--xlator-option",
      `${this.pool}-server.listen-port=${this.ports[index]}`,
      "-f",
      volfile,
    ]);
  }

  /** Brick `index` replaced by an empty one at the same place, as a brick pod restarted on a new unit; back once the daemon reconnects. */
  async replaceBrick(index: number): Promise<void> {
    await this.processes.stop(this.brickProcesses[index]!);
    await waitUntil("the self-heal daemon saw the brick go", () => readFileSync(this.shd!.log, "utf8").includes("disconnected from") || undefined, 30_000, 200);
    rmSync(this.bricks[index]!, { recursive: true, force: true });
    this.startBrick(index);
    await waitUntil(`the self-heal daemon connected to the new brick\n${this.shd!.tail()}`, () => this.connected(1) || undefined, 30_000, 200);
  }

  /** Mounts the pool (as `clientPid` when given) on a new directory; unmounted by `stop`. */
  async mount(name: string, clientPid?: string): Promise<string> {
    const mountPoint = join(this.dir, name);
    mkdirSync(mountPoint, { recursive: true });
    const volfile = join(this.volfilesDir, `${this.pool}.vol`);
    execFileSync("glusterfs", [
      "--process-name",
      "fuse",
      ...(clientPid ? [`--client-pid=${clientPid}`] : []),
      `--volfile=${volfile}`,
      `--volfile-id=${this.pool}`,
      "-l",
      join(this.dir, `${name}.log`),
      mountPoint,
    ]);
    this.mounts.push(mountPoint);
    // The mount answers once the replicate translator has its bricks: a first write before that fails with ENOTCONN.
    await waitUntil(`${name} mounted`, () => readFileSync(join(this.dir, `${name}.log`), "utf8").includes("Client-quorum is met") || undefined, 30_000, 100);
    return mountPoint;
  }

  unmount(mountPoint: string): void {
    execFileSync("umount", [mountPoint]);
    this.mounts.splice(this.mounts.indexOf(mountPoint), 1);
  }

  async stop(): Promise<void> {
    for (const mountPoint of this.mounts.splice(0)) execFileSync("umount", ["-l", mountPoint]);
    await this.processes.stopAll();
  }
}
