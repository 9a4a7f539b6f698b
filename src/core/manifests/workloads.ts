/** The operator Deployment, the CSIDriver and the CSI driver's provisioner StatefulSet and nodeplugin DaemonSet. */
import {
  env,
  fieldEnv,
  meta,
  NODEPLUGIN_DAEMONSET,
  OPERATOR_DEPLOYMENT,
  PROVISIONER_STATEFULSET,
  pullSecrets,
  SA,
  selector,
  labels,
  SIDECAR_API_RATE,
} from "./common.js";
import { INFO_CONFIGMAP } from "../info/codec.js";
import { CSI_DRIVER_NAME, type KubeObject } from "../kube-vocabulary.js";
import { METRICS_PORT, scrapeAnnotations } from "./monitoring.js";
import { snapshotterArgs } from "./snapshots.js";
import { kadaluImage, serverRegistry, sidecarImage, UPSTREAM_SERVER, type InstallOptions } from "./options.js";

const SOCKET_DIR = "/plugin";
const SOCKET = `${SOCKET_DIR}/csi.sock`;
const INFO_DIR = "/var/lib/gluster";

function commonEnv(options: InstallOptions): Record<string, unknown>[] {
  return [
    fieldEnv("KADALU_NAMESPACE", "metadata.namespace"),
    env("KADALU_VERSION", options.imageTag),
    env("K8S_DIST", options.platform),
    env("VERBOSE", options.verbose ? "yes" : "no"),
  ];
}

const RESTRICTED = {
  runAsNonRoot: true,
  runAsUser: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};
const PRIVILEGED = { privileged: true, allowPrivilegeEscalation: true, capabilities: { add: ["SYS_ADMIN"] } };

export function operatorDeployment(options: InstallOptions): KubeObject {
  const podLabels = { ...selector("kadalu-operator", "operator"), "app.kubernetes.io/version": options.version };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(options, OPERATOR_DEPLOYMENT, "operator"),
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector("kadalu-operator", "operator") },
      template: {
        metadata: { labels: podLabels, annotations: scrapeAnnotations },
        spec: {
          serviceAccountName: SA.operator,
          ...pullSecrets(options),
          containers: [
            {
              name: "kadalu-operator",
              image: kadaluImage(options, "kadalu-operator"),
              imagePullPolicy: options.imagePullPolicy,
              env: [
                ...commonEnv(options),
                // Upstream's names for where the server image lives; SERVER_IMAGE is the whole reference.
                env("IMAGES_HUB", serverRegistry(options)),
                env("DOCKER_USER", options.serverImage === "kadalu" ? options.imageRepository : UPSTREAM_SERVER.repository),
                env("SERVER_IMAGE", kadaluImage(options, "kadalu-server")),
                env("KUBELET_DIR", options.kubeletDir),
                env("METRICS_PORT", String(METRICS_PORT)),
              ],
              ports: [
                { name: "health", containerPort: 8080 },
                { name: "metrics", containerPort: METRICS_PORT },
              ],
              readinessProbe: { httpGet: { path: "/readyz", port: "health" }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: "/healthz", port: "health" }, initialDelaySeconds: 10, periodSeconds: 20 },
              resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
              securityContext: RESTRICTED,
            },
          ],
        },
      },
    },
  };
}

export function csiDriver(options: InstallOptions): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSIDriver",
    metadata: meta(options, CSI_DRIVER_NAME, "csi-driver", false),
    spec: { attachRequired: false, podInfoOnMount: true, volumeLifecycleModes: ["Persistent"] },
  };
}

function sidecar(
  options: InstallOptions,
  name: string,
  image: string,
  args: string[],
  extraEnv: Record<string, unknown>[] = [],
  mounts: Record<string, unknown>[] = [],
): Record<string, unknown> {
  return {
    name,
    image,
    imagePullPolicy: options.imagePullPolicy,
    args,
    env: [env("ADDRESS", SOCKET), ...extraEnv],
    volumeMounts: [{ name: "socket-dir", mountPath: SOCKET_DIR }, ...mounts],
    resources: { requests: { cpu: "10m", memory: "32Mi" } },
  };
}

/** The Kadalu CSI container; `socketVolume` holds the CSI socket (an emptyDir shared with the sidecars, or the host plugin dir). */
function kadaluCsiContainer(
  options: InstallOptions,
  name: string,
  role: "provisioner" | "nodeplugin",
  socketVolume: string,
  mounts: Record<string, unknown>[],
): Record<string, unknown> {
  return {
    name,
    image: kadaluImage(options, "kadalu-csi"),
    imagePullPolicy: options.imagePullPolicy,
    args: [`--role=${role}`],
    env: [
      ...commonEnv(options),
      env("CSI_ENDPOINT", `unix://${SOCKET}`),
      env("CSI_ROLE", role),
      fieldEnv("NODE_ID", "spec.nodeName"),
      env("KUBELET_DIR", options.kubeletDir),
    ],
    securityContext: PRIVILEGED,
    volumeMounts: [
      { name: socketVolume, mountPath: SOCKET_DIR },
      { name: "kadalu-info", mountPath: INFO_DIR, readOnly: true },
      { name: "gluster-dev", mountPath: "/dev" },
      { name: "varlog", mountPath: "/var/log/gluster" },
      ...mounts,
    ],
  };
}

const QUOTA_SECRET = "glusterquota-ssh-secret";

/** The SSH user of the optional quota secret, as upstream passes it. */
function quotaSecretUser(container: Record<string, unknown>): Record<string, unknown> {
  const env = container.env as Record<string, unknown>[];
  return {
    ...container,
    env: [
      ...env,
      { name: "SECRET_GLUSTERQUOTA_SSH_USERNAME", valueFrom: { secretKeyRef: { name: QUOTA_SECRET, key: "glusterquota-ssh-username", optional: true } } },
    ],
  };
}

/** The provisioner serves /metrics: the pools are mounted there (the nodeplugins have nothing of their own to count yet). */
function withMetrics(container: Record<string, unknown>): Record<string, unknown> {
  return { ...container, args: [...(container.args as string[]), `--metrics-port=${METRICS_PORT}`], ports: [{ name: "metrics", containerPort: METRICS_PORT }] };
}

const sharedVolumes = [
  // Optional: the operator creates kadalu-info on start; until then the driver reports not ready.
  { name: "kadalu-info", configMap: { name: INFO_CONFIGMAP, optional: true } },
  { name: "gluster-dev", hostPath: { path: "/dev" } },
  { name: "varlog", emptyDir: {} },
];

export function provisionerStatefulSet(options: InstallOptions): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(options, PROVISIONER_STATEFULSET, "csi-driver"),
    spec: {
      serviceName: PROVISIONER_STATEFULSET,
      replicas: 1,
      selector: { matchLabels: selector(PROVISIONER_STATEFULSET, "csi-driver") },
      template: {
        metadata: { labels: labels(options, PROVISIONER_STATEFULSET, "csi-driver"), annotations: scrapeAnnotations },
        spec: {
          serviceAccountName: SA.provisioner,
          ...pullSecrets(options),
          containers: [
            sidecar(options, "csi-provisioner", sidecarImage(options, "provisioner"), [
              "--csi-address=$(ADDRESS)",
              "--timeout=3m",
              "--extra-create-metadata",
              ...SIDECAR_API_RATE,
              "--v=2",
            ]),
            sidecar(options, "csi-resizer", sidecarImage(options, "resizer"), ["--csi-address=$(ADDRESS)", "--timeout=3m", ...SIDECAR_API_RATE, "--v=2"]),
            ...(options.snapshotter ? [sidecar(options, "csi-snapshotter", sidecarImage(options, "snapshotter"), snapshotterArgs())] : []),
            withMetrics(
              quotaSecretUser(
                kadaluCsiContainer(options, "kadalu-provisioner", "provisioner", "socket-dir", [
                  { name: "secret-volume", mountPath: "/etc/secret-volume", readOnly: true },
                ]),
              ),
            ),
          ],
          // Upstream's optional glusterquota-ssh-secret: External pools' quotas set over SSH (README, External pools).
          volumes: [
            { name: "socket-dir", emptyDir: {} },
            ...sharedVolumes,
            { name: "secret-volume", secret: { secretName: QUOTA_SECRET, defaultMode: 0o400, optional: true } },
          ],
        },
      },
    },
  };
}

export function nodepluginDaemonSet(options: InstallOptions): KubeObject {
  const kubelet = options.kubeletDir;
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: meta(options, NODEPLUGIN_DAEMONSET, "csi-driver"),
    spec: {
      selector: { matchLabels: selector(NODEPLUGIN_DAEMONSET, "csi-driver") },
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels: labels(options, NODEPLUGIN_DAEMONSET, "csi-driver") },
        spec: {
          serviceAccountName: SA.nodeplugin,
          ...pullSecrets(options),
          containers: [
            {
              ...sidecar(
                options,
                "csi-node-driver-registrar",
                sidecarImage(options, "registrar"),
                ["--csi-address=$(ADDRESS)", "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)", "--v=2"],
                [env("DRIVER_REG_SOCK_PATH", `${kubelet}/plugins/kadalu/csi.sock`), fieldEnv("KUBE_NODE_NAME", "spec.nodeName")],
                [{ name: "registration-dir", mountPath: "/registration" }],
              ),
              volumeMounts: [
                { name: "plugin-dir", mountPath: SOCKET_DIR },
                { name: "registration-dir", mountPath: "/registration" },
              ],
            },
            kadaluCsiContainer(options, "kadalu-nodeplugin", "nodeplugin", "plugin-dir", [
              // Same path inside as on the host: kubelet hands the driver host paths.
              { name: "pods-mount-dir", mountPath: `${kubelet}/pods`, mountPropagation: "Bidirectional" },
              { name: "csi-dir", mountPath: `${kubelet}/plugins/kubernetes.io/csi`, mountPropagation: "Bidirectional" },
            ]),
          ],
          volumes: [
            { name: "plugin-dir", hostPath: { path: `${kubelet}/plugins/kadalu`, type: "DirectoryOrCreate" } },
            { name: "registration-dir", hostPath: { path: `${kubelet}/plugins_registry`, type: "Directory" } },
            { name: "pods-mount-dir", hostPath: { path: `${kubelet}/pods`, type: "Directory" } },
            { name: "csi-dir", hostPath: { path: `${kubelet}/plugins/kubernetes.io/csi`, type: "DirectoryOrCreate" } },
            ...sharedVolumes,
          ],
        },
      },
    },
  };
}
