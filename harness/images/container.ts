/**
 * An image's entrypoint run as a container runtime would run it, without one (podman cannot run here):
 * in a mount namespace of its own, chrooted into the image's root filesystem (unpacked from the image's
 * own layers), as the image's user, with the image's environment. /dev and /proc are the host's, the
 * brick hosts resolve through the image's /etc/hosts, and the given host directories are bound at the
 * same paths inside (sockets, kubelet directories, kubeconfigs), as a pod's hostPath volumes are.
 */
import { execFile, spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ExecHandler } from "../apiserver/exec.js";
import type { UnpackedImage } from "../../images/oci.js";
import type { Contained } from "../real/namespace.js";
import type { Processes } from "../real/processes.js";

const run = promisify(execFile);

// A constant script: every path and argument arrives as an argument, never inside the script text.
const ENTER = [
  "root=$1; user=$2; shift 2",
  'mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" || exit 1',
  'while [ "$1" != "--" ]; do mkdir -p "$root$1" && mount --rbind "$1" "$root$1" || exit 1; shift; done; shift',
  'exec chroot --userspec="$user" "$root" "$@"',
].join("\n");

export interface ImageRun {
  /** Brick host names to resolve, to their address. */
  hosts?: Record<string, string>;
  /** Host directories bound at the same path inside. */
  binds?: string[];
  /** Added to the image's environment (the host's is not passed). */
  env?: Record<string, string>;
  args: string[];
}

export function startInImage(processes: Processes, name: string, image: UnpackedImage, options: ImageRun): Contained {
  const hostsFile = join(image.root, "etc", "hosts");
  writeFileSync(hostsFile, ["127.0.0.1 localhost", ...Object.entries(options.hosts ?? {}).map(([host, address]) => `${address} ${host}`), ""].join("\n"));
  chmodSync(hostsFile, 0o644);
  const user = image.config.user || "0:0";
  const env = { ...image.config.env, ...options.env };
  const started = processes.start(
    name,
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      ENTER,
      "kadalu-image",
      image.root,
      user,
      ...(options.binds ?? []),
      "--",
      ...image.config.entrypoint,
      ...options.args,
    ],
    env,
  );
  const inside = (command: string[]): string[] => [`--mount=/proc/${started.child.pid}/ns/mnt`, "--", "chroot", image.root, ...command];
  return {
    process: started,
    mnt: join(image.root, "mnt"),
    async exec(command) {
      return run("nsenter", inside(command), { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    },
    execHandler(): ExecHandler {
      return (context) =>
        new Promise<number>((resolve) => {
          const child = spawn("nsenter", inside(context.command), { stdio: ["ignore", "pipe", "pipe"] });
          child.stdout.pipe(context.stdout, { end: false });
          child.stderr.pipe(context.stderr, { end: false });
          child.on("error", () => resolve(127));
          child.on("close", (code) => resolve(code ?? 1));
        });
    },
  };
}
