/**
 * Bench scenarios on the real tier use global resources (glusterd's port, fixed host paths): each runs its
 * own file as a child process under the shared lock (CONTRIBUTING.md), which prints its rows as JSON.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Row } from "./stats.js";

export const LOCK = "/tmp/kadalu-gluster.lock";

/** Runs `script ARGS` under the lock (killed after `timeoutMs`) and returns the rows it printed, or one row naming its failure. */
export function rowsUnderLock(script: string, args: string[], label: string, timeoutMs: number): Promise<Row[]> {
  const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
  return new Promise((resolve) => {
    const child = spawn("flock", [LOCK, process.execPath, tsx, script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString()).slice(-1000)));
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as Row[]);
      } catch {
        resolve([[label, `failed (exit ${code}): ${err.trim().split("\n").pop() ?? ""}`, "-"]]);
      }
    });
  });
}

/** Runs `main` when `moduleUrl` is the program being run, printing its rows as JSON (the child side of rowsUnderLock). */
export function printRowsIfMain(moduleUrl: string, main: (args: string[]) => Promise<Row[]>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  main(process.argv.slice(2)).then(
    (rows) => console.log(JSON.stringify(rows)),
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exitCode = 1;
    },
  );
}
