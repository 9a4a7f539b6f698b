import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readTar, writeTar } from "../../../src/core/tar.js";

// Archives made by the real tar, as the provisioner pod's `tar -c -f -` makes them.
const dir = mkdtempSync(join(tmpdir(), "kadalu-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function archive(format: string, files: Record<string, Buffer>): Buffer {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return execFileSync("tar", ["-c", "-f", "-", `--format=${format}`, "-C", dir, ...Object.keys(files)], { maxBuffer: 64 * 1024 * 1024 });
}

describe("readTar", () => {
  const longName = `${"p".repeat(63)}/${"s".repeat(120)}.db`;
  const files = {
    "pool1/stat.db": Buffer.alloc(20480, 7),
    "pool1/stat.db-journal": Buffer.from("journal"),
    "empty/stat.db": Buffer.alloc(0),
    [longName]: Buffer.alloc(513, 1),
  };

  for (const format of ["gnu", "pax", "ustar"]) {
    it(`reads every regular file of a ${format} archive, names and bytes`, () => {
      const wanted = format === "ustar" ? Object.fromEntries(Object.entries(files).filter(([name]) => name !== longName)) : files;
      const entries = readTar(archive(format, wanted));
      expect(entries.map((entry) => entry.name)).toEqual(Object.keys(wanted));
      for (const entry of entries) expect(entry.data.equals(wanted[entry.name]!)).toBe(true);
    });
  }

  it("refuses a damaged header, a truncated archive and one without its end marker", () => {
    const whole = archive("gnu", { "pool1/stat.db": Buffer.alloc(2048, 3) });
    const damaged = Buffer.from(whole);
    damaged[10] = damaged[10]! ^ 1;
    expect(() => readTar(damaged)).toThrow(/checksum mismatch at byte 0/);
    expect(() => readTar(whole.subarray(0, 1024))).toThrow(/truncated/);
    expect(() => readTar(whole.subarray(0, 512 + 2048))).toThrow(/end marker/);
    expect(readTar(Buffer.alloc(0))).toEqual([]);
  });
});

describe("writeTar", () => {
  it("writes ustar that GNU tar and readTar read back, long paths in the prefix field", () => {
    const long = `logs/${"p".repeat(60)}/${"c".repeat(60)}.previous.log`;
    const archive = writeTar(
      [
        { name: "SUMMARY.md", data: Buffer.from("# hi\n") },
        { name: long, data: Buffer.alloc(1000, 97) },
        { name: "empty", data: Buffer.alloc(0) },
      ],
      1_700_000_000,
    );
    expect(readTar(archive).map((entry) => [entry.name, entry.data.length])).toEqual([
      ["SUMMARY.md", 5],
      [long, 1000],
      ["empty", 0],
    ]);
    expect(execFileSync("tar", ["-tvf", "-"], { input: archive, encoding: "utf8" })).toMatch(/^-rw-r--r-- 0\/0\s+5 2023-11-14 \d\d:13 SUMMARY\.md\n/);
    expect(execFileSync("tar", ["-tf", "-"], { input: archive, encoding: "utf8" }).split("\n").slice(0, 3)).toEqual(["SUMMARY.md", long, "empty"]);
    expect(() => writeTar([{ name: "x".repeat(101), data: Buffer.alloc(0) }], 0)).toThrow(/path too long/);
  });
});
