import { defineConfig } from "vitest/config";

// The stand-in tier (`npm test`): test/stand-in, one folder per area. The real, image and node tiers run on
// their own configs (vitest.real.config.ts, vitest.images.config.ts, vitest.node.config.ts).
export default defineConfig({
  test: {
    include: ["test/stand-in/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default"],
  },
});
