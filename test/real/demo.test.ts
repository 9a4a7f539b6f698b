/** `npm run demo` on real GlusterFS: the sandbox story with pools that are real Gluster volumes. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSandbox } from "../sandbox/sandbox.js";
import { runStory } from "../sandbox/story.js";
import { which } from "./components.js";
import { glusterfs, noGluster } from "./tier.js";
import { volumeDirectories } from "../helpers/pools.js";

describe.skipIf(noGluster)("the demo on real GlusterFS", () => {
  it("tells the whole story with every step as expected, on a Replica3 Gluster volume", async () => {
    const sandbox = await startSandbox(undefined, { gluster: glusterfs! });
    let output = "";
    try {
      expect(sandbox.pools).toBe("real GlusterFS volumes");
      const results = await runStory(sandbox, { print: (text) => void (output += text), kubectl: Boolean(which("kubectl")) });
      const failed = results.filter((result) => result.code !== (result.title.startsWith("Removing the pool is refused") ? 1 : 0));
      expect(failed.map((result) => `${result.command}: ${result.code}`), output).toEqual([]);
      expect(output).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+delete\s+[\d.]+ \w?i?B\s+3\.5 GiB/);
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
