/** The brick's answer to a refused metadata heal of a PV directory (real directories and xattrs, as root). */
import { getAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { brickDirectory, NAMESPACE_XATTR, NamespaceHeal, refusedPath } from "../../../server/namespace-heal.js";

const ROOT = process.getuid?.() === 0;
const GFID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const line = (path: string): string =>
  `glusterfsd: [2026-12-06 02:58:00.123456 +0000] E [MSGID: 0] [server-rpc-fops_v2.c:2848:server4_removexattr_resume] 0-/bricks/r3b: ${path}: removal of namespace is not allowed [Operation not supported]`;

let brick: string;
let pv: string;
let logged: string[];

beforeEach(() => {
  brick = mkdtempSync(join(tmpdir(), "kadalu-nsheal-"));
  pv = join(brick, "subvol", "ab", "cd", "pvc-1");
  mkdirSync(pv, { recursive: true });
  // A directory's gfid handle, as posix makes it: a symbolic link to its name under its parent's handle (here the path itself).
  mkdirSync(join(brick, ".glusterfs", GFID.slice(0, 2), GFID.slice(2, 4)), { recursive: true });
  symlinkSync(pv, join(brick, ".glusterfs", GFID.slice(0, 2), GFID.slice(2, 4), GFID));
  logged = [];
});

afterEach(() => rmSync(brick, { recursive: true, force: true }));

describe("a refused namespace removal in the brick's log", () => {
  it("names a path or a gfid; other lines name nothing", () => {
    expect(refusedPath(line("/subvol/ab/cd/pvc-1"))).toEqual({ path: "/subvol/ab/cd/pvc-1" });
    expect(refusedPath(line(`<gfid:${GFID}>`))).toEqual({ gfid: GFID, path: "" });
    expect(refusedPath(line(`<gfid:${GFID}>/sub`))).toEqual({ gfid: GFID, path: "/sub" });
    expect(refusedPath("glusterfsd: [..] I [MSGID: 115036] [server.c:500:server_rpc_notify] 0-r3-server: disconnecting connection")).toBeUndefined();
  });

  it("leads to a directory inside the brick only: not its root, not .glusterfs, not outside, not a file", () => {
    expect(brickDirectory(brick, { path: "/subvol/ab/cd/pvc-1" })).toBe(pv);
    expect(brickDirectory(brick, { gfid: GFID, path: "" })).toBe(pv);
    expect(brickDirectory(brick, { path: "/" })).toBeUndefined();
    expect(brickDirectory(brick, { path: "/../.." })).toBeUndefined();
    expect(brickDirectory(brick, { path: "/.glusterfs" })).toBeUndefined();
    expect(brickDirectory(brick, { path: "/subvol/ab/cd/missing" })).toBeUndefined();
    expect(brickDirectory(brick, { gfid: "00000000-0000-0000-0000-000000000001", path: "" })).toBeUndefined();
  });
});

describe.skipIf(!ROOT)("NamespaceHeal", () => {
  it("takes the namespace xattr off the refused directory's copy, once in a while, and sets it again when no heal brought it back", async () => {
    setAttributeSync(pv, NAMESPACE_XATTR, "true");
    const heal = new NamespaceHeal(brick, (message) => logged.push(message), 100);
    heal.line(line(`<gfid:${GFID}>`));
    expect(getAttributeSync(pv, NAMESPACE_XATTR)).toBeNull();
    expect(logged).toEqual([
      `kadalu-server: ${pv}: its metadata heal was refused for the namespace xattr; taken off this brick's copy so the heal copies it back`,
    ]);
    // A second refusal at once (the heal's retry came before the removal was seen) changes nothing.
    setAttributeSync(pv, NAMESPACE_XATTR, "true");
    heal.line(line("/subvol/ab/cd/pvc-1"));
    expect(getAttributeSync(pv, NAMESPACE_XATTR)?.toString()).toBe("true");
    expect(logged).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The heal (here: this test) had set it back: nothing to do.
    expect(logged).toHaveLength(1);
    heal.stop();
  });

  it("sets the namespace again when no heal did within restoreMs; a directory without one is left alone", async () => {
    setAttributeSync(pv, NAMESPACE_XATTR, "true");
    const heal = new NamespaceHeal(brick, (message) => logged.push(message), 50);
    heal.line(line("/subvol/ab/cd/pvc-1"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(getAttributeSync(pv, NAMESPACE_XATTR)?.toString()).toBe("true");
    expect(logged[1]).toBe(`kadalu-server: ${pv}: no heal brought the namespace xattr back; set again here`);
    const other = join(brick, "subvol", "plain");
    mkdirSync(other);
    heal.line(line("/subvol/plain"));
    expect(logged).toHaveLength(2);
    heal.stop();
  });
});
