import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real tier runs on its own (vitest.real.config.ts, `npm run test:real`).
    exclude: ["test/real/**", "test/images/**", "test/node/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default"],
  },
});
