/** The brick pod's environment, its brick directory's volume id (real xattrs, as root), and the process supervisor. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareBrickDir, uuidOfHex, volumeIdHex, xattrFromDump } from "../../../server/brick-dir.js";
import { configFromEnv, parsePoolInfo } from "../../../server/config.js";
import { Supervised } from "../../../server/supervisor.js";

const VOLUME_ID = "8e0d9877-d295-48f9-9ee7-83cf593d27ff";
const OTHER_ID = "e79048bf-ac4d-47cf-8d1f-0a07366ff1ea";
const ENV = { VOLUME: "pool1", VOLUME_ID, BRICK_PATH: "/bricks/pool1/data/brick", BRICK_INDEX: "2", NODEID: "node-2", HOSTNAME: "kube1", SHD_REQUIRED: "1" };

const scratch = mkdtempSync(join(tmpdir(), "kadalu-brick-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("brick pod environment", () => {
  it("reads the identity the operator's StatefulSet gives", () => {
    const config = configFromEnv(ENV, "/info");
    expect(config.brick).toEqual({
      pool: "pool1",
      volumeId: VOLUME_ID,
      brickPath: "/bricks/pool1/data/brick",
      brickIndex: 2,
      nodeId: "node-2",
      nodeName: "kube1",
    });
    expect(config.selfHeal).toBe(true);
    expect(config.infoFile).toBe("/info/pool1.info");
  });

  it.each([
    [{ VOLUME: undefined }, "VOLUME is not set: the brick pod's environment comes from the operator's StatefulSet"],
    [{ VOLUME: "Pool_1" }, 'VOLUME "Pool_1" must consist of lower case letters'],
    [{ VOLUME_ID: "x" }, 'VOLUME_ID "x" must be a UUID'],
    [{ BRICK_PATH: "/bricks/../etc" }, 'BRICK_PATH "/bricks/../etc" must be an absolute path'],
    [{ BRICK_PATH: "/bricks/a b" }, 'BRICK_PATH "/bricks/a b" must be an absolute path'],
    [{ BRICK_INDEX: "-1" }, 'BRICK_INDEX "-1" must be a whole number'],
    [{ NODEID: "a;b" }, 'NODEID "a;b" must be letters'],
  ])("refuses %o", (change, message) => {
    expect(() => configFromEnv({ ...ENV, ...change }, "/info")).toThrow(message);
  });

  it("refuses a kadalu-info entry of another volume id or an External pool", () => {
    const config = configFromEnv(ENV, "/info");
    const info = { volname: "pool1", volume_id: OTHER_ID, type: "Replica3", bricks: [] };
    expect(() => parsePoolInfo(config, JSON.stringify(info))).toThrow(
      `/info/pool1.info: pool pool1 has volume id ${OTHER_ID}, this pod was started with VOLUME_ID ${VOLUME_ID}`,
    );
    expect(() =>
      parsePoolInfo(config, JSON.stringify({ volname: "pool1", volume_id: VOLUME_ID, type: "External", gluster_hosts: "h", gluster_volname: "v" })),
    ).toThrow("is External");
    expect(() => parsePoolInfo(config, "{")).toThrow("/info/pool1.info: pool1.info is not valid JSON");
  });
});

describe("brick directory", () => {
  it("converts volume ids as setfattr and getfattr -e hex write them", () => {
    expect(volumeIdHex(VOLUME_ID)).toBe("0x8e0d9877d29548f99ee783cf593d27ff");
    expect(uuidOfHex("0x8e0d9877d29548f99ee783cf593d27ff")).toBe(VOLUME_ID);
    expect(xattrFromDump("# file: /b\ntrusted.glusterfs.volume-id=0xab\n", "trusted.glusterfs.volume-id")).toBe("0xab");
  });

  it.skipIf(process.getuid?.() !== 0)("marks a new brick with the pool's volume id, accepts it again, refuses another pool's brick", () => {
    const brick = join(scratch, "brick");
    prepareBrickDir(brick, "pool1", VOLUME_ID);
    const dump = execFileSync("getfattr", ["--absolute-names", "-e", "hex", "-n", "trusted.glusterfs.volume-id", brick], { encoding: "utf8" });
    expect(xattrFromDump(dump, "trusted.glusterfs.volume-id")).toBe(volumeIdHex(VOLUME_ID));
    expect(() => prepareBrickDir(brick, "pool1", VOLUME_ID)).not.toThrow();
    expect(() => prepareBrickDir(brick, "pool2", OTHER_ID)).toThrow(
      `brick ${brick} belongs to another pool (volume id ${VOLUME_ID}), not pool pool2 (volume id ${OTHER_ID}): give pool pool2 an empty directory`,
    );
  });
});

describe("supervisor", () => {
  it("restarts a process that exits, with a growing delay, and passes its output on with its name", async () => {
    const lines: string[] = [];
    const supervised = new Supervised("child", "sh", ["-c", "echo started; exit 3"], (line) => lines.push(line), {
      firstDelayMs: 50,
      maxDelayMs: 200,
      healthyMs: 60_000,
    });
    supervised.start();
    const deadline = Date.now() + 5000;
    while (supervised.restarts < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await supervised.stop();
    expect(supervised.restarts).toBeGreaterThanOrEqual(3);
    expect(lines.filter((line) => line === "child: started").length).toBeGreaterThanOrEqual(3);
    expect(lines).toContain("child exited (code 3); starting it again in 0.1 s");
    expect(lines).toContain("child exited (code 3); starting it again in 0.2 s");
  });

  it("stops a running process and does not start it again", async () => {
    const supervised = new Supervised("sleeper", "sleep", ["30"], () => undefined);
    supervised.start();
    const pid = supervised.pid!;
    await supervised.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(supervised.pid).toBeUndefined();
  });
});
