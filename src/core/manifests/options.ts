/** Everything an install can be configured with, resolved to defaults in one place. */
import { UsageError } from "../errors.js";

export const PLATFORMS = ["kubernetes", "openshift", "microk8s", "rke"] as const;
export type Platform = (typeof PLATFORMS)[number];

export const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** Which image runs the bricks: this project's kadalu-server (Debian's GlusterFS 11.1) or upstream's. */
export const SERVER_IMAGES = ["kadalu", "upstream"] as const;
export type ServerImage = (typeof SERVER_IMAGES)[number];

export const DEFAULT_KUBELET_DIR = "/var/lib/kubelet";
export const MICROK8S_KUBELET_DIR = "/var/snap/microk8s/common/var/lib/kubelet";

/** Upstream's server image, selectable for a switch-over (`--server-image upstream`); its release is pinned here. */
export const UPSTREAM_SERVER_TAG = "1.2.0";
export const UPSTREAM_SERVER = { registry: "docker.io", repository: "kadalu", name: "kadalu-server" } as const;

/**
 * This project's images: a registry and repository path of our own, so a default reference can never
 * resolve to upstream Kadalu's `docker.io/kadalu/kadalu-operator` (its old Python runtimes).
 */
export const PROJECT_IMAGES = { registry: "ghcr.io", repository: "kubectl-kadalu" } as const;

/** Current kubernetes-csi sidecar releases. */
export const SIDECARS = {
  provisioner: "sig-storage/csi-provisioner:v5.3.0",
  resizer: "sig-storage/csi-resizer:v1.14.0",
  registrar: "sig-storage/csi-node-driver-registrar:v2.14.0",
  snapshotter: "sig-storage/csi-snapshotter:v8.3.0",
  snapshotController: "sig-storage/snapshot-controller:v8.3.0",
} as const;

export interface InstallOptions {
  namespace: string;
  version: string;
  platform: Platform;
  kubeletDir: string;
  /** Registry of this project's images (ghcr.io); when set explicitly, of every image (a mirror). */
  imageRegistry: string;
  imageRegistryExplicit: boolean;
  /** Repository path of this project's images (kubectl-kadalu). */
  imageRepository: string;
  imageTag: string;
  serverImage: ServerImage;
  /** Tag of upstream's server image (with serverImage "upstream"). */
  serverImageTag: string;
  imagePullPolicy: PullPolicy;
  imagePullSecrets: string[];
  verbose: boolean;
  /** Also render the Prometheus Operator's objects: metrics Services, a ServiceMonitor, a PodMonitor, a PrometheusRule. */
  serviceMonitor: boolean;
  /** Run the csi-snapshotter sidecar in the provisioner pod (the cluster serves the snapshot CRDs, or this install adds them). */
  snapshotter: boolean;
  /** Install external-snapshotter's v1 CRDs (`--snapshot-controller` on a cluster without them). */
  snapshotCrds: boolean;
  /** Install external-snapshotter's snapshot-controller (`--snapshot-controller` on a cluster without one). */
  snapshotController: boolean;
}

export interface InstallInput {
  namespace?: string;
  version: string;
  platform?: string;
  kubeletDir?: string;
  imageRegistry?: string;
  imageRepository?: string;
  imageTag?: string;
  serverImage?: string;
  serverImageTag?: string;
  imagePullPolicy?: string;
  imagePullSecrets?: string[];
  verbose?: boolean;
  serviceMonitor?: boolean;
  snapshotter?: boolean;
  /** The CRDs and the controller (each dropped later if the cluster has its own), and the sidecar. */
  snapshotController?: boolean;
}

/** --server-image-tag names a release of upstream's image: alone, it selects upstream's image (as before ours existed). */
function serverImageOf(input: InstallInput): ServerImage {
  const serverImage = (input.serverImage ?? (input.serverImageTag !== undefined ? "upstream" : "kadalu")) as ServerImage;
  if (!SERVER_IMAGES.includes(serverImage)) throw new UsageError(`--server-image "${input.serverImage}" is not valid; use one of ${SERVER_IMAGES.join(", ")}`);
  if (serverImage === "kadalu" && input.serverImageTag !== undefined) {
    throw new UsageError(
      "--server-image-tag is the tag of upstream's server image: give it with --server-image upstream (this project's server image has --image-tag's tag)",
    );
  }
  return serverImage;
}

export function resolveInstallOptions(input: InstallInput): InstallOptions {
  const platform = (input.platform ?? "kubernetes") as Platform;
  if (!PLATFORMS.includes(platform)) throw new UsageError(`--type "${input.platform}" is not valid; use one of ${PLATFORMS.join(", ")}`);
  const policy = (input.imagePullPolicy ?? "IfNotPresent") as PullPolicy;
  if (!PULL_POLICIES.includes(policy))
    throw new UsageError(`--image-pull-policy "${input.imagePullPolicy}" is not valid; use one of ${PULL_POLICIES.join(", ")}`);
  const serverImage = serverImageOf(input);
  const kubeletDir = (input.kubeletDir ?? (platform === "microk8s" ? MICROK8S_KUBELET_DIR : DEFAULT_KUBELET_DIR)).replace(/\/+$/, "");
  if (!kubeletDir.startsWith("/")) throw new UsageError(`--kubelet-dir "${input.kubeletDir}" must be an absolute path`);
  return {
    namespace: input.namespace ?? "kadalu",
    version: input.version,
    platform,
    kubeletDir,
    imageRegistry: (input.imageRegistry ?? PROJECT_IMAGES.registry).replace(/\/+$/, ""),
    imageRegistryExplicit: input.imageRegistry !== undefined,
    imageRepository: (input.imageRepository ?? PROJECT_IMAGES.repository).replace(/^\/+|\/+$/g, ""),
    imageTag: input.imageTag ?? input.version,
    serverImage,
    serverImageTag: input.serverImageTag ?? UPSTREAM_SERVER_TAG,
    imagePullPolicy: policy,
    imagePullSecrets: input.imagePullSecrets ?? [],
    verbose: input.verbose ?? false,
    serviceMonitor: input.serviceMonitor ?? false,
    snapshotter: Boolean(input.snapshotter || input.snapshotController),
    snapshotCrds: input.snapshotController ?? false,
    snapshotController: input.snapshotController ?? false,
  };
}

/** This project's images (the brick server's too, unless upstream's is chosen). */
export function kadaluImage(options: InstallOptions, name: "kadalu-operator" | "kadalu-csi" | "kadalu-server"): string {
  if (name === "kadalu-server" && options.serverImage === "upstream")
    return `${serverRegistry(options)}/${UPSTREAM_SERVER.repository}/${UPSTREAM_SERVER.name}:${options.serverImageTag}`;
  return `${options.imageRegistry}/${options.imageRepository}/${name}:${options.imageTag}`;
}

/** Where the server image comes from: ours with the other images; upstream's from Docker Hub unless a mirror is named for every image. */
export function serverRegistry(options: InstallOptions): string {
  if (options.serverImage === "kadalu") return options.imageRegistry;
  return options.imageRegistryExplicit ? options.imageRegistry : UPSTREAM_SERVER.registry;
}

export function sidecarImage(options: InstallOptions, sidecar: keyof typeof SIDECARS): string {
  return `${options.imageRegistryExplicit ? options.imageRegistry : "registry.k8s.io"}/${SIDECARS[sidecar]}`;
}
