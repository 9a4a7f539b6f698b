/**
 * Server pods on a test machine: an exec handler that runs the pod's command for real on this machine
 * (sh and the sampling script over the real /proc) and keeps only the blocks of the pod's own processes,
 * as the pod's PID namespace would; and stand-in Gluster processes (node under the program's name, so
 * /proc shows that comm) that burn CPU and write to disk.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecHandler } from "../apiserver/exec.js";

/** The sampler's text with only the @proc blocks of `pids`. */
export function onlyProcesses(text: string, pids: Set<number>): string {
  let keep = true;
  return text
    .split("\n")
    .filter((line) => {
      const proc = /^@proc (\d+) /.exec(line);
      if (proc) keep = pids.has(Number(proc[1]));
      else if (/^@(sample|clk) /.test(line)) keep = true;
      return keep;
    })
    .join("\n");
}

/** `programs` stands local commands in for programs of the pod's image, as localDirExec does. */
export function podProcessesExec(pids: () => number[], programs: Record<string, string[]> = {}): ExecHandler {
  return (context) =>
    new Promise<number>((resolve) => {
      const stand = Object.entries(programs).find(([prefix]) => context.command.join(" ").startsWith(prefix));
      const [program, ...args] = stand ? [...stand[1], ...context.command.slice(stand[0].split(" ").length)] : context.command;
      const child = spawn(program!, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr!.pipe(context.stderr, { end: false });
      child.on("error", () => resolve(127));
      child.on("close", (code) => {
        context.stdout.write(onlyProcesses(out, new Set(pids())));
        resolve(code ?? 1);
      });
    });
}

const WRITER = `
const fs = require("node:fs");
const fd = fs.openSync(process.env.KADALU_TEST_OUT, "w");
const block = Buffer.alloc(65536, 7);
let round = 0;
setInterval(() => {
  for (let i = 0; i < 4; i += 1) fs.writeSync(fd, block);
  fs.fdatasyncSync(fd);
  if (++round % 50 === 0) fs.ftruncateSync(fd, 0);
  let spin = 0;
  for (let i = 0; i < 200000; i += 1) spin += i;
}, 10);
`;

/** Starts `program` (glusterfsd, glusterfs) with these arguments: a real process that uses CPU and writes. */
export function standInProcess(dir: string, program: "glusterfsd" | "glusterfs", args: string[], id: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const link = join(dir, program);
  try {
    symlinkSync(process.execPath, link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  writeFileSync(join(dir, "writer.cjs"), WRITER);
  return spawn(link, [join(dir, "writer.cjs"), ...args], { stdio: "ignore", env: { ...process.env, KADALU_TEST_OUT: join(dir, `${id}.out`) } });
}
