/** `kadalu-server mark-replaced`: its arguments checked before anything runs, and the mount always undone. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { markReplaced, markReplacedMain, type MarkOptions } from "../../../server/mark-replaced.js";

const scratch = mkdtempSync(join(tmpdir(), "kadalu-mark-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("mark-replaced", () => {
  it.each([
    [["pool1"], "usage: kadalu-server mark-replaced POOL INDEX\n", 2],
    [["pool1", "2", "3"], "usage: kadalu-server mark-replaced POOL INDEX\n", 2],
  ])("prints its usage for %j", (args, text, code) => {
    let written = "";
    expect(
      markReplacedMain(
        args,
        (line) => void (written += line),
        () => undefined,
      ),
    ).toBe(code);
    expect(written).toBe(text);
  });

  it.each([
    [["Pool_1", "0"], 'pool name "Pool_1" must consist of lower case'],
    [["pool1", "-1"], 'brick index "-1" must be a whole number'],
    [["pool1", "1;reboot"], 'brick index "1;reboot" must be a whole number'],
  ])("refuses %j before running anything", (args, message) => {
    const marks: MarkOptions[] = [];
    expect(() =>
      markReplacedMain(
        args,
        () => undefined,
        (options) => void marks.push(options),
      ),
    ).toThrow(message);
    expect(marks).toEqual([]);
  });

  it("names the pool and brick it marked, with the translator Gluster's replace-brick names", () => {
    const marks: MarkOptions[] = [];
    let written = "";
    expect(
      markReplacedMain(
        ["pool1", "2"],
        (line) => void (written += line),
        (options) => void marks.push(options),
      ),
    ).toBe(0);
    expect(marks).toEqual([{ pool: "pool1", index: 2 }]);
    expect(written).toBe("brick 2 of pool pool1 marked for a full heal (trusted.replace-brick=pool1-client-2)\n");
  });

  it("refuses a pod without the pool's client volfile, and leaves no mount point behind when the mount fails", () => {
    const volfiles = join(scratch, "volfiles");
    mkdirSync(volfiles);
    expect(() => markReplaced({ pool: "pool1", index: 0, volfilesDir: volfiles, scratch })).toThrow(
      `${join(volfiles, "pool1.vol")} does not exist: is this a brick pod of pool pool1?`,
    );
    writeFileSync(join(volfiles, "pool1.vol"), "volume x\nend-volume\n");
    const runs: string[] = [];
    const failing = (command: string, args: string[]): void => {
      runs.push([command, ...args].join(" "));
      throw Object.assign(new Error("failed"), { stderr: "glusterfs: cannot mount" });
    };
    expect(() => markReplaced({ pool: "pool1", index: 0, volfilesDir: volfiles, scratch, run: failing, mounts: () => "", stepMs: 10 })).toThrow(
      "cannot mark brick 0 of pool pool1 for a full heal: glusterfs: cannot mount",
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^glusterfs --process-name fuse --client-pid=-12 --volfile=\S+\/pool1\.vol --volfile-id=pool1 \S+\/mark-pool1-\w+$/);
    expect(readdirSync(scratch).filter((entry) => entry.startsWith("mark-"))).toEqual([]);
  });
});
