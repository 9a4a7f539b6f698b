/**
 * What the node tier needs on this machine, found once: the real tier's Kubernetes parts plus the kubelet
 * and the scheduler, containerd and runc, the CNI plugins, iptables, gcc with a static libc (the pause
 * binary), and root; or the one-line reason it cannot run here and how to enable it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { binary, k8sBinDir, kubernetesParts, which, type KubernetesParts } from "../real/components.js";

export const CNI_DIR = "/usr/lib/cni";
const CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"];

export interface NodeParts {
  kube: KubernetesParts;
  kubelet: string;
  scheduler: string;
  proxy: string;
  /** csi-node-driver-registrar, the one CSI sidecar the real tier does not use. */
  registrar: string;
  /** CoreDNS: Service and pod names (brick pods by their StatefulSet names) resolve from pods. */
  coredns: string;
  containerd: string;
  ctr: string;
  runc: string;
  gcc: string;
  ip: string;
  nsenter: string;
}

const DEBIAN = "apt-get install containerd runc containernetworking-plugins iptables etcd-server gcc libc6-dev";

function staticLibc(gcc: string): boolean {
  try {
    return existsSync(execFileSync(gcc, ["-print-file-name=libc.a"], { encoding: "utf8" }).trim());
  } catch {
    return false;
  }
}

export function nodeParts(): NodeParts | string {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return "a kubelet and containerd need root on Linux";
  const kube = kubernetesParts();
  if (typeof kube === "string") return kube;
  const dir = k8sBinDir();
  const missingK8s = ["kubelet", "kube-scheduler", "kube-proxy", "csi-node-driver-registrar", "coredns"].filter(
    (name) => !existsSync(`${dir}/${name}`) && !existsSync(`${dir}/${name}.xz`),
  );
  if (missingK8s.length > 0) return `no ${missingK8s.join(", ")} in ${dir} (set KADALU_K8S_BIN to a directory holding them, plain or .xz)`;
  const [containerd, ctr, runc, gcc, ip, nsenter, iptables] = ["containerd", "ctr", "runc", "gcc", "ip", "nsenter", "iptables"].map(which);
  const missing = Object.entries({ containerd, ctr, runc, gcc, ip, nsenter, iptables })
    .filter(([, path]) => !path)
    .map(([name]) => name);
  const cni = CNI_PLUGINS.filter((plugin) => !existsSync(`${CNI_DIR}/${plugin}`));
  if (cni.length > 0) missing.push(`CNI plugins ${cni.join(", ")} in ${CNI_DIR}`);
  if (gcc && !staticLibc(gcc)) missing.push("a static libc (libc.a)");
  if (missing.length > 0) return `${missing.join(", ")} not installed (${DEBIAN})`;
  // The kubelet's device-plugin socket and pod logs have fixed paths: one kubelet per machine.
  if (existsSync("/var/lib/kubelet/device-plugins"))
    return "/var/lib/kubelet/device-plugins exists: a kubelet runs on this machine, or a killed node-tier run left it (then remove /var/lib/kubelet)";
  if (!existsSync("/sys/fs/cgroup/memory"))
    return "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory (the tier runs the kubelet with cgroupfs on cgroups v1)";
  return {
    kube,
    kubelet: binary("kubelet", dir),
    scheduler: binary("kube-scheduler", dir),
    proxy: binary("kube-proxy", dir),
    registrar: binary("csi-node-driver-registrar", dir),
    coredns: binary("coredns", dir),
    containerd: containerd!,
    ctr: ctr!,
    runc: runc!,
    gcc: gcc!,
    ip: ip!,
    nsenter: nsenter!,
  };
}

const parts = nodeParts();
/** The parts, when the tier can run. */
export const node: NodeParts | undefined = typeof parts === "string" ? undefined : parts;
/** Why the node tier skips (undefined: it runs). */
export const noNode: string | undefined = typeof parts === "string" ? parts : undefined;
