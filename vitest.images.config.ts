import { defineConfig } from "vitest/config";

// The image tier (`npm run test:images`): the built images run for real. One file at a time, as the real tier.
export default defineConfig({
  test: {
    include: ["test/images/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
  },
});
