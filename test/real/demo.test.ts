/** `npm run demo` on real GlusterFS: the sandbox story with pools that are real Gluster volumes. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSandbox } from "../../harness/sandbox/sandbox.js";
import { runStory } from "../../harness/sandbox/story.js";
import { which } from "../../harness/real/components.js";
import { glusterfs, noGluster } from "../../harness/real/tier.js";
import { volumeDirectories } from "../../harness/helpers/pools.js";
import { runBin, type CliResult } from "../../harness/helpers/cli.js";
import { installPool1 } from "../../harness/sandbox/pool1.js";
import { waitUntil } from "../../harness/real/processes.js";

describe.skipIf(noGluster)("the demo on real GlusterFS", () => {
  it("tells the whole story with every step as expected, on a Replica3 Gluster volume", async () => {
    const sandbox = await startSandbox(undefined, { gluster: glusterfs! });
    let output = "";
    try {
      expect(sandbox.pools).toBe("real GlusterFS volumes");
      const results = await runStory(sandbox, { print: (text) => void (output += text), kubectl: Boolean(which("kubectl")) });
      const failed = results.filter((result) => result.code !== (result.title.startsWith("Removing the pool is refused") ? 1 : 0));
      expect(
        failed.map((result) => `${result.command}: ${result.code}`),
        output,
      ).toEqual([]);
      expect(output).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+delete\s+[\d.]+ \w?i?B\s+3\.5 GiB\s+[\d.]+%\s+3\s+0\s+0\s+\d+[smhd]\s+-\n/);
      // The pool was the Gluster volume: each brick got stat.db, and no PV is left on any.
      const bricks = join(sandbox.dir, "gluster", "bricks", "pool1");
      for (const brick of readdirSync(bricks)) {
        expect(existsSync(join(bricks, brick, "stat.db"))).toBe(true);
        expect(volumeDirectories(join(bricks, brick))).toEqual([]);
      }
    } finally {
      await sandbox.stop();
    }
    expect(existsSync(sandbox.dir)).toBe(false);
  });
});

/** The processes named `comm` whose command line names `dir`. */
function processesOf(comm: string, dir: string): string[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    });
}

describe.skipIf(noGluster)("the Gluster sandbox's day-2 commands (npm run demo -- --keep)", () => {
  it("doctor, top and healinfo answer from the real bricks; storage-remove stops the pool's bricks", async () => {
    const sandbox = await startSandbox(undefined, { gluster: glusterfs! });
    const cli = (...args: string[]): Promise<CliResult> => runBin(args, { KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" });
    // The client runs in the provisioner's mount namespace, whose mounts come from the sandbox's directory.
    const clientsOf = (pool: string): string[] =>
      processesOf("glusterfs", `--volfile-id\0${pool}\0`).filter((pid) => readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(sandbox.dir));
    const bricksOf = (pool: string): string[] => processesOf("glusterfsd", join(sandbox.dir, "gluster", "bricks", pool) + "/");
    try {
      await installPool1(sandbox, cli);
      await waitUntil("pool1's three bricks", () => bricksOf("pool1").length === 3 || undefined, 30_000, 200);
      const doctor = await cli("doctor", "--pool", "pool1");
      expect(doctor.stdout).toMatch(/^ok\s+heals\s+pool\/pool1\s+no heal pending$/m);
      expect(doctor.code, doctor.stdout).toBe(0);
      const top = await cli("top", "pool1", "-o", "json", "--interval", "300ms");
      expect(top.stderr).toBe("");
      const rows = JSON.parse(top.stdout).processes.filter((row: { program: string }) => row.program === "glusterfsd");
      expect(rows.map((row: { pod: string }) => row.pod).sort()).toEqual(["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"]);
      const heal = await cli("healinfo", "pool1");
      expect(heal.stdout).toMatch(/^== pool1 \(Replica3\) ==\n/);
      expect(heal.stdout.match(/Number of entries: 0/g)).toHaveLength(3);
      expect(heal.code).toBe(0);
      const remove = await cli("storage-remove", "pool1", "--yes", "--wait", "--timeout", "60s");
      expect(remove.code, remove.stderr).toBe(0);
      await waitUntil("pool1's bricks to stop", () => bricksOf("pool1").length === 0 || undefined, 30_000, 200);
      // The provisioner lets go of the removed pool: its FUSE client (glusterfs --volfile-id pool1) ends too.
      await waitUntil("the provisioner's client of pool1 to stop", () => clientsOf("pool1").length === 0 || undefined, 30_000, 200);
    } finally {
      await sandbox.stop();
    }
  });
});
