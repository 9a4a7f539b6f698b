/** `npm run package`: a release archive that runs as a plugin once unpacked, and a krew manifest that holds its real sha256. */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;
let manifest: any;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-package-"));
  copyFileSync(join(root, "krew-manifest.yaml"), join(dir, "krew-manifest.yaml"));
  execFileSync(process.execPath, [join(root, "scripts/package.mjs")], { env: { ...process.env, KADALU_RELEASE_DIR: dir, KADALU_KREW_MANIFEST: join(dir, "krew-manifest.yaml") } });
  manifest = parse(readFileSync(join(dir, "krew-manifest.yaml"), "utf8"));
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("krew release", () => {
  it("has a manifest valid by krew's rules", () => {
    expect(manifest).toMatchObject({ apiVersion: "krew.googlecontainertools.github.com/v1alpha2", kind: "Plugin", metadata: { name: "kadalu" } });
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(manifest.spec.version).toBe(`v${pkg.version}`);
    expect(manifest.spec.version).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(50);
    expect(manifest.spec.description.length).toBeGreaterThan(50);
    expect(manifest.spec.caveats).toContain("Node.js");
    expect(manifest.spec.caveats).toContain("kubectl_complete-kadalu");
    for (const platform of manifest.spec.platforms) {
      expect(platform.uri).toMatch(/^https:\/\/.*\.tar\.gz$/);
      expect(platform.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(platform.bin).toMatch(/bin\/kubectl-kadalu$/);
      expect(platform.files.some((file: any) => file.from.endsWith("LICENSE"))).toBe(true);
    }
  });

  it("holds the real sha256 of the archive it points to", () => {
    const os = process.platform === "darwin" ? "darwin" : "linux";
    const arch = process.arch === "arm64" ? "arm64" : "amd64";
    const entry = manifest.spec.platforms.find((p: any) => p.selector.matchLabels.os === os && p.selector.matchLabels.arch === arch);
    const archive = join(dir, entry.uri.split("/").pop());
    expect(entry.sha256).toBe(createHash("sha256").update(readFileSync(archive)).digest("hex"));
  });

  it("runs the plugin from the unpacked archive", () => {
    const entry = manifest.spec.platforms[0];
    const unpacked = join(dir, "unpacked");
    execFileSync("mkdir", ["-p", unpacked]);
    execFileSync("tar", ["-xzf", join(dir, entry.uri.split("/").pop()), "-C", unpacked]);
    const bin = join(unpacked, entry.bin);
    const env = { PATH: process.env.PATH, HOME: dir };
    const version = spawnSync(bin, ["version", "-o", "json", "--kubeconfig", join(dir, "none")], { env, encoding: "utf8" });
    expect(JSON.parse(version.stdout).plugin).toMatch(/^\d+\.\d+\.\d+$/);
    const dryRun = spawnSync(bin, ["storage-add", "pool1", "--path", "kube1:/data", "--dry-run", "-o", "json"], { env, encoding: "utf8" });
    expect(dryRun.status).toBe(0);
    expect(JSON.parse(dryRun.stdout).spec.storage).toEqual([{ node: "kube1", path: "/data" }]);
    const sqlite = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(join(unpacked, entry.bin, "../../node_modules/better-sqlite3"))})(":memory:").close()`], { env, encoding: "utf8" });
    expect(sqlite.status, sqlite.stderr).toBe(0);
    const complete = spawnSync(join(unpacked, entry.bin, "../kubectl_complete-kadalu"), ["stor"], { env, encoding: "utf8" });
    expect(complete.stdout.split("\n")[0]).toMatch(/^storage-add\t/);
  });
});
