/**
 * `npm run demo -- --keep` stopped the ways it is stopped: Ctrl-C, SIGTERM (`timeout`, a process manager),
 * SIGHUP (a closed terminal), and SIGKILL (then the next sandbox reaps what it left). Nothing may remain:
 * no process naming the sandbox's directory or mounted from it, no directory, no Gluster log outside it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { glusterParts } from "../../../harness/real/components.js";
import { startSandbox } from "../../../harness/sandbox/sandbox.js";
import { SANDBOX_PREFIX } from "../../../harness/sandbox/leftovers.js";
import { GLUSTERD_PORT } from "../../../csi/os/mounter.js";
import { createServer } from "node:net";
import { tmpdir } from "node:os";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const gluster = glusterParts();
const noGluster = typeof gluster === "string" ? gluster : undefined;
const STOP_BOUND_MS = 10_000;

interface Demo {
  child: ChildProcess;
  dir: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts `demo.ts --keep` and waits until it says the sandbox keeps running. */
async function startDemo(args: string[], readyMs: number, command = [process.execPath, "--import", "tsx", "scripts/demo.ts"]): Promise<Demo> {
  const child = spawn(command[0]!, [...command.slice(1), "--keep", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout!.on("data", (chunk) => void (output += chunk));
  child.stderr!.on("data", (chunk) => void (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const deadline = Date.now() + readyMs;
  while (!output.includes("The sandbox keeps running.")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the demo did not get to --keep within ${readyMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const dir = output.match(/export KUBECONFIG=(\S+)\/kubeconfig/)![1]!;
  return { child, dir, output: () => output, exited };
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function cwdOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** What of the sandbox still runs: processes naming its directory, or with mounts from it. */
function survivors(dir: string): string[] {
  const name = basename(dir);
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      const cmdline = read(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      return cmdline.includes(name) || read(`/proc/${pid}/mountinfo`).includes(`/${name}/`) ? [`${pid} ${cmdline}`] : [];
    });
}

/** Gluster's logs on the machine that name the sandbox (brick logs are named after the brick's path). */
function machineLogs(dir: string): string[] {
  const name = basename(dir);
  const logs = ["/var/log/glusterfs", "/var/log/glusterfs/bricks"].flatMap((path) => (existsSync(path) ? readdirSync(path) : []));
  return logs.filter((file) => file.includes(name));
}

const MODES = [
  { title: "local directories", args: ["--no-gluster"], skip: undefined, readyMs: 90_000 },
  { title: "real GlusterFS", args: [], skip: noGluster, readyMs: 180_000 },
];

for (const mode of MODES) {
  describe.skipIf(mode.skip)(`the --keep demo on ${mode.title}${mode.skip ? ` (skipped: ${mode.skip})` : ""}`, () => {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
      ["SIGHUP", 129],
    ] as const) {
      it(
        `stops on ${signal}: says "stopping...", exits ${code} within seconds, and leaves no process and no directory`,
        async () => {
          const demo = await startDemo(mode.args, mode.readyMs);
          expect(existsSync(demo.dir)).toBe(true);
          // With Gluster, bricks, the self-heal daemon and the FUSE client run outside the demo's process.
          if (mode.args.length === 0) expect(survivors(demo.dir).length).toBeGreaterThan(2);
          const sent = Date.now();
          demo.child.kill(signal);
          const exit = await demo.exited;
          expect(demo.output()).toContain("stopping...");
          expect(exit.code, demo.output()).toBe(code);
          expect(exit.at - sent).toBeLessThan(STOP_BOUND_MS);
          expect(survivors(demo.dir)).toEqual([]);
          expect(existsSync(demo.dir)).toBe(false);
          expect(machineLogs(demo.dir)).toEqual([]);
        },
        mode.readyMs + 30_000,
      );
    }

    it(
      "killed with SIGKILL, leaves what the next sandbox reaps when it starts",
      async () => {
        const demo = await startDemo(mode.args, mode.readyMs);
        demo.child.kill("SIGKILL");
        await demo.exited;
        // Nothing could clean up: the directory (and with Gluster, the bricks and the client) are still there.
        expect(existsSync(demo.dir)).toBe(true);
        if (mode.args.length === 0) expect(survivors(demo.dir).length).toBeGreaterThan(2);
        const next = await startSandbox();
        try {
          expect(survivors(demo.dir)).toEqual([]);
          expect(existsSync(demo.dir)).toBe(false);
        } finally {
          await next.stop();
        }
        expect(existsSync(next.dir)).toBe(false);
      },
      mode.readyMs + 60_000,
    );
  });
}

describe("`npm run demo -- --keep | tee log`, then Ctrl-C: the pipe's reader goes first", () => {
  it("the demo still stops everything it made, though it can no longer write", async () => {
    const demo = await startDemo(["--no-gluster"], 120_000);
    // tee gets the same SIGINT and dies: every later write of the demo fails with EPIPE.
    demo.child.stdout!.destroy();
    demo.child.stderr!.destroy();
    demo.child.kill("SIGINT");
    const exit = await demo.exited;
    expect(exit.code).toBe(130);
    expect(survivors(demo.dir)).toEqual([]);
    expect(existsSync(demo.dir)).toBe(false);
  }, 150_000);
});

describe("a sandbox that cannot start", () => {
  it.skipIf(noGluster)(
    "leaves no directory when glusterd's port is taken",
    async () => {
      const taken = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        taken.once("error", () => resolve(false));
        taken.listen(GLUSTERD_PORT, "127.0.0.1", () => resolve(true));
      });
      // Another glusterd already holds it: the sandbox fails the same way.
      try {
        const before = new Set(readdirSync(tmpdir()).filter((entry) => entry.startsWith(basename(SANDBOX_PREFIX))));
        await expect(startSandbox(undefined, { gluster: gluster as Exclude<typeof gluster, string> })).rejects.toThrow(
          /^port 24007 is taken: another glusterd \(or a GlusterFS sandbox\) runs on this machine; stop it first$/,
        );
        const after = readdirSync(tmpdir()).filter((entry) => entry.startsWith(basename(SANDBOX_PREFIX)) && !before.has(entry));
        expect(after).toEqual([]);
      } finally {
        if (listening) await new Promise((resolve) => taken.close(resolve));
      }
    },
    60_000,
  );
});

describe("`npm run demo -- --keep` when only npm gets SIGTERM", () => {
  it("the demo notices its wrappers going, stops and leaves nothing (no process runs demo.ts from here)", async () => {
    const demo = await startDemo(["--no-gluster"], 120_000, ["npm", "run", "--silent", "demo", "--"]);
    demo.child.kill("SIGTERM");
    await demo.exited;
    // This worktree's demo processes (npm, sh, tsx, node): their working directory is the repository.
    const running = (): string[] =>
      readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .flatMap((pid) => {
          const cmdline = read(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
          return /scripts\/demo\.ts|npm run --silent demo/.test(cmdline) && cwdOf(pid) === ROOT.replace(/\/$/, "") ? [`${pid} ${cmdline}`] : [];
        });
    const deadline = Date.now() + STOP_BOUND_MS;
    while (existsSync(demo.dir) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(demo.dir)).toBe(false);
    while (running().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running()).toEqual([]);
  }, 150_000);
});
