/** The linux-amd64 single binary, built by `npm run package`'s script into a directory of the test's own. */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Why the binary cannot be built here, or undefined: it needs linux-x64 and its Node, cached or from the registry. */
export function cannotBuildSingleBinary(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return `the single binaries are built on linux-x64, this is ${process.platform}-${process.arch}`;
  const spec: string = JSON.parse(readFileSync(join(root, "scripts/node-runtimes.json"), "utf8")).platforms["linux-amd64"].runtime;
  const cached = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kubectl-kadalu", "node-runtimes", spec.replace("@", "-"), ".verified");
  if (existsSync(cached)) return undefined;
  const registry = spawnSync("npm", ["view", spec, "dist.integrity"], { encoding: "utf8", timeout: 30_000 });
  return registry.status === 0
    ? undefined
    : `${spec} is not cached and the npm registry does not answer (${(registry.stderr || "timeout").trim().split("\n")[0]})`;
}

/** Builds the linux-amd64 archive into `dir` with a krew manifest of its own; returns that manifest's text. */
export function buildSingleBinary(dir: string): string {
  const manifest = join(dir, "krew-manifest.yaml");
  copyFileSync(join(root, "krew-manifest.yaml"), manifest);
  execFileSync(process.execPath, [join(root, "scripts/package.mjs")], {
    env: { ...process.env, KADALU_RELEASE_DIR: dir, KADALU_KREW_MANIFEST: manifest, KADALU_PLATFORMS: "linux-amd64" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return readFileSync(manifest, "utf8");
}
