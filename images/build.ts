/**
 * `npm run images`: OCI image archives of the operator, the CSI driver and the brick server, with an SPDX SBOM each,
 * in release/images/ (or KADALU_IMAGES_DIR). No Docker daemon and no registry: Debian packages from
 * the Debian mirror (mmdebstrap), this repository's build (`npm run build` first), GNU tar and Node.
 * Reproducible: the time of every file and document is SOURCE_DATE_EPOCH (default: the commit's time).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { byCodePoint } from "../src/core/naming.js";
import { debianRoot, type DebianPackage } from "./debian.js";
import { inputsDigest, inputsFile } from "./inputs.js";
import { writeImage, type BuiltImage } from "./oci.js";
import { APP_DIR, DEBIAN_SUITE, npmPackagesOf, RECIPES, type Recipe } from "./recipes.js";
import { spdxDocument, type NpmPackage } from "./sbom.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

export interface ImageReport {
  recipe: Recipe;
  image: BuiltImage;
  sbom: string;
  debian: DebianPackage[];
  seconds: number;
}

export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  if (env.SOURCE_DATE_EPOCH) return Number(env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    return 0;
  }
}

/** The programs' files with modes fixed (a checkout's modes follow its umask): 0755 for programs and directories, 0644 else. */
function copyApp(recipe: Recipe, appRoot: string): void {
  for (const file of recipe.files) {
    const target = join(appRoot, file.to);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(REPO, file.from), target, { recursive: true, dereference: true });
  }
  const fix = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      chmodSync(path, 0o755);
      for (const entry of readdirSync(path)) fix(join(path, entry));
    } else chmodSync(path, path.includes("/bin/") || path.endsWith(".sh") ? 0o755 : 0o644);
  };
  fix(appRoot);
}

function npmPackages(recipe: Recipe): NpmPackage[] {
  const bundled: Record<string, NpmPackage[]> = JSON.parse(readFileSync(join(REPO, "dist/packages.json"), "utf8"));
  const bundles = recipe.files.map((file) => file.from.match(/^dist\/(.+\.cjs)$/)?.[1]).filter((name): name is string => Boolean(name));
  const installed = npmPackagesOf(recipe).map((name) => {
    const pkg = JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8"));
    return { name: pkg.name, version: pkg.version, license: typeof pkg.license === "string" ? pkg.license : "" };
  });
  const all = [...bundles.flatMap((bundle) => bundled[bundle] ?? []), ...installed];
  return all
    .filter((pkg, index) => all.findIndex((other) => other.name === pkg.name && other.version === pkg.version) === index)
    .sort((a, b) => byCodePoint(a.name, b.name));
}

/** Runs a command inside the image's filesystem (root, no namespaces: only to check the image works). */
function inImage(root: string, command: string[]): string {
  return execFileSync("chroot", [root, ...command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
}

/** Fails the build if the image cannot run its programs: its Node, the native modules' ABI, the tools. */
function check(recipe: Recipe, root: string): void {
  const abi = inImage(root, ["/usr/bin/node", "-p", "process.versions.modules"]).trim();
  if (recipe.name === "kadalu-csi") {
    // The native modules come from this machine's node_modules, compiled for the Node that ran npm ci.
    if (abi !== process.versions.modules) {
      throw new Error(
        `the image's Node has ABI ${abi} and better-sqlite3 here was built for ABI ${process.versions.modules} (Node ${process.version}); run npm ci and npm run images with Node 20`,
      );
    }
    inImage(root, [
      "/usr/bin/node",
      "-e",
      `require("${APP_DIR}/node_modules/better-sqlite3")(":memory:").close(); require("${APP_DIR}/node_modules/@napi-rs/xattr")`,
    ]);
    for (const tool of [
      ["glusterfs", "--version"],
      ["mount", "--version"],
      ["tar", "--version"],
      ["mkfs.xfs", "-V"],
      ["mkfs.ext4", "-V"],
    ])
      inImage(root, tool);
  }
  if (recipe.name === "kadalu-server") {
    for (const tool of [
      ["glusterfsd", "--version"],
      ["glusterfs", "--version"],
      ["getfattr", "--version"],
      ["setfattr", "--version"],
      ["mount", "--version"],
      ["mkfs.xfs", "-V"],
    ])
      inImage(root, tool);
    const version = inImage(root, ["glusterfsd", "--version"]).split("\n")[0]!;
    if (!/^glusterfs 1[1-9]\./.test(version)) throw new Error(`the image's GlusterFS is "${version}": bricks need 11 or later for simple-quota`);
    inImage(root, ["/usr/bin/node", "-e", `require("${APP_DIR}/node_modules/@napi-rs/xattr")`]);
    inImage(root, [
      "/usr/bin/node",
      "-e",
      "require('fs').accessSync(require('fs').readdirSync('/usr/lib/x86_64-linux-gnu/glusterfs').map((v) => `/usr/lib/x86_64-linux-gnu/glusterfs/${v}/xlator/features/simple-quota.so`)[0])",
    ]);
  }
}

export function buildImage(recipe: Recipe, outDir: string, epoch: number, version: string): ImageReport {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), `kadalu-image-${recipe.name}-`));
  try {
    const root = join(work, "root");
    const app = join(work, "app");
    const debian = debianRoot(root, recipe.packages, epoch);
    for (const path of recipe.prune) rmSync(join(root, path), { recursive: true, force: true });
    for (const [path, target] of Object.entries(recipe.links ?? {})) symlinkSync(target, join(root, path));
    for (const dir of recipe.dirs ?? []) mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
    const inputs = inputsDigest(recipe, REPO);
    copyApp(recipe, app);
    cpSync(join(app, APP_DIR), join(root, APP_DIR), { recursive: true });
    check(recipe, root);
    const image = writeImage(
      outDir,
      recipe.name,
      version,
      [
        { dir: root, exclude: [APP_DIR.slice(1)], comment: `Debian ${DEBIAN_SUITE}: ${recipe.packages.join(", ")} and their dependencies` },
        { dir: app, comment: "kubectl-kadalu's programs" },
      ],
      {
        entrypoint: recipe.entrypoint,
        user: recipe.user,
        env: recipe.env,
        workingDir: APP_DIR,
        labels: {
          "org.opencontainers.image.description": recipe.description,
          "org.opencontainers.image.licenses": "Apache-2.0",
          "org.opencontainers.image.version": version,
        },
      },
      epoch,
    );
    const sbom = join(outDir, `${recipe.name}.spdx.json`);
    writeFileSync(sbom, spdxDocument({ name: recipe.name, tag: version, digest: image.digest }, debian, npmPackages(recipe), epoch));
    writeFileSync(inputsFile(outDir, recipe), `${inputs}\n`);
    return { recipe, image, sbom, debian, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const MB = 1024 * 1024;

function main(): void {
  const version: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
  const outDir = process.env.KADALU_IMAGES_DIR ?? join(REPO, "release", "images");
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !RECIPES.some((recipe) => recipe.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`error: no image named ${unknown.join(", ")}; images: ${RECIPES.map((recipe) => recipe.name).join(", ")}\n`);
    process.exit(2);
  }
  const missing = ["mmdebstrap", "dpkg-deb", "ldconfig", "tar", "chroot"].filter((tool) => {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    process.stderr.write(`error: ${missing.join(", ")} not found; install them with: apt-get install mmdebstrap dpkg tar coreutils\n`);
    process.exit(1);
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("error: building images needs root (mmdebstrap unpacks packages as their owners); run it as root or in a root container\n");
    process.exit(1);
  }
  mkdirSync(outDir, { recursive: true });
  const epoch = sourceDateEpoch();
  for (const recipe of RECIPES.filter((candidate) => wanted.length === 0 || wanted.includes(candidate.name))) {
    process.stderr.write(`building ${recipe.name}:${version} (SOURCE_DATE_EPOCH=${epoch})\n`);
    let report: ImageReport;
    try {
      report = buildImage(recipe, outDir, epoch, version);
    } catch (error) {
      process.stderr.write(`error: ${recipe.name}: ${(error as Error).message.split("\n")[0]}\n`);
      process.exit(1);
    }
    const compressed = statSync(report.image.archive).size;
    process.stdout.write(
      `${recipe.name}:${version}  ${report.image.digest}  ${(report.image.size / MB).toFixed(1)} MB uncompressed, ${(compressed / MB).toFixed(1)} MB archive, ${report.debian.length} Debian packages, ${report.seconds.toFixed(0)} s\n  ${report.image.archive}\n  ${report.sbom}\n`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
