/** The node's configuration files: containerd's, the CNI bridge network's and the kubelet's. */
import { join } from "node:path";
import { stringify } from "yaml";
import { CNI_DIR } from "./components.js";
import { PAUSE_IMAGE } from "./images.js";

export const POD_SUBNET = "10.244.0.0/24";

/** containerd with everything under `dir`, runc with cgroupfs, and the CRI settings this machine needs. */
export function containerdConfig(dir: string, socket: string): string {
  const cd = join(dir, "containerd");
  return `version = 2
root = "${cd}/root"
state = "${cd}/state"
plugin_dir = ""
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${cd}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${cd}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_DIR}"
    conf_dir = "${dir}/cni/net.d"
`;
}

export function cniConfig(dir: string, id: string): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: `kadalu-node-${id}`,
    plugins: [
      {
        type: "bridge",
        bridge: `kn${id}br`,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(dir, "cni", "ipam") },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  });
}

/** CoreDNS on the node's IP: the cluster.local zone from the apiserver, pod names of headless Services included. */
export function corefile(nodeIp: string, kubeconfig: string): string {
  return `.:53 {
  bind ${nodeIp}
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${kubeconfig}
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 5
}
`;
}

export function kubeletConfig(nodeIp: string): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "cgroupfs",
    address: nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    // The apiserver reaches the kubelet (logs, exec) over the private veth only.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: "AlwaysAllow" },
    failSwapOn: false,
    clusterDomain: "cluster.local",
    clusterDNS: [nodeIp],
    resolvConf: "/etc/resolv.conf",
    serializeImagePulls: false,
    // Imported images cannot be pulled again: never collect them, never evict for a full shared disk.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
  });
}
