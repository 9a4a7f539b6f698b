/**
 * A mounted pool's FUSE client keeps the graph it mounted with: a pool grown by storage-expand (or a
 * brick replaced) is invisible to it until it fetches the new client volfile. Kadalu's bricks serve that
 * volfile themselves (volspec-directory, no glusterd), so nothing tells the client; SIGHUP makes a client
 * started with --volfile-server fetch it again and switch graphs in place (open files and PV binds
 * carry over). The brick regenerates the volfile only once its own copy of kadalu-info changed (the
 * operator has the kubelet refresh it at once, operator/info-refresh.ts; else the kubelet's next sync),
 * so the client is told again every few seconds, bounded, until the graph it runs (its meta
 * translator's view) has every brick kadalu-info lists.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { NativePoolInfo } from "../../src/core/info/codec.js";
import { clientProcessOf } from "../os/client-process.js";

export interface ReloadOptions {
  intervalMs: number;
  timeoutMs: number;
}

export const DEFAULT_RELOAD: ReloadOptions = { intervalMs: 5000, timeoutMs: 180_000 };

/** The graph the client runs now, as its meta translator shows it under the mount. */
export const activeVolfile = (mountpoint: string): string => join(mountpoint, ".meta", "graphs", "active", "volfile");

/** The bricks of a pool as the client volfile names them (remote-host:remote-subvolume). */
export function poolBricks(info: NativePoolInfo): string[] {
  return [...info.bricks].sort((a, b) => a.brick_index - b.brick_index).map((brick) => `${brick.node}:${brick.brick_path}`);
}

/** The protocol/client translators of a volfile, as remote-host:remote-subvolume. */
export function volfileBricks(volfile: string): string[] {
  const found: string[] = [];
  for (const block of volfile.split(/^end-volume\s*$/m)) {
    if (!/^\s*type\s+protocol\/client\s*$/m.test(block)) continue;
    const host = /^\s*option\s+remote-host\s+(\S+)\s*$/m.exec(block)?.[1];
    const path = /^\s*option\s+remote-subvolume\s+(\S+)\s*$/m.exec(block)?.[1];
    if (host && path) found.push(`${host}:${path}`);
  }
  return found;
}

export type ReloadOutcome = "current" | "reloaded" | "gave-up" | "stopped";

export class VolfileReloader {
  private stopped = false;
  private wake?: () => void;

  constructor(
    readonly pool: string,
    readonly mountpoint: string,
    /** Every brick the graph must have (poolBricks). */
    readonly bricks: string[],
    private readonly log: (message: string) => void,
    private readonly options: ReloadOptions = DEFAULT_RELOAD,
  ) {}

  /** The bricks kadalu-info lists that the running graph lacks ([] once it has them all). */
  async missing(): Promise<string[]> {
    let volfile = "";
    try {
      volfile = await readFile(activeVolfile(this.mountpoint), "utf8");
    } catch {
      // A mount that died or is not Gluster's: it has none of them.
    }
    const running = new Set(volfileBricks(volfile));
    return this.bricks.filter((brick) => !running.has(brick));
  }

  /** Signals the client until its graph has every brick, or the time is up; never throws. */
  async run(): Promise<ReloadOutcome> {
    const deadline = Date.now() + this.options.timeoutMs;
    let signals = 0;
    let missing = await this.missing();
    while (missing.length > 0) {
      if (this.stopped) return "stopped";
      if (Date.now() >= deadline) {
        this.log(
          `pool ${this.pool}: the client at ${this.mountpoint} still runs without ${missing.join(", ")} after ${Math.round(this.options.timeoutMs / 1000)} s (${signals} SIGHUP); PVs mounted before will not use those bricks until the pod restarts`,
        );
        return "gave-up";
      }
      const client = clientProcessOf(this.mountpoint);
      if (client && !client.refetches) {
        this.log(
          `pool ${this.pool}: the client at ${this.mountpoint} (pid ${client.pid}) was started without --volfile-server and cannot fetch the new bricks ${missing.join(", ")}`,
        );
        return "gave-up";
      }
      if (client) {
        if (signals === 0)
          this.log(
            `pool ${this.pool}: kadalu-info lists ${missing.join(", ")}, which the client at ${this.mountpoint} does not use yet; asking it (pid ${client.pid}) to fetch its volfile again`,
          );
        try {
          process.kill(client.pid, "SIGHUP");
          signals += 1;
        } catch {
          // It exited between the look-up and the signal: the next round finds its successor.
        }
      }
      await this.pause(Math.min(this.options.intervalMs, Math.max(0, deadline - Date.now())));
      missing = await this.missing();
    }
    if (signals === 0) return "current";
    this.log(`pool ${this.pool}: the client at ${this.mountpoint} now uses all ${this.bricks.length} bricks (${signals} SIGHUP)`);
    return "reloaded";
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
