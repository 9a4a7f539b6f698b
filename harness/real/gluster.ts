/**
 * A real glusterd with a private working directory (the machine's /var/lib/glusterd is never touched),
 * Replica3 volumes of brick directories served by real glusterfsd processes on 127.0.0.2 (glusterd
 * refuses 127.0.0.1 bricks), and a teardown that stops every process and brick it started.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
// The management port is fixed: clients (upstream's mount command line) never name another.
import { GLUSTERD_PORT, portAnswers } from "../../csi/os/mounter.js";
import { join } from "node:path";
import { promisify } from "node:util";
import type { GlusterParts } from "./components.js";
import { Processes, waitUntil } from "./processes.js";

const run = promisify(execFile);

/** The loopback address bricks and clients use. */
export const BRICK_ADDRESS = "127.0.0.2";

/** PIDs of processes whose command line mentions `marker` (bricks and daemons glusterd forked). */
function processesMentioning(marker: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker) && Number(pid) !== process.pid ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

/** glfsheal lives in Gluster's library directory (Debian: /usr/lib/<triplet>/glusterfs). */
function glfsheal(): string {
  for (const lib of ["/usr/lib", "/usr/lib64", "/usr/libexec"]) {
    for (const dir of [lib, ...(existsSync(lib) ? readdirSync(lib).map((entry) => join(lib, entry)) : [])]) {
      const path = join(dir, "glusterfs", "glfsheal");
      if (existsSync(path)) return path;
    }
  }
  throw new Error("glfsheal not found (it comes with glusterfs-server)");
}

// A constant script: the directories arrive as arguments. Gluster's own directories are made if missing.
const OWN_LOGS = 'mkdir -p /var/log/glusterfs /run/gluster && mount --bind "$1" /var/log/glusterfs && mount --bind "$2" /run/gluster && shift 2 && exec "$@"';

export class Glusterd {
  private readonly processes: Processes;
  private cliLog: string | undefined;
  private readonly volumes: string[] = [];

  private constructor(
    readonly parts: GlusterParts,
    readonly dir: string,
    readonly brickAddress: string,
  ) {
    this.processes = new Processes(dir);
  }

  /**
   * Starts glusterd in `dir`; refuses when another glusterd holds the management port. With `ownLogs`,
   * glusterd runs in a mount namespace where Gluster's log and socket directories are `dir`'s, so the
   * bricks and the self-heal daemon it forks log there, not to the machine's /var/log/glusterfs. With
   * `netns` (a network namespace's path), glusterd runs in that namespace and its bricks listen on
   * `address`, an address of that namespace (the node tier's external server).
   */
  static async start(parts: GlusterParts, dir: string, options: { ownLogs?: boolean; netns?: string; address?: string } = {}): Promise<Glusterd> {
    const address = options.address ?? BRICK_ADDRESS;
    const probe = options.netns ? address : "127.0.0.1";
    if (await portAnswers(probe, GLUSTERD_PORT, 1000))
      throw new Error(`port ${GLUSTERD_PORT} is taken: another glusterd (or a GlusterFS sandbox) runs on this machine; stop it first`);
    const gluster = new Glusterd(parts, dir, address);
    for (const sub of ["glusterd", "run", "log", "bricks"]) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(
      join(dir, "glusterd.vol"),
      [
        "volume management",
        "    type mgmt/glusterd",
        `    option working-directory ${join(dir, "glusterd")}`,
        `    option run-directory ${join(dir, "run")}`,
        `    option glusterd-sockfile ${gluster.socket}`,
        "    option transport-type socket",
        `    option transport.socket.listen-port ${GLUSTERD_PORT}`,
        "    option ping-timeout 0",
        "    option event-threads 1",
        "    option max-port 60999",
        "end-volume",
        "",
      ].join("\n"),
    );
    const args = ["-N", "-f", join(dir, "glusterd.vol"), "-l", join(dir, "log", "glusterd.log"), "-p", join(dir, "run", "glusterd.pid")];
    gluster.cliLog = options.ownLogs ? join(dir, "log", "cli.log") : undefined;
    const command = options.ownLogs
      ? [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          "--",
          "sh",
          "-c",
          OWN_LOGS,
          "glusterd-ns",
          join(dir, "log"),
          join(dir, "run"),
          parts.glusterd,
          ...args,
        ]
      : [parts.glusterd, ...args];
    const [program, ...rest] = options.netns ? ["nsenter", `--net=${options.netns}`, "--", ...command] : command;
    const daemon = gluster.processes.start("glusterd", program!, rest);
    try {
      await waitUntil(
        `glusterd to answer on ${GLUSTERD_PORT}\n${daemon.tail()}`,
        async () => (await portAnswers(probe, GLUSTERD_PORT, 1000)) || undefined,
        30_000,
        100,
      );
      await waitUntil("glusterd's CLI socket", () => gluster.cli(["volume", "list"]).then(() => true), 30_000, 200);
    } catch (error) {
      await gluster.stop();
      throw error;
    }
    return gluster;
  }

  get socket(): string {
    return join(this.dir, "run", "glusterd.socket");
  }

  async cli(args: string[]): Promise<string> {
    const log = this.cliLog ? [`--log-file=${this.cliLog}`] : [];
    const { stdout } = await run(this.parts.gluster, [`--glusterd-sock=${this.socket}`, "--mode=script", ...log, ...args], { timeout: 60_000 });
    return stdout;
  }

  /**
   * The heal report of a volume from glfsheal, the program upstream's server image runs for
   * `heal-info.sh` (there from a volfile, here from this glusterd's socket): `gluster volume heal info`
   * would ask glfsheal to reach glusterd on the machine's default socket, which this one does not use.
   */
  async healInfo(volume: string): Promise<string> {
    const { stdout } = await run(glfsheal(), [volume, "glusterd-sock", this.socket], { timeout: 60_000 });
    return stdout;
  }

  /**
   * The FOPs the bricks of `volume` served while `work` ran, by name, summed over the bricks (Gluster's own
   * profile: AFR's locks and changelog xattrops included).
   */
  async profile(volume: string, work: () => Promise<unknown>): Promise<Map<string, number>> {
    await this.cli(["volume", "profile", volume, "start"]).catch(() => undefined);
    try {
      await this.cli(["volume", "profile", volume, "info", "clear"]);
      await work();
      return parseProfile(await this.cli(["volume", "profile", volume, "info", "cumulative"]));
    } finally {
      await this.cli(["volume", "profile", volume, "stop"]).catch(() => undefined);
    }
  }

  /** A started Replica3 volume `name` (the pool's name, as the client's --volfile-id asks); returns the brick directories. */
  async createReplica3(name: string): Promise<string[]> {
    return this.createVolume(name, 3, 3);
  }

  /** A started volume of `count` bricks, replicated `replica` ways (1: distributed). */
  async createVolume(name: string, count: number, replica: number): Promise<string[]> {
    const bricks = Array.from({ length: count }, (_, index) => join(this.dir, "bricks", name, String(index)));
    for (const brick of bricks) mkdirSync(brick, { recursive: true });
    await this.cli([
      "volume",
      "create",
      name,
      ...(replica > 1 ? ["replica", String(replica)] : []),
      ...bricks.map((brick) => `${this.brickAddress}:${brick}`),
      "force",
    ]);
    this.volumes.push(name);
    await this.cli(["volume", "start", name]);
    return bricks;
  }

  /** A started Disperse volume of `count` bricks, `redundancy` of them for redundancy; returns the brick directories. */
  async createDisperse(name: string, count: number, redundancy: number): Promise<string[]> {
    const bricks = Array.from({ length: count }, (_, index) => join(this.dir, "bricks", name, String(index)));
    for (const brick of bricks) mkdirSync(brick, { recursive: true });
    await this.cli([
      "volume",
      "create",
      name,
      "disperse",
      String(count),
      "redundancy",
      String(redundancy),
      ...bricks.map((brick) => `${this.brickAddress}:${brick}`),
      "force",
    ]);
    this.volumes.push(name);
    await this.cli(["volume", "start", name]);
    return bricks;
  }

  /** Stops and deletes a volume this glusterd made; its brick directories stay. */
  async deleteVolume(name: string): Promise<void> {
    await this.cli(["volume", "stop", name, "force"]);
    await this.cli(["volume", "delete", name]);
    this.volumes.splice(this.volumes.indexOf(name), 1);
  }

  /** The PIDs of the glusterfsd serving `brick` (a directory createVolume returned). */
  brickPids(brick: string): number[] {
    return processesMentioning(brick).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "glusterfsd";
      } catch {
        return false;
      }
    });
  }

  async stop(): Promise<void> {
    for (const volume of this.volumes.splice(0)) await this.cli(["volume", "stop", volume, "force"]).catch(() => undefined);
    await this.processes.stopAll();
    // glusterfsd bricks and the self-heal daemon outlive glusterd: they carry our directory in their arguments.
    const leftovers = processesMentioning(this.dir);
    for (const pid of leftovers) process.kill(pid, "SIGKILL");
    await waitUntil("Gluster's processes to exit", () => processesMentioning(this.dir).length === 0 || undefined, 10_000, 100);
  }
}

/** `gluster volume profile ... info cumulative`: calls per FOP, summed over the bricks. */
function parseProfile(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  let cumulative = false;
  for (const line of text.split("\n")) {
    if (/^Cumulative Stats:/.test(line.trim())) cumulative = true;
    else if (/^Interval \d+ Stats:/.test(line.trim())) cumulative = false;
    const row = cumulative && line.match(/^\s*[\d.]+\s+[\d.]+ [nu]s\s+[\d.]+ [nu]s\s+[\d.]+ [nu]s\s+(\d+)\s+([A-Z_]+)\s*$/);
    if (row) counts.set(row[2]!, (counts.get(row[2]!) ?? 0) + Number(row[1]));
  }
  return counts;
}
