/**
 * A program under a real pseudo-terminal (node-pty): keys typed into it, its screen read back with the
 * terminal's control sequences taken out. Every terminal a test opens, it closes (`close`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pty from "@lydell/node-pty";

export const KEY = { enter: "\r", ctrlC: "\x03", ctrlU: "\x15", tab: "\t" } as const;

export interface Exit {
  code: number;
  signal: number;
}

export interface Terminal {
  /** Everything written so far, control sequences removed, line ends as `\n`. */
  text(): string;
  /** Resolves once `what` is on the screen (in what came after `since`, a `written()`); fails after `timeoutMs` showing the screen. */
  waitFor(what: string | RegExp, options?: { timeoutMs?: number; since?: number }): Promise<void>;
  /** How much the program has written so far: a mark for `waitFor`. */
  written(): number;
  type(keys: string): void;
  readonly exited: Promise<Exit>;
  /** How the program ended; fails if it still runs after `timeoutMs`, showing the screen. */
  ended(timeoutMs?: number): Promise<Exit>;
  /** Kills the program if it still runs; removes the terminal's home. */
  close(): Promise<void>;
}

/** What a person reads, not how it was drawn: erased lines dropped, colours and cursor moves removed. */
export function plain(raw: string): string {
  let screen = "";
  for (const part of raw.split(/(\x1b\[2K)/)) {
    screen = part === "\x1b[2K" ? screen.slice(0, screen.lastIndexOf("\n") + 1) : screen + part;
  }
  return screen
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\x1b\][^\x07]*\x07/g, "")
    .replace(/\x1b[=>]/g, "")
    .replace(/\r+\n/g, "\n")
    .replace(/\r/g, "");
}

export interface TerminalOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function openTerminal(program: string, args: string[], options: TerminalOptions = {}): Terminal {
  // Its own home: no user's shell startup files or caches reach the test.
  const home = mkdtempSync(join(tmpdir(), "kadalu-pty-"));
  const child = pty.spawn(program, args, {
    name: "xterm-256color",
    cols: 160,
    rows: 50,
    cwd: options.cwd ?? home,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", LANG: "C.UTF-8", ...options.env } as Record<string, string>,
  });
  let raw = "";
  const listeners = new Set<() => void>();
  child.onData((data) => {
    raw += data;
    for (const listener of listeners) listener();
  });
  let running = true;
  const exited = new Promise<Exit>((resolve) =>
    child.onExit(({ exitCode, signal }) => {
      running = false;
      resolve({ code: exitCode, signal: signal ?? 0 });
      for (const listener of listeners) listener();
    }),
  );
  const text = (): string => plain(raw);
  return {
    text,
    written: () => raw.length,
    waitFor(what, { timeoutMs = 15_000, since = 0 } = {}) {
      const seen = (): boolean => {
        const screen = plain(raw.slice(since));
        return typeof what === "string" ? screen.includes(what) : what.test(screen);
      };
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (seen()) done();
          else if (!running) done(new Error(`the program ended without showing ${String(what)}; screen:\n${text()}`));
        };
        const timer = setTimeout(() => done(new Error(`${String(what)} not shown within ${timeoutMs} ms; screen:\n${text()}`)), timeoutMs);
        const done = (error?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    type(keys) {
      child.write(keys);
    },
    exited,
    async ended(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; screen:\n${text()}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (running) {
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
