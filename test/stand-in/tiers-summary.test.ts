/** `npm test`'s closing summary: a tier that could not run is counted as skipped, with its reason. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

it("counts the real tier without its binaries as one skipped, saying why, and exits 0", () => {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/test-tiers.ts", "real"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, KADALU_K8S_BIN: "/nonexistent/k8s-bin" },
  });
  const lines = result.stdout.trimEnd().split("\n");
  expect(lines.slice(-2)).toEqual([
    expect.stringMatching(
      /^real tier: 0 passed, 0 failed, 1 skipped \(the whole tier: no kube-apiserver.* in \/nonexistent\/k8s-bin \(set KADALU_K8S_BIN .*\)\)$/,
    ),
    "0 passed, 0 failed, 1 skipped",
  ]);
  expect(result.status).toBe(0);
});

it("counts the node tier without its binaries as one skipped, saying why, and exits 0", () => {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/test-tiers.ts", "node"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, KADALU_K8S_BIN: "/nonexistent/k8s-bin" },
  });
  const lines = result.stdout.trimEnd().split("\n");
  expect(lines.slice(-2)).toEqual([
    expect.stringMatching(/^node tier: 0 passed, 0 failed, 1 skipped \(the whole tier: .+\)$/),
    "0 passed, 0 failed, 1 skipped",
  ]);
  expect(result.status).toBe(0);
});
