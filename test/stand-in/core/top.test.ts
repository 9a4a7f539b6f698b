/**
 * `top`'s pure part on /proc text captured from running processes (the sampling script's output over a
 * brick and a FUSE client stand-in): parsing, rates, roles, sorting and pool totals.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSamples, poolTotals, processRates, roleOf, sortRows, type TopRow } from "../../../src/core/top/proc.js";

const captured = readFileSync(new URL("../../fixtures/top/two-samples.txt", import.meta.url), "utf8");

describe("parseSamples and processRates", () => {
  it("reads both samples of both processes", () => {
    const { clockTicks, samples } = parseSamples(captured);
    expect(clockTicks).toBe(100);
    expect(samples.map((sample) => sample.uptime)).toEqual([11557.54, 11558.57]);
    const brick = samples[1]!.procs.get(7043)!;
    expect(brick).toMatchObject({ comm: "glusterfsd", cpuTicks: 30, rssBytes: 46168 * 1024, threads: 7 });
    expect(brick.io).toMatchObject({ write_bytes: 86773760, syscw: 1326 });
    expect(brick.args).toContain("--brick-name");
  });

  it("turns two samples into per-second rates over the measured interval (1.03 s here)", () => {
    const rows = processRates(parseSamples(captured));
    const brick = rows.find((row) => row.pid === 7043)!;
    expect(brick.role).toBe("brick /bricks/pool1/data/brick");
    expect(brick.cpuPercent).toBeCloseTo((100 * 4) / 100 / 1.03, 6);
    expect(brick.writeBytesPerSecond).toBeCloseTo((86773760 - 60035072) / 1.03, 3);
    expect(brick.writeOpsPerSecond).toBeCloseTo((1326 - 918) / 1.03, 6);
    expect(brick.rssBytes).toBe(46168 * 1024);
    expect(rows.find((row) => row.pid === 7044)!.role).toBe("client /mnt/pool1");
  });

  it("gives no rate for a process seen once, a pid reused by another program, or a single sample", () => {
    const first = captured.slice(0, captured.indexOf("@sample", 10));
    expect(processRates(parseSamples(first))).toEqual([]);
    const reused = captured.replace(/(@sample 11558\.57[\s\S]*?)@proc 7043 glusterfsd/, "$1@proc 7043 glusterfs");
    expect(processRates(parseSamples(reused)).map((row) => row.pid)).toEqual([7044]);
    const gone = captured.replace(/@proc 7044 glusterfs(?![\s\S]*@sample)[\s\S]*$/, "");
    expect(processRates(parseSamples(gone)).map((row) => row.pid)).toEqual([7043]);
  });

  it("reads a stat line whose comm holds spaces and parentheses", () => {
    const text =
      "@clk 100\n@sample 1\n@proc 9 glusterfs\n@stat\n9 (a) b (c) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0\n@sample 2\n@proc 9 glusterfs\n@stat\n9 (a) b (c) S 1 1 1 0 -1 0 0 0 0 0 55 5 0 0\n";
    expect(processRates(parseSamples(text))[0]!.cpuPercent).toBe(50);
  });
});

describe("roleOf", () => {
  it.each([
    [{ comm: "glusterfsd", args: ["glusterfsd", "--brick-name", "/b/1"] }, "brick /b/1"],
    [{ comm: "glusterfsd", args: ["glusterfsd", "--brick-name=/b/2"] }, "brick /b/2"],
    [{ comm: "glusterfs", args: ["glusterfs", "-s", "localhost", "--volfile-id", "shd/pool1", "-p", "/run/shd.pid"] }, "self-heal daemon"],
    [{ comm: "glusterfs", args: ["glusterfs", "--volfile-id=/pool1", "/mnt/pool1"] }, "client /mnt/pool1"],
  ])("%j is %s", (proc, role) => {
    expect(roleOf(proc)).toBe(role);
  });
});

describe("sortRows and poolTotals", () => {
  const row = (pool: string, pod: string, pid: number, cpuPercent: number, rssBytes: number, writeBytesPerSecond: number): TopRow => ({
    pool,
    pod,
    pid,
    program: "glusterfsd",
    role: "brick",
    cpuPercent,
    rssBytes,
    threads: 1,
    readBytesPerSecond: 0,
    writeBytesPerSecond,
    readOpsPerSecond: 0,
    writeOpsPerSecond: 1,
  });
  const rows = [row("p1", "a", 1, 5, 300, 10), row("p2", "b", 2, 50, 100, 0), row("p1", "c", 3, 1, 200, 99)];

  it("sorts by the chosen column, highest first", () => {
    expect(sortRows(rows, "cpu").map((r) => r.pid)).toEqual([2, 1, 3]);
    expect(sortRows(rows, "mem").map((r) => r.pid)).toEqual([1, 3, 2]);
    expect(sortRows(rows, "write").map((r) => r.pid)).toEqual([3, 1, 2]);
  });

  it("sums each pool's processes", () => {
    expect(poolTotals(rows)).toEqual([
      { pool: "p1", processes: 2, cpuPercent: 6, rssBytes: 500, readBytesPerSecond: 0, writeBytesPerSecond: 109, readOpsPerSecond: 0, writeOpsPerSecond: 2 },
      { pool: "p2", processes: 1, cpuPercent: 50, rssBytes: 100, readBytesPerSecond: 0, writeBytesPerSecond: 0, readOpsPerSecond: 0, writeOpsPerSecond: 1 },
    ]);
  });
});
