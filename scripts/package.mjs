// `npm run package`: kubectl-kadalu as a single executable (Node's single executable applications,
// injected with postject) for the five krew platforms, one reproducible archive each (the binary and
// LICENSE), and their sha256 in krew-manifest.yaml. The embedded Node comes from the npm registry's
// node-<os>-<arch> packages, pinned with their integrity in scripts/node-runtimes.json and cached in
// ~/.cache/kubectl-kadalu/node-runtimes. KADALU_PLATFORMS=linux-amd64,... builds only those.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { inject } from "postject";
import { parseDocument } from "yaml";

const root = new URL("../", import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const runtimes = JSON.parse(readFileSync(join(root, "scripts/node-runtimes.json"), "utf8"));
const releaseDir = process.env.KADALU_RELEASE_DIR ?? join(root, "release");
const manifestPath = process.env.KADALU_KREW_MANIFEST ?? join(root, "krew-manifest.yaml");
const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kubectl-kadalu", "node-runtimes");
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const wanted = (process.env.KADALU_PLATFORMS ?? Object.keys(runtimes.platforms).join(",")).split(",");
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

for (const platform of wanted)
  if (!runtimes.platforms[platform]) throw new Error(`unknown platform ${platform}; known: ${Object.keys(runtimes.platforms).join(", ")}`);
if (process.platform !== "linux" || process.arch !== "x64")
  throw new Error(`the single binaries are built on linux-x64 (the blob generator runs here); this is ${process.platform}-${process.arch}`);

/** The unpacked runtime package (verified against its pinned integrity), downloaded once. */
function runtime(spec) {
  const integrity = runtimes.packages[spec];
  if (!integrity) throw new Error(`${spec} is not pinned in scripts/node-runtimes.json`);
  const dir = join(cacheDir, spec.replace("@", "-"));
  if (existsSync(join(dir, ".verified"))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const packed = JSON.parse(
    execFileSync("npm", ["pack", spec, "--json", "--pack-destination", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  )[0];
  const tarball = join(dir, packed.filename);
  const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  if (actual !== integrity) throw new Error(`${spec}: integrity ${actual} is not the pinned ${integrity}`);
  execFileSync("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"]);
  rmSync(tarball);
  writeFileSync(join(dir, ".verified"), `${integrity}\n`);
  return dir;
}

const BUNDLES = ["cli.cjs", "kube.cjs", "prompt.cjs"];

/**
 * The SEA blob for one Node version: scripts/sea-main.cjs, with the npm package's bundles as assets and
 * a V8 code cache of each made by `generator` (a Node of that version for this host).
 */
function blob(generator, out) {
  const dir = `${out}.d`;
  mkdirSync(dir, { recursive: true });
  for (const bundle of BUNDLES) copyFileSync(join(root, "dist", bundle), join(dir, bundle));
  const node = join(generator, "bin/node");
  execFileSync(node, [join(root, "scripts/sea-code-cache.cjs"), ...BUNDLES.map((bundle) => join(dir, bundle))]);
  const assets = Object.fromEntries(
    BUNDLES.flatMap((bundle) => [
      [bundle, join(dir, bundle)],
      [`${bundle}.v8`, join(dir, `${bundle}.v8`)],
    ]),
  );
  const config = `${out}.json`;
  writeFileSync(
    config,
    JSON.stringify({
      main: join(root, "scripts/sea-main.cjs"),
      output: out,
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
      assets,
    }),
  );
  execFileSync(node, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "inherit"] });
  return readFileSync(out);
}

function archive(stage, name) {
  const file = join(releaseDir, `${name}.tar.gz`);
  const tar = execFileSync(
    "tar",
    ["--sort=name", `--mtime=@${epoch}`, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", join(stage, ".."), name],
    { maxBuffer: 1 << 30 },
  );
  writeFileSync(file, execFileSync("gzip", ["-9", "-n"], { input: tar, maxBuffer: 1 << 30 }));
  return file;
}

mkdirSync(releaseDir, { recursive: true });
const work = join(releaseDir, ".work");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const manifest = parseDocument(readFileSync(manifestPath, "utf8"));
manifest.setIn(["spec", "version"], `v${pkg.version}`);
const entries = new Map(
  manifest
    .getIn(["spec", "platforms"])
    .items.map((item) => [`${item.getIn(["selector", "matchLabels", "os"])}-${item.getIn(["selector", "matchLabels", "arch"])}`, item]),
);
const blobs = new Map();
for (const platform of wanted) {
  const [os, arch] = platform.split("-");
  const target = runtimes.platforms[platform];
  const version = target.runtime.split("@")[1];
  const key = version;
  if (!blobs.has(key)) blobs.set(key, blob(runtime(`${runtimes.generator}@${version}`), join(work, `sea-${key}.blob`)));
  const name = `kubectl-kadalu-v${pkg.version}-${platform}`;
  const stage = join(work, name);
  mkdirSync(stage, { recursive: true });
  const exe = os === "windows" ? "kubectl-kadalu.exe" : "kubectl-kadalu";
  copyFileSync(join(runtime(target.runtime), target.binary), join(stage, exe));
  chmodSync(join(stage, exe), 0o755);
  await inject(join(stage, exe), "NODE_SEA_BLOB", blobs.get(key), { sentinelFuse: SEA_FUSE, ...(os === "darwin" ? { machoSegmentName: "NODE_SEA" } : {}) });
  copyFileSync(join(root, "LICENSE"), join(stage, "LICENSE"));
  const file = archive(stage, name);
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  entries.set(
    platform,
    manifest.createNode({
      selector: { matchLabels: { os, arch } },
      uri: `https://github.com/kadalu/kubectl-kadalu/releases/download/v${pkg.version}/${name}.tar.gz`,
      sha256,
      bin: exe,
      files: [
        { from: `${name}/${exe}`, to: "." },
        { from: `${name}/LICENSE`, to: "." },
      ],
    }),
  );
  console.log(`${file}  sha256 ${sha256}${target.note ? `  (${target.note})` : ""}`);
}
manifest.setIn(["spec", "platforms"], manifest.createNode([...entries.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, item]) => item)));
writeFileSync(manifestPath, manifest.toString({ lineWidth: 0 }));
rmSync(work, { recursive: true, force: true });
