// Bundles the three programs. The CLI is split so that the Kubernetes client and the prompt library
// are separate chunks, loaded only by the commands that need them.
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
// CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
const banner = { js: "import { createRequire as __kadaluRequire } from 'node:module'; const require = __kadaluRequire(import.meta.url);" };

const common = {
  bundle: true, platform: "node", target: "node20", format: "esm", sourcemap: false, minify: true,
  legalComments: "none", keepNames: true, banner, external: ["better-sqlite3"], define: { __KADALU_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
};

rmSync(new URL("../dist/", import.meta.url), { recursive: true, force: true });

await build({
  ...common, entryPoints: { cli: "src/cli/bin.ts" }, outdir: "dist", splitting: true, chunkNames: "chunks/[name]-[hash]",
});
