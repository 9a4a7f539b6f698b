/**
 * What the cluster has for VolumeSnapshots: the three snapshot.storage.k8s.io CRDs (ours, another's, or
 * not all of them) and a snapshot-controller (a Deployment running its image, in any namespace). Read by
 * `install` (the sidecar runs only where the CRDs exist; `--snapshot-controller` adds what is missing),
 * `uninstall` and `doctor`. Two reads: the CRDs by name, the Deployments in one list.
 */
import { MANAGED_BY } from "../../core/manifests/common.js";
import { SNAPSHOT_API, SNAPSHOT_CONTROLLER, SNAPSHOT_CONTROLLER_IMAGE_NAME, SNAPSHOT_CRD_NAMES } from "../../core/manifests/snapshots.js";
import type { KubeObject } from "../../core/kube-vocabulary.js";
import type { Kube } from "../../kube/client.js";

export interface SnapshotSupport {
  /** none: no snapshot CRD; partial: some of the three; ours: all three, installed by this plugin; theirs: all three, from elsewhere. */
  crds: "none" | "partial" | "ours" | "theirs";
  missingCrds: string[];
  /** `namespace/name` of each Deployment running a snapshot-controller, ours included. */
  controllers: string[];
  /** Whether one of them is ours (kadalu-snapshot-controller in the Kadalu namespace). */
  ownController: boolean;
}

const imageName = (image: string): string =>
  image
    .replace(/@.*$/, "")
    .replace(/:[^/:]*$/, "")
    .split("/")
    .pop() ?? "";

export function runsSnapshotController(deployment: KubeObject): boolean {
  const containers = (deployment as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }).spec?.template?.spec?.containers ?? [];
  return containers.some((container) => imageName(container.image ?? "") === SNAPSHOT_CONTROLLER_IMAGE_NAME);
}

/** One discovery read: whether the cluster serves VolumeSnapshotContent, the kind the sidecar watches. */
export async function servesSnapshotContents(kube: Kube): Promise<boolean> {
  const list = await kube.getPath<{ resources?: { kind: string }[] }>(`/apis/${SNAPSHOT_API}`);
  return Boolean(list?.resources?.some((resource) => resource.kind === "VolumeSnapshotContent"));
}

export async function snapshotSupport(kube: Kube, namespace: string): Promise<SnapshotSupport> {
  const [crds, deployments] = await Promise.all([
    Promise.all(SNAPSHOT_CRD_NAMES.map((name) => kube.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", name))),
    kube.listObjects("apps/v1", "Deployment"),
  ]);
  const present = crds.filter((crd): crd is KubeObject => crd !== undefined);
  const missingCrds = SNAPSHOT_CRD_NAMES.filter((_, index) => !crds[index]);
  const ours = present.length > 0 && present.every((crd) => crd.metadata.labels?.["app.kubernetes.io/managed-by"] === MANAGED_BY);
  const controllers = deployments.filter(runsSnapshotController).map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
  return {
    crds: present.length === 0 ? "none" : missingCrds.length > 0 ? "partial" : ours ? "ours" : "theirs",
    missingCrds,
    controllers,
    ownController: controllers.includes(`${namespace}/${SNAPSHOT_CONTROLLER}`),
  };
}
