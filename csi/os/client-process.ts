/**
 * The glusterfs FUSE client serving a mount, found by its command line: the client daemonizes, so the
 * process that mounted is not its parent. Our mounts end with the mountpoint (glusterMountArgs).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface ClientProcess {
  pid: number;
  args: string[];
  /** Whether it was started with --volfile-server: only then does SIGHUP make it fetch its volfile again. */
  refetches: boolean;
}

const CLIENT_NAMES = new Set(["glusterfs", "glusterfsd"]);

/** The arguments of process `pid` (its NUL-separated cmdline), or undefined once it is gone. */
function commandLine(proc: string, pid: string): string[] | undefined {
  try {
    const text = readFileSync(join(proc, pid, "cmdline"), "utf8");
    return text.split("\0").filter((arg, index, all) => arg !== "" || index < all.length - 1);
  } catch {
    return undefined;
  }
}

/** The glusterfs client whose last argument is `mountpoint`, from `proc` (the container's /proc by default). */
export function clientProcessOf(mountpoint: string, proc = "/proc"): ClientProcess | undefined {
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = commandLine(proc, entry);
    if (!args || args.length < 2 || !CLIENT_NAMES.has(basename(args[0]!)) || args.at(-1) !== mountpoint) continue;
    const refetches = args.some((arg) => arg === "--volfile-server" || arg === "-s" || arg.startsWith("--volfile-server="));
    return { pid: Number(entry), args, refetches };
  }
  return undefined;
}
