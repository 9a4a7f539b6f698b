/**
 * What the operator runs for a pool, exactly as upstream's templates render it (`server.yaml.j2`,
 * `services.yaml.j2` and the native and External StorageClass templates) so the upstream `kadalu-server` image runs the bricks: one StatefulSet per brick, the headless
 * Service named after the pool, the StorageClass `kadalu.<pool>`. Fixed upstream bugs: tolerations keep
 * tolerationSeconds and never render a missing key as "None"; Arbiter pools get the self-heal daemon.
 */
import { INFO_CONFIGMAP, isExternal, type BrickInfo, type PoolInfo } from "../src/core/info/codec.js";
import { METRICS_PORT, scrapeAnnotations } from "../src/core/manifests/monitoring.js";
import { serverStatefulSetName, storageClassName } from "../src/core/naming.js";
import type { KadaluStorage, Toleration } from "../src/core/pool/types.js";
import type { OperatorConfig } from "./config.js";
import { CSI_DRIVER_NAME, PART_OF, POOL_LABEL, type KubeObject } from "../src/core/kube-vocabulary.js";
import { SNAPSHOT_API } from "../src/core/manifests/snapshots.js";
import { COPY_KIND_ANNOTATION, copyKindOf } from "../src/core/cluster-snapshots.js";

export const SERVER_SELECTOR = { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "server", "app.kubernetes.io/name": "server" };
const SHD_TYPES = ["Replica2", "Replica3", "Disperse", "Arbiter"];

/**
 * No ownerReferences on what serves data: with one, a foreground cascading delete of the pool (kubectl
 * --cascade=foreground, GitOps pruning) lets the garbage collector remove the brick StatefulSets while
 * the finalizer still blocks the deletion for PVs in use; and blockOwnerDeletion would need update on
 * kadalustorages/finalizers under OwnerReferencesPermissionEnforcement (OpenShift). The `kadalu.io/pool`
 * label ties them to their pool, and the operator's finalizer alone removes them.
 */
function metadata(pool: KadaluStorage, config: OperatorConfig, name: string, labels: Record<string, string>, namespaced = true): KubeObject["metadata"] {
  return { name, ...(namespaced ? { namespace: config.namespace } : {}), labels: { ...labels, [POOL_LABEL]: pool.metadata.name } };
}

export function tolerationsOf(pool: KadaluStorage): Toleration[] {
  return (pool.spec.tolerations ?? []).map((t) => {
    const toleration: Toleration = {};
    if (t.key) toleration.key = t.key;
    if (t.operator) toleration.operator = t.operator;
    if (t.value) toleration.value = t.value;
    if (t.effect) toleration.effect = t.effect;
    if (t.tolerationSeconds !== undefined) toleration.tolerationSeconds = t.tolerationSeconds;
    return toleration;
  });
}

const env = (name: string, value: string): { name: string; value: string } => ({ name, value });

function volumesFor(pool: string, brick: BrickInfo): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
  const volumes: Record<string, unknown>[] = [
    { name: "gluster-dev", hostPath: { path: "/dev" } },
    { name: "gluster-cgroup", hostPath: { path: "/sys/fs/cgroup" } },
    { name: "glusterfsd-volfilesdir", configMap: { name: INFO_CONFIGMAP } },
  ];
  const mounts: Record<string, unknown>[] = [
    { name: "gluster-dev", mountPath: "/dev" },
    { name: "gluster-cgroup", mountPath: "/sys/fs/cgroup", readOnly: true },
    { name: "glusterfsd-volfilesdir", mountPath: "/var/lib/gluster" },
    { name: "glusterfsd-mountdir", mountPath: `/bricks/${pool}` },
  ];
  if (brick.pvc_name) volumes.push({ name: "glusterfsd-mountdir", persistentVolumeClaim: { claimName: brick.pvc_name } });
  else {
    volumes.push({ name: "kernel-modules", hostPath: { path: "/lib/modules" } });
    mounts.push({ name: "kernel-modules", mountPath: "/lib/modules", readOnly: true });
    volumes.push(
      brick.host_brick_path
        ? { name: "glusterfsd-mountdir", hostPath: { path: brick.host_brick_path, type: "Directory" } }
        : { name: "glusterfsd-mountdir", emptyDir: {} },
    );
  }
  if (brick.brick_device_dir) {
    volumes.push({ name: "brickdev", hostPath: { path: brick.brick_device_dir, type: "Directory" } });
    mounts.push({ name: "brickdev", mountPath: "/brickdev" });
  }
  return { volumes, mounts };
}

export function serverStatefulSet(pool: KadaluStorage, info: PoolInfo, brick: BrickInfo, config: OperatorConfig): KubeObject {
  if (isExternal(info)) throw new Error("External pools have no bricks");
  const name = pool.metadata.name;
  const { volumes, mounts } = volumesFor(name, brick);
  const podLabels = { ...SERVER_SELECTOR, [POOL_LABEL]: name };
  const tolerations = tolerationsOf(pool);
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadata(pool, config, serverStatefulSetName(name, brick.brick_index), SERVER_SELECTOR),
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: SERVER_SELECTOR },
      // A new template never restarts a brick by itself: the operator applies every brick of a pool at
      // once, and restarting them together would take a replica set offline. `install --upgrade` restarts
      // them one at a time, each after heals are done (deleting a pod by hand picks up the template too).
      updateStrategy: { type: "OnDelete" },
      template: {
        // Prometheus' pod discovery scrapes the brick runtime's /metrics (server/metrics.ts), as it does the operator's.
        metadata: { labels: podLabels, annotations: scrapeAnnotations },
        spec: {
          serviceAccountName: "kadalu-server-sa",
          ...(tolerations.length ? { tolerations } : {}),
          ...(brick.kube_hostname
            ? {
                affinity: {
                  nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                      nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [brick.kube_hostname] }] }],
                    },
                  },
                },
              }
            : {}),
          containers: [
            {
              name: "server",
              image: config.serverImage,
              imagePullPolicy: "IfNotPresent",
              securityContext: { privileged: true },
              env: [
                ...(brick.kube_hostname ? [env("HOSTNAME", brick.kube_hostname)] : []),
                ...(SHD_TYPES.includes(info.type) ? [env("SHD_REQUIRED", "1")] : []),
                env("VOLUME", name),
                env("VOLUME_TYPE", info.type),
                env("BRICK_PATH", brick.brick_path),
                env("NODEID", brick.node_id),
                env("VOLUME_ID", info.volume_id),
                env("BRICK_INDEX", String(brick.brick_index)),
                env("BRICK_DEVICE", brick.brick_device),
                env("KADALU_VERSION", config.kadaluVersion),
                env("K8S_DIST", config.k8sDist),
                env("VERBOSE", config.verbose ? "yes" : "no"),
                env("SUBVOL_ROOT", "subvol"),
              ],
              ports: [
                { name: "brickport", containerPort: 24007 },
                { name: "metrics", containerPort: METRICS_PORT },
              ],
              readinessProbe: { tcpSocket: { port: 24007 }, initialDelaySeconds: 7, periodSeconds: 10 },
              livenessProbe: { tcpSocket: { port: 24007 }, initialDelaySeconds: 120, periodSeconds: 20 },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

export function poolService(pool: KadaluStorage, config: OperatorConfig): KubeObject {
  const name = pool.metadata.name;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(pool, config, name, {
      "app.kubernetes.io/part-of": PART_OF,
      "app.kubernetes.io/component": "server",
      "app.kubernetes.io/name": `${name}-service`,
    }),
    spec: { clusterIP: "None", selector: SERVER_SELECTOR, ports: [{ name: "brickport", port: 24007, targetPort: 24007, protocol: "TCP" }] },
  };
}

const pyBool = (value: boolean): string => (value ? "True" : "False");

export function poolStorageClass(pool: KadaluStorage, info: PoolInfo, config: OperatorConfig): KubeObject {
  const parameters: Record<string, string> = isExternal(info)
    ? {
        hostvol_type: "External",
        gluster_hosts: info.gluster_hosts,
        gluster_volname: info.gluster_volname,
        ...(info.gluster_options ? { gluster_options: info.gluster_options } : {}),
        single_pv_per_pool: pyBool(info.single_pv_per_pool),
      }
    : { storage_name: info.volname, single_pv_per_pool: pyBool(info.single_pv_per_pool) };
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: metadata(
      pool,
      config,
      storageClassName(pool.metadata.name),
      { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "storageclass" },
      false,
    ),
    provisioner: CSI_DRIVER_NAME,
    allowVolumeExpansion: !info.single_pv_per_pool,
    parameters,
  };
}

/**
 * The pool's VolumeSnapshotClass, named as its StorageClass: snapshots of its PVs are removed with their
 * VolumeSnapshot (Delete), and an annotation says which copy they are (README, Snapshots and clones).
 */
export function poolSnapshotClass(pool: KadaluStorage, info: PoolInfo, config: OperatorConfig): KubeObject {
  const metadata = metadata_(pool, config, storageClassName(pool.metadata.name));
  return {
    apiVersion: SNAPSHOT_API,
    kind: "VolumeSnapshotClass",
    metadata: { ...metadata, annotations: { [COPY_KIND_ANNOTATION]: copyKindOf(info.type) } },
    driver: CSI_DRIVER_NAME,
    deletionPolicy: "Delete",
  };
}

function metadata_(pool: KadaluStorage, config: OperatorConfig, name: string): KubeObject["metadata"] {
  return metadata(pool, config, name, { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "volumesnapshotclass" }, false);
}
