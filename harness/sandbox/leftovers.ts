/**
 * What a sandbox leaves if it is killed outright (SIGKILL, a crash): every running sandbox records its
 * pid, the pid's start time and its directory in a per-user runtime directory; the next sandbox to start
 * reaps the directory and the processes of each record whose owner is gone. A process counts as the
 * sandbox's only when that is verifiable: its command line names the sandbox's directory (glusterd,
 * bricks, the self-heal daemon, the CSI driver) or its mount table does (the FUSE client, which lives in
 * the CSI driver's mount namespace, bound from that directory).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** Sandbox directories are made by mkdtemp with this prefix; nothing else is ever removed. */
export const SANDBOX_PREFIX = "kadalu-sandbox-";
const SANDBOX_DIR = new RegExp(`^${SANDBOX_PREFIX}[A-Za-z0-9]{6}$`);

interface SandboxRecord {
  pid: number;
  start: string;
  dir: string;
}

/** The per-user runtime directory holding one record per running sandbox. */
export function recordsDir(): string {
  const base = process.env.XDG_RUNTIME_DIR || tmpdir();
  return join(base, `kadalu-sandboxes-${process.getuid?.() ?? "user"}`);
}

/** A process's start time (field 22 of /proc/PID/stat), so a reused pid is not taken for the owner. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** PIDs (never this process) whose command line or mount table names `dir`. */
export function processesOf(dir: string): number[] {
  const marker = `/${basename(dir)}/`;
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map(Number)
    .filter((pid) => {
      const cmdline = read(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      // A bind mount's root is shown relative to its filesystem, so the directory's own name is what is certain.
      return cmdline.includes(dir) || read(`/proc/${pid}/mountinfo`).includes(marker);
    });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills every process of `dir` (SIGKILL: what is left has no one to stop it cleanly) and waits, bounded, for them to go. */
export async function killProcessesOf(dir: string, timeoutMs = 10_000): Promise<number[]> {
  const killed = processesOf(dir);
  for (const pid of killed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (killed.some((pid) => startTime(pid) !== undefined && !read(`/proc/${pid}/stat`).includes(") Z ")) && Date.now() < deadline) await sleep(50);
  return killed;
}

/** Records this process as the owner of `dir`; returns the function that forgets it. */
export function recordSandbox(dir: string): () => void {
  const records = recordsDir();
  mkdirSync(records, { recursive: true, mode: 0o700 });
  const file = join(records, `${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ pid: process.pid, start: startTime(process.pid) ?? "", dir } satisfies SandboxRecord));
  return () => rmSync(file, { force: true });
}

function parse(text: string): SandboxRecord | undefined {
  try {
    const record = JSON.parse(text) as SandboxRecord;
    const valid =
      Number.isInteger(record.pid) &&
      typeof record.start === "string" &&
      typeof record.dir === "string" &&
      record.dir === join(tmpdir(), basename(record.dir)) &&
      SANDBOX_DIR.test(basename(record.dir));
    return valid ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Reaps the sandboxes whose owner is gone; returns their directories. A live sandbox is left alone. */
export async function reapAbandoned(): Promise<string[]> {
  const records = recordsDir();
  let files: string[] = [];
  try {
    files = readdirSync(records).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const name of files) {
    const file = join(records, name);
    const record = parse(read(file));
    if (record && startTime(record.pid) === record.start) continue;
    if (record) {
      await killProcessesOf(record.dir);
      rmSync(record.dir, { recursive: true, force: true });
      reaped.push(record.dir);
    }
    rmSync(file, { force: true });
  }
  return reaped;
}
