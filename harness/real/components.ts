/**
 * Where the real tier's components come from, and why a part of it is skipped: the Kubernetes binaries
 * in KADALU_K8S_BIN (default ../shared/k8s, plain or xz-compressed; compressed ones are unpacked once
 * into a cache outside the repository), etcd and GlusterFS from the machine's PATH.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const K8S_BINARIES = ["kube-apiserver", "kube-controller-manager", "csi-provisioner", "csi-resizer", "csi-sanity"] as const;
export type K8sBinary = (typeof K8S_BINARIES)[number];

const REPO = fileURLToPath(new URL("../../", import.meta.url));

export function k8sBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO, env.KADALU_K8S_BIN ?? "../shared/k8s");
}

/** A program on PATH (or one of the sbin directories root has), or undefined. */
export function which(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  return dirs
    .map((dir) => join(dir, program))
    .find((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "kubectl-kadalu", "k8s");
}

/** The runnable path of one Kubernetes binary, unpacking NAME.xz into the cache when needed. */
export function binary(name: string, dir: string = k8sBinDir()): string {
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;
  const packed = `${plain}.xz`;
  const stamp = statSync(packed);
  const cached = join(cacheDir(), `${name}-${stamp.size}-${Math.floor(stamp.mtimeMs)}`);
  if (!existsSync(cached)) {
    mkdirSync(cacheDir(), { recursive: true });
    const partial = `${cached}.${process.pid}.partial`;
    writeFileSync(partial, execFileSync("xz", ["-dc", packed], { maxBuffer: 512 * 1024 * 1024 }));
    chmodSync(partial, 0o755);
    renameSync(partial, cached);
  }
  return cached;
}

export interface KubernetesParts {
  bins: Record<K8sBinary, string>;
  etcd: string;
}

/** The Kubernetes parts, or the one-line reason they cannot run here and how to enable them. */
export function kubernetesParts(env: NodeJS.ProcessEnv = process.env): KubernetesParts | string {
  const dir = k8sBinDir(env);
  const missing = K8S_BINARIES.filter((name) => !existsSync(join(dir, name)) && !existsSync(join(dir, `${name}.xz`)));
  if (missing.length > 0) return `no ${missing.join(", ")} in ${dir} (set KADALU_K8S_BIN to a directory holding them, plain or .xz)`;
  if (!which("xz") && K8S_BINARIES.some((name) => !existsSync(join(dir, name)))) return "xz is not installed (apt-get install xz-utils)";
  const etcd = which("etcd");
  if (!etcd) return "etcd is not installed (apt-get install etcd-server)";
  const bins = Object.fromEntries(K8S_BINARIES.map((name) => [name, binary(name, dir)])) as Record<K8sBinary, string>;
  return { bins, etcd };
}

export interface GlusterParts {
  glusterd: string;
  gluster: string;
  glusterfs: string;
}

/** GlusterFS server and client, root, FUSE and mount namespaces, or why not. */
export function glusterParts(): GlusterParts | string {
  const [glusterd, gluster, glusterfs] = ["glusterd", "gluster", "glusterfs"].map(which);
  if (!glusterd || !gluster || !glusterfs) return "GlusterFS is not installed (apt-get install glusterfs-server glusterfs-client)";
  if (process.getuid?.() !== 0) return "GlusterFS bricks and FUSE mounts need root";
  if (!existsSync("/dev/fuse")) return "no /dev/fuse on this machine";
  if (!which("unshare") || !which("nsenter")) return "unshare/nsenter are not installed (util-linux)";
  return { glusterd, gluster, glusterfs };
}

export interface PrometheusParts {
  prometheus: string;
  promtool: string;
}

/** Debian's Prometheus server and promtool (the scrape, the rule engine and the exposition linter), or why not. */
export function prometheusParts(): PrometheusParts | string {
  const [prometheus, promtool] = ["prometheus", "promtool"].map(which);
  if (!prometheus || !promtool) return "Prometheus is not installed (apt-get install prometheus)";
  return { prometheus, promtool };
}
