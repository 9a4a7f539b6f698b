/**
 * The linux-amd64 single binary for the start-up figures: unpacked from release/ when `npm run package`
 * made it, else built into a temporary directory (its Node from the npm registry, cached).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

export function singleBinary(): { binary: string; node: string; version: string; cleanup: () => void } | string {
  if (process.platform !== "linux" || process.arch !== "x64") return `built on linux-x64 only, this is ${process.platform}-${process.arch}`;
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const runtimes = JSON.parse(readFileSync(join(root, "scripts/node-runtimes.json"), "utf8"));
  const name = `kubectl-kadalu-v${pkg.version}-linux-amd64`;
  const dir = mkdtempSync(join(tmpdir(), "kadalu-bench-sea-"));
  try {
    let archive = join(root, "release", `${name}.tar.gz`);
    if (!existsSync(archive)) {
      copyFileSync(join(root, "krew-manifest.yaml"), join(dir, "krew-manifest.yaml"));
      execFileSync(process.execPath, [join(root, "scripts/package.mjs")], {
        env: { ...process.env, KADALU_RELEASE_DIR: dir, KADALU_KREW_MANIFEST: join(dir, "krew-manifest.yaml"), KADALU_PLATFORMS: "linux-amd64" },
        stdio: "ignore",
      });
      archive = join(dir, `${name}.tar.gz`);
    }
    execFileSync("tar", ["-xzf", archive, "-C", dir]);
    const spec: string = runtimes.platforms["linux-amd64"].runtime;
    const node = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kubectl-kadalu", "node-runtimes", spec.replace("@", "-"), "bin", "node");
    return { binary: join(dir, name, "kubectl-kadalu"), node, version: spec.split("@")[1]!, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `could not build it: ${(error as Error).message.split("\n")[0]}`;
  }
}
