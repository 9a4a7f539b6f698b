/**
 * `kadalu-server heal-now`: its arguments checked, the translators taken from the daemon's volfile, and the
 * brick op as glusterd sends it, answered over a real unix socket by a stand-in daemon that decodes the call.
 * The real tier's test/real/heal-now.test.ts sends it to GlusterFS's own daemon.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { healIndexCall, healNow, healNowMain, healXlators, serializeDict, unserializeDict } from "../../../server/heal-now.js";
import { shdVolfile } from "../../../server/volgen.js";

const scratch = mkdtempSync(join(tmpdir(), "kadalu-heal-now-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const units = (names: string[]) => names.map((name) => ({ path: "/bricks/p/data/brick", port: 24007, node: { name } }));
const SHD = shdVolfile({
  name: "p",
  id: "8e0d9877-d295-48f9-9ee7-83cf593d27ff",
  distribute_groups: [
    { replica_count: 3, storage_units: units(["a", "b", "c"]) },
    { replica_count: 3, storage_units: units(["d", "e", "f"]) },
  ],
});

const u32 = (value: number): Buffer => Buffer.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
const opaque = (bytes: Buffer): Buffer => Buffer.concat([u32(bytes.length), bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);

/** Decodes the call as glusterfsd's brick-op service would; answers with `statuses`. */
function standInDaemon(socket: string, calls: Map<string, string>[], statuses: [string, string][]): Promise<Server> {
  const server = createServer((connection) => {
    connection.once("data", (record: Buffer) => {
      const words = [...Array(10).keys()].map((index) => record.readUInt32BE(4 + index * 4));
      expect(words.slice(1, 6)).toEqual([0, 2, 4867634, 2, 3]); // CALL, RPC v2, GD_BRICK_PROGRAM v2, XLATOR_OP
      let at = 44;
      const next = (): Buffer => {
        const length = record.readUInt32BE(at);
        const bytes = record.subarray(at + 4, at + 4 + length);
        at += 4 + length + ((4 - (length % 4)) % 4);
        return bytes;
      };
      next(); // name
      at += 4; // op
      calls.push(unserializeDict(next()));
      const body = Buffer.concat([
        u32(words[0]!),
        u32(1),
        u32(0),
        u32(0),
        opaque(Buffer.alloc(0)),
        u32(0),
        u32(0),
        u32(0),
        opaque(serializeDict(statuses)),
        opaque(Buffer.from("")),
      ]);
      connection.end(Buffer.concat([u32(0x80000000 | body.length), body]));
    });
  });
  return new Promise((resolve) => server.listen(socket, () => resolve(server)));
}

describe("heal-now", () => {
  it("sends the index heal to every replicate translator of the daemon's volfile, as glusterd does", async () => {
    expect(healXlators(SHD)).toEqual(["p-replicate-0", "p-replicate-1"]);
    writeFileSync(join(scratch, "glustershd.vol"), SHD);
    const socket = join(scratch, "shd.socket");
    const calls: Map<string, string>[] = [];
    const daemon = await standInDaemon(socket, calls, [
      ["1-0-status", "Brick is remote"],
      ["0-2-status", "Started self-heal"],
      ["0-0-status", "Brick is remote"],
      ["0-1-status", "Brick is remote"],
      ["1-1-status", "Brick is not connected"],
      ["1-2-status", "Brick is remote"],
    ]);
    try {
      const said = await healNow({ pool: "p", volfilesDir: scratch, socket });
      expect(said).toBe(
        "index heal of pool p: started on 0-2 (0-0: Brick is remote; 0-1: Brick is remote; 1-0: Brick is remote; 1-1: Brick is not connected; 1-2: Brick is remote)",
      );
    } finally {
      await new Promise((resolve) => daemon.close(resolve));
    }
    expect(Object.fromEntries(calls[0]!)).toEqual({
      count: "2",
      "xl-op": "1",
      "xl-0": "p-replicate-0",
      "p-replicate-0": "0",
      "xl-1": "p-replicate-1",
      "p-replicate-1": "1",
    });
  });

  it("frames the call as one last fragment whose length is the rest", () => {
    const call = healIndexCall(7, ["p-replicate-0"]);
    expect(call.readUInt32BE(0)).toBe((0x80000000 | (call.length - 4)) >>> 0);
    expect(call.readUInt32BE(4)).toBe(7);
  });

  it("says so when there is no daemon in the pod", async () => {
    await expect(healNow({ pool: "p", volfilesDir: join(scratch, "none"), socket: join(scratch, "none.socket") })).rejects.toThrow(
      `${join(scratch, "none", "glustershd.vol")} does not exist: pool p has no self-heal daemon in this pod`,
    );
    await expect(healNow({ pool: "p", volfilesDir: scratch, socket: join(scratch, "none.socket") })).rejects.toThrow(
      `cannot reach the self-heal daemon at ${join(scratch, "none.socket")}`,
    );
  });

  it.each([[[]], [["p", "q"]]])("prints its usage for %j", async (args) => {
    let written = "";
    expect(
      await healNowMain(
        args,
        (text) => void (written += text),
        () => Promise.reject(new Error("not called")),
      ),
    ).toBe(2);
    expect(written).toBe("usage: kadalu-server heal-now POOL\n");
  });

  it("refuses a bad pool name before reaching the daemon", async () => {
    await expect(
      healNowMain(
        ["P_1"],
        () => undefined,
        () => Promise.reject(new Error("not called")),
      ),
    ).rejects.toThrow('pool name "P_1" must consist of lower case');
  });
});
