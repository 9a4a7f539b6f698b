import { defineConfig } from "vitest/config";

// The real tier: real kube-apiserver, controller-manager, sidecars, csi-sanity and GlusterFS. One file at
// a time (they share glusterd's port and the machine's two cores).
export default defineConfig({
  test: {
    include: ["test/real/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
  },
});
