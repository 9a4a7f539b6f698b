/**
 * The host state a kubelet and containerd touch, so the node tier can put it back and prove it did: the
 * three sysctls the kubelet raises, the paths it and libcni write outside their own directories, network
 * namespaces, top-level cgroups, mounts under the places the tier uses, and processes naming its directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The kubelet sets these at start (vm.overcommit_memory 0->1, kernel.panic 1->10, kernel.panic_on_oops 0->1). */
export const KUBELET_SYSCTLS = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"];
/** Written by the kubelet (fixed paths, whatever its root dir), libcni, and containerd 1.6's shims. */
export const FIXED_PATHS = ["/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/var/lib/cni", "/run/containerd", "/run/netns"];
const CGROUP_ROOT = "/sys/fs/cgroup";

export interface HostState {
  sysctls: Record<string, string>;
  paths: string[];
  netns: string[];
  cgroups: string[];
  mounts: string[];
  processes: string[];
}

export function readSysctls(): Record<string, string> {
  return Object.fromEntries(KUBELET_SYSCTLS.map((name) => [name.replace("/", "."), readFileSync(`/proc/sys/${name}`, "utf8").trim()]));
}

export function writeSysctls(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) writeFileSync(`/proc/sys/${name.replace(".", "/")}`, value);
}

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** Every cgroup hierarchy's directory: the v1 controllers under /sys/fs/cgroup, or the v2 root itself. */
export function cgroupHierarchies(): string[] {
  const controllers = list(CGROUP_ROOT)
    .map((name) => join(CGROUP_ROOT, name))
    .filter((path) => existsSync(join(path, "cgroup.procs")));
  return existsSync(join(CGROUP_ROOT, "cgroup.procs")) ? [CGROUP_ROOT, ...controllers] : controllers;
}

/** Every hierarchy's top-level cgroups (kubepods is one the kubelet adds). */
export function topLevelCgroups(): string[] {
  return cgroupHierarchies().flatMap((hierarchy) =>
    list(hierarchy)
      .filter((name) => {
        try {
          return statSync(join(hierarchy, name)).isDirectory();
        } catch {
          return false;
        }
      })
      .map((name) => join(hierarchy, name)),
  );
}

/** Mount points, unescaped, from /proc/self/mountinfo, in mount order. */
export function mountPoints(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** Processes whose command line names `needle`. */
export function processesNaming(needle: string): string[] {
  return list("/proc")
    .filter((pid) => /^\d+$/.test(pid) && pid !== String(process.pid))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        return cmdline.includes(needle) ? [`${pid} ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

/** What the tier may change, as comparable lists; `dir` is the tier's own directory (or its prefix). */
export function hostState(dir: string): HostState {
  const places = FIXED_PATHS;
  return {
    sysctls: readSysctls(),
    paths: FIXED_PATHS.filter((path) => existsSync(path)),
    netns: list("/run/netns"),
    cgroups: topLevelCgroups(),
    // `dir` as a prefix: a test that does not know the tier's directory passes its mkdtemp prefix.
    mounts: mountPoints()
      .filter((point) => point.startsWith(dir) || places.some((place) => point === place || point.startsWith(`${place}/`)))
      .sort(),
    processes: processesNaming(dir),
  };
}

/** Unmounts every mount point at or under one of `places`, deepest first; lazily when busy. */
export function unmountUnder(places: string[]): string[] {
  const errors: string[] = [];
  const points = mountPoints()
    .filter((point) => places.some((place) => point === place || point.startsWith(`${place}/`)))
    .reverse();
  for (const point of points) {
    try {
      execFileSync("umount", [point], { stdio: "pipe" });
    } catch {
      try {
        execFileSync("umount", ["-l", point], { stdio: "pipe" });
      } catch (error) {
        errors.push(`umount ${point}: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }
  return errors;
}

/** Removes a cgroup and its children, deepest first (rmdir: a cgroup with processes stays, and says so). */
export function removeCgroup(path: string): string[] {
  if (!existsSync(path)) return [];
  const errors = list(path)
    .filter((name) => {
      try {
        return statSync(join(path, name)).isDirectory();
      } catch {
        return false;
      }
    })
    .flatMap((name) => removeCgroup(join(path, name)));
  try {
    rmdirSync(path);
  } catch (error) {
    errors.push(`rmdir ${path}: ${(error as Error).message}`);
  }
  return errors;
}
