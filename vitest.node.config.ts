import { defineConfig } from "vitest/config";

// The node tier (`npm run test:node`): a real kubelet on containerd in a network namespace of its own, with
// host-wide effects (sysctls, cgroups, /var paths): one file at a time.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
  },
});
