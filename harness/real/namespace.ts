/**
 * A process in a mount namespace of its own, as a container has: a hosts file bound over /etc/hosts (so
 * the brick hosts `kadalu-info` names resolve, without editing the machine's file), and directories of
 * the test bound over /mnt and /var/log. Mounts made inside stay inside; `nsenter` runs commands there,
 * as `kubectl exec` runs them in a container.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ExecHandler } from "../apiserver/exec.js";
import type { Processes, Started } from "./processes.js";
import { spawn } from "node:child_process";

const run = promisify(execFile);

// A constant script: the paths arrive as arguments, never inside the script text.
const ENTER = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /mnt && mount --bind "$3" /var/log && mkdir -p /var/log/gluster && shift 3 && exec "$@"';

export interface Contained {
  process: Started;
  /** The namespace's /mnt, as the host sees its directory (mounts made inside are not visible here). */
  mnt: string;
  /** Runs a command inside the namespace. */
  exec(command: string[]): Promise<{ stdout: string; stderr: string }>;
  /** An exec handler for the node agent: `kubectl exec` into this "container". */
  execHandler(programs?: Record<string, string[]>): ExecHandler;
}

export function startContained(
  processes: Processes,
  name: string,
  dir: string,
  hosts: Record<string, string>,
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Contained {
  const root = join(dir, name);
  for (const sub of ["mnt", "log"]) mkdirSync(join(root, sub), { recursive: true });
  const hostsFile = join(root, "hosts");
  writeFileSync(hostsFile, ["127.0.0.1 localhost", ...Object.entries(hosts).map(([host, address]) => `${address} ${host}`), ""].join("\n"));
  const started = processes.start(
    name,
    "unshare",
    ["--mount", "--propagation", "private", "--", "sh", "-c", ENTER, "kadalu-ns", hostsFile, join(root, "mnt"), join(root, "log"), command, ...args],
    env,
  );
  const nsenter = (command: string[]): string[] => [`--mount=/proc/${started.child.pid}/ns/mnt`, "--", ...command];
  return {
    process: started,
    mnt: join(root, "mnt"),
    async exec(command) {
      return run("nsenter", nsenter(command), { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    },
    execHandler(programs = {}) {
      return (context) =>
        new Promise<number>((resolve) => {
          const stand = Object.entries(programs).find(([prefix]) => context.command.join(" ").startsWith(prefix));
          const command = stand ? [...stand[1], ...context.command.slice(stand[0].split(" ").length)] : context.command;
          const child = spawn("nsenter", nsenter(command), { stdio: [context.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
          if (context.stdin && child.stdin) context.stdin.pipe(child.stdin);
          child.stdout!.pipe(context.stdout, { end: false });
          child.stderr!.pipe(context.stderr, { end: false });
          child.on("error", (error) => {
            context.stderr.write(`exec: ${error.message}\n`);
            resolve(127);
          });
          child.on("close", (code) => resolve(code ?? 1));
        });
    },
  };
}
