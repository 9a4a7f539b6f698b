/** The rendered install plan, parsed and checked by structure per platform (never string-compared). */
import { describe, expect, it } from "vitest";
import { installPlan, planObjects } from "../../../src/core/manifests/index.js";
import type { KubeObject } from "../../../src/core/kube-vocabulary.js";
import { resolveInstallOptions } from "../../../src/core/manifests/options.js";

const plan = (input: Partial<Parameters<typeof resolveInstallOptions>[0]> = {}) =>
  planObjects(installPlan(resolveInstallOptions({ ...input, version: input.version ?? "1.0.0" })));
const find = (objects: KubeObject[], kind: string, name?: string): any => objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
const containers = (object: any): any[] => object.spec.template.spec.containers;
const envOf = (container: any): Record<string, string> => Object.fromEntries(container.env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));

describe("install plan", () => {
  it("orders objects so that each one's dependencies come first", () => {
    expect(installPlan(resolveInstallOptions({ version: "1.0.0" })).map((step) => step.name)).toEqual([
      "namespace",
      "crd",
      "rbac",
      "csi-driver",
      "operator",
      "csi",
    ]);
    expect(plan().map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/kadalu",
      "CustomResourceDefinition/kadalustorages.kadalu-operator.storage",
      "ServiceAccount/kadalu-operator",
      "ServiceAccount/kadalu-csi-provisioner",
      "ServiceAccount/kadalu-csi-nodeplugin",
      "ServiceAccount/kadalu-server-sa",
      "ClusterRole/kadalu-operator",
      "ClusterRoleBinding/kadalu-operator",
      "Role/kadalu-operator",
      "RoleBinding/kadalu-operator",
      "ClusterRole/kadalu-csi-provisioner",
      "ClusterRoleBinding/kadalu-csi-provisioner",
      "Role/kadalu-csi-provisioner",
      "RoleBinding/kadalu-csi-provisioner",
      "Role/kadalu-csi-nodeplugin",
      "RoleBinding/kadalu-csi-nodeplugin",
      "CSIDriver/kadalu",
      "Deployment/operator",
      "StatefulSet/kadalu-csi-provisioner",
      "DaemonSet/kadalu-csi-nodeplugin",
    ]);
  });

  it("keeps the names the CLI and upstream rely on", () => {
    const objects = plan();
    const provisioner = find(objects, "StatefulSet", "kadalu-csi-provisioner");
    expect(provisioner.spec.replicas).toBe(1);
    expect(provisioner.spec.serviceName).toBe("kadalu-csi-provisioner");
    expect(containers(provisioner).map((c) => c.name)).toEqual(["csi-provisioner", "csi-resizer", "kadalu-provisioner"]);
    expect(provisioner.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe("kadalu-csi-provisioner");
    expect(containers(find(objects, "DaemonSet")).map((c) => c.name)).toEqual(["csi-node-driver-registrar", "kadalu-nodeplugin"]);
    expect(find(objects, "CSIDriver").spec).toEqual({ attachRequired: false, podInfoOnMount: true, volumeLifecycleModes: ["Persistent"] });
  });

  it("gives the sidecars that write objects an API client rate above client-go's 5 requests/s, bursts of 10", () => {
    const flag = (container: any, name: string): number => Number(container.args.find((arg: string) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? 0);
    const sidecars = containers(find(plan({ snapshotter: true }), "StatefulSet", "kadalu-csi-provisioner")).filter((c) => c.name.startsWith("csi-"));
    expect(sidecars.map((c) => c.name)).toEqual(["csi-provisioner", "csi-resizer", "csi-snapshotter"]);
    for (const sidecar of sidecars) {
      expect(flag(sidecar, "kube-api-qps"), sidecar.name).toBeGreaterThanOrEqual(50);
      expect(flag(sidecar, "kube-api-burst"), sidecar.name).toBeGreaterThanOrEqual(flag(sidecar, "kube-api-qps"));
    }
  });

  it("labels everything with app.kubernetes.io/* and the version", () => {
    for (const object of plan()) {
      expect(object.metadata.labels).toMatchObject({
        "app.kubernetes.io/part-of": "kadalu",
        "app.kubernetes.io/version": "1.0.0",
        "app.kubernetes.io/managed-by": "kubectl-kadalu",
      });
    }
  });

  it("uses this project's own images at the plugin's version, the brick server's too, and pinned sidecars", () => {
    const objects = plan();
    const images = objects.flatMap((o: any) => (o.spec?.template?.spec?.containers ?? []).map((c: any) => c.image));
    expect(images).toEqual([
      "ghcr.io/kubectl-kadalu/kadalu-operator:1.0.0",
      "registry.k8s.io/sig-storage/csi-provisioner:v5.3.0",
      "registry.k8s.io/sig-storage/csi-resizer:v1.14.0",
      "ghcr.io/kubectl-kadalu/kadalu-csi:1.0.0",
      "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.14.0",
      "ghcr.io/kubectl-kadalu/kadalu-csi:1.0.0",
    ]);
    // Never upstream's runtime images: their repository path is not ours.
    expect(images.filter((image: string) => /^docker\.io\/kadalu\/kadalu-(operator|csi)/.test(image))).toEqual([]);
    expect(envOf(containers(find(objects, "Deployment"))[0])).toMatchObject({
      SERVER_IMAGE: "ghcr.io/kubectl-kadalu/kadalu-server:1.0.0",
      K8S_DIST: "kubernetes",
      KUBELET_DIR: "/var/lib/kubelet",
    });
  });

  it("runs the bricks from upstream's server image when asked (switch-over), at the pinned or the given tag", () => {
    const env = (input: Partial<Parameters<typeof resolveInstallOptions>[0]>): Record<string, string> => envOf(containers(find(plan(input), "Deployment"))[0]);
    expect(env({ serverImage: "upstream" })).toMatchObject({
      SERVER_IMAGE: "docker.io/kadalu/kadalu-server:1.2.0",
      IMAGES_HUB: "docker.io",
      DOCKER_USER: "kadalu",
    });
    expect(env({ serverImageTag: "1.1.0" }).SERVER_IMAGE).toBe("docker.io/kadalu/kadalu-server:1.1.0");
    expect(env({ serverImage: "upstream", imageRegistry: "mirror.example.com" }).SERVER_IMAGE).toBe("mirror.example.com/kadalu/kadalu-server:1.2.0");
    expect(env({ serverImage: "kadalu", imageRepository: "team/storage", imageTag: "1.0.2" })).toMatchObject({
      SERVER_IMAGE: "ghcr.io/team/storage/kadalu-server:1.0.2",
      IMAGES_HUB: "ghcr.io",
      DOCKER_USER: "team/storage",
    });
    expect(() => resolveInstallOptions({ version: "1.0.0", serverImage: "kadalu", serverImageTag: "1.2.0" })).toThrow(
      "--server-image-tag is the tag of upstream's server image: give it with --server-image upstream",
    );
    expect(() => resolveInstallOptions({ version: "1.0.0", serverImage: "ours" })).toThrow('--server-image "ours" is not valid; use one of kadalu, upstream');
  });

  it("takes every image from a mirror, with pull secrets and policy", () => {
    const objects = plan({
      version: "1.0.0",
      imageRegistry: "mirror.example.com:5000",
      imageTag: "1.0.1",
      imagePullPolicy: "Always",
      imagePullSecrets: ["regcred"],
    });
    for (const workload of objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind)) as any[]) {
      expect(workload.spec.template.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
      for (const container of containers(workload)) {
        expect(container.image.startsWith("mirror.example.com:5000/")).toBe(true);
        expect(container.imagePullPolicy).toBe("Always");
      }
    }
    expect(containers(find(objects, "Deployment"))[0].image).toBe("mirror.example.com:5000/kubectl-kadalu/kadalu-operator:1.0.1");
    expect(envOf(containers(find(objects, "Deployment"))[0]).SERVER_IMAGE).toBe("mirror.example.com:5000/kubectl-kadalu/kadalu-server:1.0.1");
  });

  it("takes the repository path of its own images from --image-repository", () => {
    const objects = plan({ version: "1.0.0", imageRegistry: "registry.example.com", imageRepository: "team/storage" });
    expect(containers(find(objects, "Deployment"))[0].image).toBe("registry.example.com/team/storage/kadalu-operator:1.0.0");
    expect(containers(find(objects, "StatefulSet")).find((c: any) => c.name === "kadalu-provisioner").image).toBe(
      "registry.example.com/team/storage/kadalu-csi:1.0.0",
    );
  });

  it("moves kubelet paths for microk8s, inside the container too", () => {
    const ds = find(plan({ version: "1.0.0", platform: "microk8s" }), "DaemonSet");
    const root = "/var/snap/microk8s/common/var/lib/kubelet";
    expect(ds.spec.template.spec.volumes.filter((v: any) => v.hostPath?.path.includes("kubelet")).map((v: any) => v.hostPath.path)).toEqual([
      `${root}/plugins/kadalu`,
      `${root}/plugins_registry`,
      `${root}/pods`,
      `${root}/plugins/kubernetes.io/csi`,
    ]);
    const node = containers(ds)[1];
    expect(node.volumeMounts.find((m: any) => m.name === "pods-mount-dir")).toEqual({
      name: "pods-mount-dir",
      mountPath: `${root}/pods`,
      mountPropagation: "Bidirectional",
    });
    expect(envOf(containers(ds)[0]).DRIVER_REG_SOCK_PATH).toBe(`${root}/plugins/kadalu/csi.sock`);
    expect(find(plan({ version: "1.0.0", kubeletDir: "/data/kubelet/" }), "DaemonSet").spec.template.spec.volumes[0].hostPath.path).toBe(
      "/data/kubelet/plugins/kadalu",
    );
  });

  it("adds OpenShift's SecurityContextConstraints for the four service accounts", () => {
    const objects = plan({ version: "1.0.0", platform: "openshift", namespace: "storage" });
    const scc = find(objects, "SecurityContextConstraints");
    expect(scc.allowPrivilegedContainer).toBe(true);
    expect(scc.users).toEqual(
      ["kadalu-operator", "kadalu-csi-provisioner", "kadalu-csi-nodeplugin", "kadalu-server-sa"].map((sa) => `system:serviceaccount:storage:${sa}`),
    );
    expect(envOf(containers(find(objects, "Deployment"))[0]).K8S_DIST).toBe("openshift");
    expect(find(plan({ version: "1.0.0", platform: "rke" }), "SecurityContextConstraints")).toBeUndefined();
  });

  it("grants least privilege: no wildcards, no tokens for pods that do not call the API", () => {
    const objects = plan();
    for (const role of objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role") as any[]) {
      for (const rule of role.rules) {
        expect([...rule.verbs, ...rule.resources, ...rule.apiGroups]).not.toContain("*");
      }
    }
    const accounts = Object.fromEntries(objects.filter((o) => o.kind === "ServiceAccount").map((o: any) => [o.metadata.name, o.automountServiceAccountToken]));
    expect(accounts).toEqual({
      "kadalu-operator": undefined,
      "kadalu-csi-provisioner": undefined,
      "kadalu-csi-nodeplugin": undefined,
      "kadalu-server-sa": false,
    });
    // The nodeplugin's token reads one ConfigMap, by name, in its own namespace: nothing cluster-wide.
    expect(objects.filter((o: any) => o.kind.startsWith("ClusterRole") && o.metadata.name === "kadalu-csi-nodeplugin")).toEqual([]);
    expect((objects.find((o: any) => o.kind === "Role" && o.metadata.name === "kadalu-csi-nodeplugin") as any).rules).toEqual([
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["kadalu-info"] },
    ]);
    expect(containers(find(objects, "Deployment"))[0].securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("stamps the operator with a hash of the plan that changes with the options", () => {
    const hash = (input: Record<string, unknown>) =>
      find(plan({ version: "1.0.0", ...input }), "Deployment").metadata.annotations["kadalu.io/install-hash"] as string;
    expect(hash({})).toMatch(/^[0-9a-f]{16}$/);
    expect(hash({})).toBe(hash({}));
    expect(hash({ imagePullPolicy: "Always" })).not.toBe(hash({}));
  });

  it("declares the CRD's printer columns and enums", () => {
    const crd = find(plan(), "CustomResourceDefinition");
    const version = crd.spec.versions[0];
    expect(version.additionalPrinterColumns.map((c: any) => c.name)).toEqual(["Type", "State", "Capacity", "Used", "PVs", "Age", "Message"]);
    expect(version.additionalPrinterColumns.at(-1)).toEqual({ name: "Message", type: "string", jsonPath: ".status.message", priority: 1 });
    expect(version.subresources).toEqual({ status: {} });
    const spec = version.schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.type.enum).toEqual(["Replica1", "Replica2", "Replica3", "Disperse", "Arbiter", "External"]);
    expect(spec.properties.pvReclaimPolicy.enum).toEqual(["delete", "archive", "retain"]);
    expect(spec.properties.disperse.properties.data.type).toBe("integer");
    expect(Object.keys(spec.properties)).toEqual([
      "type",
      "pvReclaimPolicy",
      "volume_id",
      "kadalu_format",
      "single_pv_per_pool",
      "tolerations",
      "options",
      "storage",
      "tiebreaker",
      "disperse",
      "details",
    ]);
  });
});
