/** The Gluster clients' log passed to the driver's own log and kept bounded, on real files. */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientLogFollower } from "../../../csi/jobs/client-log.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-client-log-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the Gluster client log follower", () => {
  it("passes each new line on with a prefix, holds a line until its newline, and waits for the file to appear", () => {
    const file = join(dir, "gluster.log");
    const out: string[] = [];
    const follower = new ClientLogFollower(file, (line) => out.push(line), 1 << 20);
    expect(follower.poll()).toBe(0);
    // As the client writes it: one descriptor opened for appending, kept open.
    const client = openSync(file, "a");
    writeSync(client, "[2026-12-02 03:00:00.000000] I [MSGID: 100030] Started running glusterfs\n[2026-12-02 03:00:01.0");
    expect(follower.poll()).toBe(1);
    writeSync(client, "00000] W [fuse-bridge.c:1] 0-fuse: slow\n\n");
    expect(follower.poll()).toBe(1);
    expect(out).toEqual([
      "gluster: [2026-12-02 03:00:00.000000] I [MSGID: 100030] Started running glusterfs",
      "gluster: [2026-12-02 03:00:01.000000] W [fuse-bridge.c:1] 0-fuse: slow",
    ]);
    expect(follower.poll()).toBe(0);
    closeSync(client);
  });

  it("truncates the file once it is past the bound and read, and the client goes on writing at the new end", () => {
    const file = join(dir, "gluster.log");
    const out: string[] = [];
    const follower = new ClientLogFollower(file, (line) => out.push(line), 10_000);
    const client = openSync(file, "a");
    const line = `${"x".repeat(99)}\n`;
    for (let round = 0; round < 5; round += 1) {
      for (let i = 0; i < 60; i += 1) writeSync(client, line);
      follower.poll();
      // Never much more than the bound on disk, whatever the client writes.
      expect(statSync(file).size).toBeLessThan(10_000);
    }
    writeSync(client, "after\n");
    follower.poll();
    expect(out.filter((text) => text === `gluster: ${"x".repeat(99)}`)).toHaveLength(300);
    // 6000 bytes a round: past the bound every second round.
    expect(out.filter((text) => text.includes("was truncated"))).toHaveLength(2);
    expect(out.at(-1)).toBe("gluster: after");
    expect(statSync(file).size).toBe(6000 + "after\n".length);
    closeSync(client);
  });

  it("starts over when someone else truncated the file, and cuts a line that never ends", () => {
    const file = join(dir, "gluster.log");
    const out: string[] = [];
    const follower = new ClientLogFollower(file, (line) => out.push(line), 1 << 20);
    let client = openSync(file, "a");
    writeSync(client, "one\ntwo\n");
    follower.poll();
    closeSync(client);
    client = openSync(file, "w");
    writeSync(client, "three\n");
    follower.poll();
    writeSync(client, "y".repeat(40_000));
    follower.poll();
    expect(out.slice(0, 3)).toEqual(["gluster: one", "gluster: two", "gluster: three"]);
    expect(out.slice(3).map((text) => text.length)).toEqual([16 * 1024 + 9, 16 * 1024 + 9]);
    closeSync(client);
  });
});
