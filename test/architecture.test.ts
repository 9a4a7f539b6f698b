/** The layering the tree promises: a pure core, one edge that alone imports the Kubernetes client. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const imports = (file: string): string[] => [...readFileSync(join(root, file), "utf8").matchAll(/(?:from|import\()\s*"([^"]+)"/g)].map((match) => match[1]!);

describe("architecture", () => {
  it("keeps src/core pure: no Node I/O, no SQLite, no Kubernetes client", () => {
    const offenders = sources("src/core").flatMap((file) => imports(file).filter((module) => module.startsWith("node:") || module === "better-sqlite3" || module.startsWith("@kubernetes/")).map((module) => `${file}: ${module}`));
    expect(offenders).toEqual([]);
  });

  it("imports the Kubernetes client only in src/kube (type-only imports aside)", () => {
    const offenders = [...sources("src"), ...sources("operator"), ...sources("csi")]
      .filter((file) => !file.startsWith(join("src", "kube")))
      .filter((file) => /^import (?!type)[^\n]*"@kubernetes\/client-node"/m.test(readFileSync(join(root, file), "utf8")))
      .map((file) => relative(root, join(root, file)));
    expect(offenders).toEqual([]);
  });

  it("loads the Kubernetes client lazily from the CLI", () => {
    const eager = sources("src/cli").filter((file) => /^import (?!type)[^\n]*"\.\.?\/.*kube\/client\.js"/m.test(readFileSync(join(root, file), "utf8")));
    expect(eager).toEqual([]);
  });
});
