/**
 * The kadalu-server image's entrypoint run as a brick pod runs, without a container runtime: chrooted
 * into the image's root filesystem, in mount, PID and network namespaces of its own (so port 24007 is
 * this namespace's, never the host's glusterd's), its loopback up. Commands run beside it with nsenter:
 * the image's own tools (chroot) or the host's (df, dd) on the same mounts.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import type { UnpackedImage } from "../../images/oci.js";
import { waitUntil, type Processes, type Started } from "../real/processes.js";

const run = promisify(execFile);

// A constant script: the root arrives as an argument.
const ENTER = [
  "root=$1; shift",
  "ip link set lo up || exit 1",
  'mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" || exit 1',
  'exec chroot "$root" "$@"',
].join("\n");

/** `unshare` and its arguments: the image's entrypoint in namespaces of its own, the pod's /dev and /proc. */
export function brickCommand(image: UnpackedImage): string[] {
  return [
    "--mount",
    "--net",
    "--pid",
    "--fork",
    "--propagation",
    "private",
    "--kill-child=SIGTERM",
    "--",
    "sh",
    "-c",
    ENTER,
    "kadalu-brick",
    image.root,
    ...image.config.entrypoint,
  ];
}

export class BrickNamespace {
  private constructor(
    readonly image: UnpackedImage,
    readonly process: Started,
    readonly pid: number,
  ) {}

  /** Starts the image's entrypoint with `env` (the brick pod's environment) and waits for its port to answer. */
  static async start(processes: Processes, name: string, image: UnpackedImage, env: Record<string, string>): Promise<BrickNamespace> {
    const started = processes.start(name, "unshare", brickCommand(image), { ...image.config.env, ...env });
    const parent = started.child.pid!;
    const pid = await waitUntil(
      `the entrypoint of ${name} to start\n${started.tail()}`,
      () => {
        const child = Number(readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(" ")[0]);
        return child && readFileSync(`/proc/${child}/cmdline`, "utf8").startsWith(image.config.entrypoint[0]!) ? child : undefined;
      },
      10_000,
      50,
    );
    const brick = new BrickNamespace(image, started, pid);
    await waitUntil(
      `${name}'s brick port 24007 to answer\n${started.tail(30)}`,
      async () => {
        if (started.child.exitCode !== null) throw new Error(`${name} exited with ${started.child.exitCode}`);
        return (await brick.portAnswers()) || undefined;
      },
      30_000,
      200,
    );
    return brick;
  }

  /** The brick port answers inside the namespace (what the pod's readiness probe asks). */
  async portAnswers(): Promise<boolean> {
    const probe = "require('net').connect(24007, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))";
    return run("nsenter", [`--net=/proc/${this.pid}/ns/net`, "--", process.execPath, "-e", probe]).then(
      () => true,
      () => false,
    );
  }

  /** Host PIDs of the entrypoint's children whose command line starts with `command`. */
  children(command: string): number[] {
    return readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, "utf8")
      .trim()
      .split(" ")
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === command;
        } catch {
          return false;
        }
      });
  }

  /** A path inside the image as seen from the host, through the brick process's root (its mounts included). */
  path(inside: string): string {
    return `/proc/${this.pid}/root${inside}`;
  }

  /** A host command in the brick's namespaces; `inside` paths are the image root's. */
  async host(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("nsenter", [`--target=${this.pid}`, "--mount", "--net", "--pid", "--", command, ...args], { timeout: 60_000 });
  }

  /** A command of the image, in the brick's namespaces, chrooted into the image. */
  async inImage(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    return this.host("chroot", [this.image.root, command, ...args]);
  }

  private stopped: Promise<number | null> | undefined;

  /** SIGTERM to the entrypoint (it stops glusterfsd); its namespace and mounts go with it. Once only. */
  stop(processes: Processes): Promise<number | null> {
    // Processes.stop of a process it no longer lists would drop another one from its list.
    this.stopped ??= this.terminate(processes);
    return this.stopped;
  }

  private async terminate(processes: Processes): Promise<number | null> {
    try {
      process.kill(this.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    const code = await Promise.race([this.process.exited, new Promise<"late">((resolve) => setTimeout(() => resolve("late"), 15_000))]);
    await processes.stop(this.process);
    return code === "late" ? null : code;
  }
}
