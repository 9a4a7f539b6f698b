/**
 * A Debian root filesystem with only the given packages and their hard dependencies: `mmdebstrap
 * --variant=extract` unpacks them (no maintainer scripts run, so no shell, dpkg or apt come along),
 * then this completes what the scripts would have done for these packages: the merged-/usr links,
 * the dynamic linker's cache, and dpkg's status file, so scanners (and the SBOM) see every package.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { byCodePoint } from "../src/core/naming.js";
import { DEBIAN_MIRROR, DEBIAN_SUITE } from "./recipes.js";

export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  source: string;
  /** The control paragraph, as dpkg records it. */
  control: string;
}

const EXCLUDED_DOCS = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*", "/usr/share/lintian/*"];

/** Unpacks `packages` for amd64 into `root` (which must not exist); returns what was installed. */
export function debianRoot(root: string, packages: string[], sourceDateEpoch: number): DebianPackage[] {
  const dpkgOptions = [...EXCLUDED_DOCS.map((path) => `path-exclude=${path}`), "path-include=/usr/share/doc/*/copyright"];
  execFileSync(
    "mmdebstrap",
    [
      "--variant=extract",
      "--architectures=amd64",
      "--quiet",
      `--include=${packages.join(",")}`,
      ...dpkgOptions.map((option) => `--dpkgopt=${option}`),
      // The downloaded packages are read below for their control data, then removed.
      "--skip=cleanup/apt/cache",
      DEBIAN_SUITE,
      root,
      DEBIAN_MIRROR,
    ],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, SOURCE_DATE_EPOCH: String(sourceDateEpoch) } },
  );
  const archives = join(root, "var/cache/apt/archives");
  const installed = readdirSync(archives)
    .filter((file) => file.endsWith(".deb"))
    .map((file) => controlOf(join(archives, file)));
  mergedUsr(root);
  writeStatus(root, installed);
  // Everything apt and mmdebstrap left: caches, lists, logs, the build machine's resolver and name.
  for (const path of ["var/cache", "var/lib/apt", "var/log", "etc/apt", "etc/resolv.conf", "etc/hostname"])
    rmSync(join(root, path), { recursive: true, force: true });
  for (const entry of readdirSync(join(root, "dev"))) rmSync(join(root, "dev", entry), { recursive: true, force: true });
  for (const dir of ["proc", "sys", "run", "var/cache", "var/log"]) mkdirSync(join(root, dir), { recursive: true });
  return installed.sort((a, b) => byCodePoint(a.name, b.name));
}

function controlOf(deb: string): DebianPackage {
  const control = execFileSync("dpkg-deb", ["--field", deb], { encoding: "utf8" }).trimEnd();
  const field = (name: string): string => control.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1]?.trim() ?? "";
  const name = field("Package");
  return { name, version: field("Version"), architecture: field("Architecture"), source: field("Source").split(" ")[0] || name, control };
}

/** Debian trixie is merged-/usr: /bin, /sbin and /lib* are links into /usr (base-files' job, whose scripts did not run). */
function mergedUsr(root: string): void {
  for (const dir of ["bin", "sbin", "lib", "lib64"]) {
    if (!existsSync(join(root, "usr", dir))) mkdirSync(join(root, "usr", dir), { recursive: true });
    if (!existsSync(join(root, dir))) symlinkSync(`usr/${dir}`, join(root, dir));
  }
  // libc6's trigger: the linker's cache, so libraries in the multiarch directory are found.
  execFileSync("ldconfig", ["-r", root], { stdio: "inherit" });
}

function writeStatus(root: string, installed: DebianPackage[]): void {
  const status = installed.map((pkg) => pkg.control.replace(/^(Package: .*)$/m, "$1\nStatus: install ok installed")).join("\n\n");
  mkdirSync(join(root, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(root, "var/lib/dpkg/status"), `${status}\n`);
}
