// `npm run package`: builds the krew release archive for this platform (bundled CLI, launcher,
// completion helper, the native SQLite addon built here, LICENSE) and writes its real sha256 into
// krew-manifest.yaml. The addon is platform-specific, so each platform's archive is built on it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";

const root = new URL("../", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const os = process.platform === "darwin" ? "darwin" : "linux";
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const name = `kubectl-kadalu-v${pkg.version}-${os}-${arch}`;
const releaseDir = process.env.KADALU_RELEASE_DIR ?? join(root, "release");
const manifestPath = process.env.KADALU_KREW_MANIFEST ?? join(root, "krew-manifest.yaml");
const stage = join(releaseDir, name);

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, "dist"), { recursive: true });
for (const file of ["cli.cjs", "kube.cjs", "prompt.cjs"]) cpSync(join(root, "dist", file), join(stage, "dist", file));
cpSync(join(root, "bin"), join(stage, "bin"), { recursive: true, filter: (source) => !/kadalu-(operator|csi)$/.test(source) });
cpSync(join(root, "LICENSE"), join(stage, "LICENSE"));
for (const module of ["better-sqlite3", "bindings", "file-uri-to-path"]) {
  cpSync(join(root, "node_modules", module), join(stage, "node_modules", module), {
    recursive: true, filter: (source) => !/better-sqlite3\/(deps|src|build\/(Release\/(obj|obj\.target|\.deps|test_extension)|deps))/.test(source),
  });
}
const archive = join(releaseDir, `${name}.tar.gz`);
// Reproducible: sorted entries, fixed times and owners, no gzip timestamp.
const tar = execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", releaseDir, name], { maxBuffer: 1 << 30 });
writeFileSync(archive, execFileSync("gzip", ["-9", "-n"], { input: tar, maxBuffer: 1 << 30 }));
const sha256 = createHash("sha256").update(readFileSync(archive)).digest("hex");

const manifest = parseDocument(readFileSync(manifestPath, "utf8"));
manifest.setIn(["spec", "version"], `v${pkg.version}`);
// Each platform's entry is written where its archive is built, so no entry ever carries a made-up hash.
const platforms = manifest.getIn(["spec", "platforms"]);
const entries = platforms.items.filter((item) => !(item.getIn(["selector", "matchLabels", "os"]) === os && item.getIn(["selector", "matchLabels", "arch"]) === arch));
const entry = manifest.createNode({
  selector: { matchLabels: { os, arch } },
  uri: `https://github.com/kadalu/kubectl-kadalu/releases/download/v${pkg.version}/${name}.tar.gz`,
  sha256,
  bin: `${name}/bin/kubectl-kadalu`,
  files: [{ from: `${name}/*`, to: name }, { from: `${name}/LICENSE`, to: "." }],
});
platforms.items = [...entries, entry].sort((a, b) => `${a.getIn(["selector", "matchLabels", "os"])}/${a.getIn(["selector", "matchLabels", "arch"])}`.localeCompare(`${b.getIn(["selector", "matchLabels", "os"])}/${b.getIn(["selector", "matchLabels", "arch"])}`));
writeFileSync(manifestPath, manifest.toString({ lineWidth: 0 }));
console.log(`${archive}\nsha256 ${sha256} (${os}/${arch})`);
