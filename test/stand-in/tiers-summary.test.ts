/** `npm test`'s closing summary: a tier that could not run is counted as skipped, with its reason. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The summary's last two lines when `tier` runs with no Kubernetes binaries. */
function withoutBinaries(tier: string): { lines: string[]; status: number | null } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/test-tiers.ts", tier], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, KADALU_K8S_BIN: "/nonexistent/k8s-bin" },
  });
  return { lines: result.stdout.trimEnd().split("\n").slice(-2), status: result.status };
}

it("counts the real tier without its binaries as one skipped, saying why, and exits 0", () => {
  const { lines, status } = withoutBinaries("real");
  expect(lines).toEqual([
    expect.stringMatching(
      /^real tier: 0 passed, 0 failed, 1 skipped \(the whole tier: no kube-apiserver.* in \/nonexistent\/k8s-bin \(set KADALU_K8S_BIN .*\)\)$/,
    ),
    "0 passed, 0 failed, 1 skipped",
  ]);
  expect(status).toBe(0);
});

it("counts the node tier without its binaries as one skipped, saying why, and exits 0", () => {
  const { lines, status } = withoutBinaries("node");
  expect(lines).toEqual([expect.stringMatching(/^node tier: 0 passed, 0 failed, 1 skipped \(the whole tier: .+\)$/), "0 passed, 0 failed, 1 skipped"]);
  expect(status).toBe(0);
});
