/** install and uninstall against the API test server. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCli } from "../../../harness/helpers/cli.js";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { startKubelet } from "../../../harness/sandbox/kubelet.js";

let cluster: TestCluster;
let stopKubelet: (() => Promise<void>) | undefined;
const kc = (): string[] => ["--kubeconfig", cluster.kubeconfig];
const install = (...args: string[]) => runCli(["install", ...kc(), ...args]);
const uninstall = (...args: string[]) => runCli(["uninstall", ...kc(), ...args]);
const exists = (apiVersion: string, kind: string, name: string, namespace?: string): boolean =>
  cluster.server.get(apiVersion, kind, namespace, name) !== undefined;

beforeEach(async () => {
  cluster = await startCluster({ crd: false, namespaces: [] });
});
afterEach(async () => {
  await stopKubelet?.();
  stopKubelet = undefined;
  await cluster.stop();
});

describe("install", () => {
  it("renders every manifest with no cluster at all", async () => {
    const yaml = await runCli(["install", "-o", "yaml", "--kubeconfig", "/nonexistent"]);
    expect(yaml.code).toBe(0);
    const docs = parseAllDocuments(yaml.stdout).map((doc) => doc.toJS());
    expect(docs).toHaveLength(20);
    expect(docs.every((doc) => doc.apiVersion && doc.kind && doc.metadata.name)).toBe(true);
    const json = JSON.parse((await runCli(["install", "-o", "json"])).stdout);
    expect(json.kind).toBe("List");
    expect(json.items).toEqual(docs);
    // kubectl reads YAML 1.1 (`value: no` would be a boolean there): both versions read the same objects.
    expect(parseAllDocuments(yaml.stdout, { version: "1.1" }).map((doc) => doc.toJS())).toEqual(json.items);
    expect(yaml.stdout).toContain('value: "no"');
    const dry = await runCli(["install", "--dry-run", "-o", "yaml", "--kubeconfig", "/nonexistent"]);
    expect(dry.stdout).toBe(yaml.stdout);
    expect(dry.stderr).toContain("nothing was sent");
  });

  it("before install, pool commands say Kadalu is not installed and how to install it, not 'no pools'", async () => {
    const line = "error: Kadalu is not installed in this cluster (it does not serve KadaluStorage objects); run: kubectl kadalu install\n";
    for (const args of [
      ["storage-list"],
      ["storage-list", "--status"],
      ["storage-add", "pool1", "--path", "kube1:/data/pool1", "--yes"],
      ["storage-remove", "pool1", "--yes"],
      ["top", "pool1"],
    ]) {
      const result = await runCli([...args, ...kc()]);
      expect(result.stderr, args.join(" ")).toBe(line);
      expect(result.code, args.join(" ")).toBe(1);
    }
    expect(cluster.server.writes()).toEqual([]);
  });

  it("--dry-run says what each object would become, from reads alone, as kubectl apply --dry-run=client", async () => {
    const fresh = await install("--dry-run");
    expect(fresh.stdout.split("\n").slice(0, 2)).toEqual([
      "namespace/kadalu created (dry run)",
      "customresourcedefinition.apiextensions.k8s.io/kadalustorages.kadalu-operator.storage created (dry run)",
    ]);
    expect(
      fresh.stdout
        .trim()
        .split("\n")
        .filter((line) => line.endsWith(" created (dry run)")),
    ).toHaveLength(20);
    expect(fresh.stderr).toBe("dry run: nothing was sent to the cluster\n");
    expect(cluster.server.writes()).toEqual([]);
    expect((await install("--no-wait")).code).toBe(0);
    const installed = await install("--dry-run");
    expect(installed.stdout).toMatch(/^Kadalu [\w.-]+ is already installed in namespace "kadalu"; install would change nothing\n$/);
    expect(installed.code).toBe(0);
  });

  it("runs the bricks from this project's server image unless --server-image upstream is given", async () => {
    const serverImage = async (...args: string[]): Promise<string> => {
      const result = await runCli(["install", "-o", "json", ...args]);
      expect(result.code, result.stderr).toBe(0);
      const operator = JSON.parse(result.stdout).items.find((item: any) => item.kind === "Deployment");
      return operator.spec.template.spec.containers[0].env.find((entry: any) => entry.name === "SERVER_IMAGE").value;
    };
    expect(await serverImage()).toMatch(/^ghcr\.io\/kubectl-kadalu\/kadalu-server:\d/);
    expect(await serverImage("--server-image", "upstream")).toBe("docker.io/kadalu/kadalu-server:1.2.0");
    expect(await serverImage("--server-image-tag", "1.1.0")).toBe("docker.io/kadalu/kadalu-server:1.1.0");
    const both = await runCli(["install", "-o", "yaml", "--server-image", "kadalu", "--server-image-tag", "1.1.0"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      "error: --server-image-tag is the tag of upstream's server image: give it with --server-image upstream (this project's server image has --image-tag's tag)\n",
    );
    expect(both.stdout).toBe("");
  });

  it("applies everything in order with server-side apply, then a second run changes nothing", async () => {
    const first = await install("--no-wait");
    expect(first.stderr).toContain("✓ CRD kadalustorages.kadalu-operator.storage established");
    const lines = first.stdout.split("\n");
    // One line per object, as kubectl apply names it, then what was applied.
    expect(lines.slice(0, 2)).toEqual([
      "namespace/kadalu created",
      "customresourcedefinition.apiextensions.k8s.io/kadalustorages.kadalu-operator.storage created",
    ]);
    expect(lines).toContain("deployment.apps/operator created");
    expect(lines).toContain("clusterrole.rbac.authorization.k8s.io/kadalu-operator created");
    expect(lines.filter((line) => line.endsWith(" created"))).toHaveLength(20);
    expect(lines.slice(20)).toEqual(['Kadalu 0.0.0-dev applied in namespace "kadalu" (20 objects: 20 created)', ""]);
    expect(first.code).toBe(0);
    expect(exists("v1", "Namespace", "kadalu")).toBe(true);
    expect(exists("apps/v1", "DaemonSet", "kadalu-csi-nodeplugin", "kadalu")).toBe(true);
    const patches = cluster.server.requests.filter((r) => r.verb === "patch");
    expect(patches).toHaveLength(20);
    expect(patches.map((r) => r.resource).slice(0, 2)).toEqual(["namespaces", "customresourcedefinitions"]);
    // 18 applies, one discovery read (is snapshot.storage.k8s.io served: the csi-snapshotter sidecar), one read of the
    // operator Deployment, one of the resourceVersion before, one check that the CRD is established.
    expect(cluster.server.requests).toHaveLength(24);
    cluster.server.clearRequests();
    const second = await install("--no-wait");
    expect(second.stdout).toBe('Kadalu is already installed (version 0.0.0-dev) in namespace "kadalu"; nothing to change\n');
    expect(second.code).toBe(0);
    expect(cluster.server.requests).toHaveLength(2);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("reapplies when the options change (same version, another plan)", async () => {
    await install("--no-wait");
    cluster.server.clearRequests();
    const changed = await install("--no-wait", "--image-pull-policy", "Always");
    const lines = changed.stdout.split("\n");
    expect(lines).toContain("customresourcedefinition.apiextensions.k8s.io/kadalustorages.kadalu-operator.storage unchanged");
    expect(lines).toContain("namespace/kadalu unchanged");
    expect(lines.filter((line) => line.endsWith(" configured")).sort()).toEqual([
      "daemonset.apps/kadalu-csi-nodeplugin configured",
      "deployment.apps/operator configured",
      "statefulset.apps/kadalu-csi-provisioner configured",
    ]);
    expect(lines.filter((line) => line.endsWith(" unchanged"))).toHaveLength(17);
    expect(changed.stdout).toMatch(/\nKadalu 0\.0\.0-dev applied in namespace "kadalu" \(20 objects: 3 configured, 17 unchanged\)\n$/);
    // Told from the applies' own answers: no read per object.
    expect(cluster.server.requests.filter((r) => r.verb === "get" || r.verb === "list")).toHaveLength(4);
    const deployment = cluster.server.get("apps/v1", "Deployment", "kadalu", "operator")!;
    expect(deployment.spec.template.spec.containers[0].imagePullPolicy).toBe("Always");
  });

  it("refuses another installed version without --upgrade, and upgrades with it", async () => {
    const tagged = await install("--no-wait", "--image-tag", "0.0.9");
    // The version it really applied: the images' tag too, where it is not the plugin's.
    expect(tagged.stdout).toContain('Kadalu 0.0.0-dev (images tagged 0.0.9) applied in namespace "kadalu" (20 objects: 20 created)\n');
    const live = cluster.server.get("apps/v1", "Deployment", "kadalu", "operator")!;
    cluster.server.objects.commit(
      cluster.server.registry.byKind("apps/v1", "Deployment")!,
      live,
      { ...live, metadata: { ...live.metadata, labels: { ...live.metadata.labels, "app.kubernetes.io/version": "0.0.9" } } },
      undefined,
      { dryRun: false },
    );
    cluster.server.clearRequests();
    const refused = await install("--no-wait");
    expect(refused.stderr).toBe(
      'error: Kadalu 0.0.9 is installed in namespace "kadalu" and this plugin is 0.0.0-dev; run again with --upgrade to move to 0.0.0-dev\n',
    );
    expect(refused.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
    const upgraded = await install("--no-wait", "--upgrade");
    expect(upgraded.code).toBe(0);
    expect(cluster.server.get("apps/v1", "Deployment", "kadalu", "operator")!.metadata.labels["app.kubernetes.io/version"]).toBe("0.0.0-dev");
  });

  it("replaces upstream's operator Deployment, whose selector cannot be patched", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kadalu" } });
    cluster.server.seed({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "operator", namespace: "kadalu", labels: { name: "kadalu-operator" } },
      spec: {
        selector: { matchLabels: { name: "kadalu" } },
        template: {
          metadata: { labels: { name: "kadalu" } },
          spec: { containers: [{ name: "kadalu-operator", image: "docker.io/kadalu/kadalu-operator:1.2.0" }] },
        },
      },
    });
    expect((await install("--no-wait")).stderr).toContain("Kadalu 1.2.0 is installed");
    expect((await install("--no-wait", "--upgrade")).code).toBe(0);
    expect(cluster.server.get("apps/v1", "Deployment", "kadalu", "operator")!.spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "kadalu-operator",
      "app.kubernetes.io/part-of": "kadalu",
      "app.kubernetes.io/component": "operator",
    });
  });

  it("--wait reports each component ready", async () => {
    stopKubelet = startKubelet(cluster.server, ["kube1", "kube2", "kube3"], { started: () => undefined, stopped: () => undefined });
    const result = await install("--wait", "--timeout", "20s");
    expect(result.stderr).toContain("✓ operator available");
    expect(result.stderr).toContain("✓ CSI provisioner ready");
    expect(result.stderr).toContain("✓ CSI nodeplugin ready on 3/3 nodes");
    expect(result.stdout).toContain("Kadalu is ready");
    expect(result.code).toBe(0);
  });

  it("--wait times out naming the pods that are not ready, why, and what to run next", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kadalu" } });
    cluster.server.seed(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "operator-5d9c7-x2x",
          namespace: "kadalu",
          labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "operator" },
        },
        spec: { containers: [{ name: "kadalu-operator", image: "ghcr.io/kubectl-kadalu/kadalu-operator:0.0.0-dev" }] },
        status: {
          phase: "Pending",
          containerStatuses: [
            {
              name: "kadalu-operator",
              ready: false,
              state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/kubectl-kadalu/kadalu-operator:0.0.0-dev"' } },
            },
          ],
        },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: "kadalu-csi-provisioner-0",
          namespace: "kadalu",
          labels: { "app.kubernetes.io/part-of": "kadalu", "app.kubernetes.io/component": "csi-driver" },
        },
        spec: { containers: [{ name: "kadalu-provisioner" }] },
        status: { phase: "Running", containerStatuses: [{ name: "kadalu-provisioner", ready: false, state: { waiting: { reason: "CrashLoopBackOff" } } }] },
      },
    );
    const result = await install("--wait", "--timeout", "1s");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "error: Kadalu was not ready after 1s: operator not ready yet; CSI provisioner not ready yet; CSI nodeplugin: no node has its pod scheduled yet",
    );
    expect(result.stderr).toContain(
      'operator-5d9c7-x2x: ImagePullBackOff: cannot pull image ghcr.io/kubectl-kadalu/kadalu-operator:0.0.0-dev for container kadalu-operator (Back-off pulling image "ghcr.io/kubectl-kadalu/kadalu-operator:0.0.0-dev"); push the images to a registry your nodes reach (README, Container images: how to build and mirror them) and install with --image-registry REGISTRY [--image-repository PATH] [--image-pull-secret NAME]\n    next: kubectl describe pod -n kadalu operator-5d9c7-x2x',
    );
    expect(result.stderr).toContain(
      "kadalu-csi-provisioner-0: CrashLoopBackOff in container kadalu-provisioner\n    next: kubectl logs -n kadalu kadalu-csi-provisioner-0 -c kadalu-provisioner --previous",
    );
  });

  it("--dry-run=server has every object checked and persists nothing", async () => {
    cluster.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kadalu" } });
    cluster.server.clearRequests();
    const result = await install("--dry-run=server");
    expect(result.stdout).toContain("namespace/kadalu serverside-applied (server dry run)\n");
    expect(result.stdout).toContain("deployment.apps/operator created (server dry run)\n");
    expect(result.stdout).toMatch(/\nserver dry run: 20 objects accepted by the API server, nothing persisted\n$/);
    expect(exists("apps/v1", "Deployment", "operator", "kadalu")).toBe(false);
    expect(cluster.server.requests.filter((r) => r.verb === "patch")).toHaveLength(20);
  });

  it("--dry-run=server on a fresh cluster skips what needs the namespace, and says so", async () => {
    const result = await install("--dry-run=server");
    expect(result.stderr).toContain("deployment.apps/operator skipped: namespace kadalu does not exist yet, so the server cannot check it");
    expect(result.code).toBe(0);
    expect(exists("v1", "Namespace", "kadalu")).toBe(false);
  });

  it("applies --local-yaml and --local-csi-yaml instead of the embedded manifests", async () => {
    const operatorFile = join(cluster.dir, "operator.yaml");
    const csiFile = join(cluster.dir, "csi.yaml");
    writeFileSync(
      operatorFile,
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kadalu\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\n  namespace: kadalu\n",
    );
    writeFileSync(csiFile, "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata:\n  name: kadalu\nspec:\n  attachRequired: false\n");
    const result = await install("--no-wait", "--local-yaml", operatorFile, "--local-csi-yaml", csiFile);
    expect(result.stdout).toBe(
      'namespace/kadalu created\nconfigmap/from-file created\ncsidriver.storage.k8s.io/kadalu created\nKadalu (from local manifests) applied in namespace "kadalu" (3 objects: 3 created)\n',
    );
    expect(exists("v1", "ConfigMap", "from-file", "kadalu")).toBe(true);
    const missing = await install("--local-yaml", join(cluster.dir, "nope.yaml"));
    expect(missing.stderr).toBe(`error: --local-yaml "${join(cluster.dir, "nope.yaml")}": no such file\n`);
    expect(missing.code).toBe(2);
  });
});

describe("uninstall", () => {
  beforeEach(async () => {
    expect((await install("--no-wait")).code).toBe(0);
    cluster.server.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kadalu-info", namespace: "kadalu" }, data: { uid: "u" } });
    cluster.server.clearRequests();
  });

  it("refuses while pools exist, naming them", async () => {
    cluster.server.seed({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/d" }] },
    });
    const result = await uninstall("--yes");
    expect(result.stderr).toBe(
      "error: refusing to uninstall while storage pools exist: kadalu/pool1; remove them first (kubectl kadalu storage-remove pool1 -n kadalu), or pass --force to uninstall anyway (their data stays on the bricks)\n",
    );
    expect(result.code).toBe(1);
    expect(cluster.server.writes()).toEqual([]);
  });

  it("--dry-run lists what would go, only what exists, and deletes nothing", async () => {
    const result = await uninstall("--dry-run");
    expect(result.stdout).toContain("daemonset/kadalu-csi-nodeplugin would be deleted\n");
    // No Prometheus Operator here: install made no ServiceMonitor, so none would be deleted.
    expect(result.stdout).not.toContain("servicemonitor/kadalu");
    // The plan, one line per object, then the count: all on stdout, so > plan.txt keeps it.
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.filter((line) => line.endsWith(" would be deleted"))).toHaveLength(18);
    expect(lines.at(-1)).toBe("dry run: 18 objects would be deleted; nothing was sent");
    expect(cluster.server.writes()).toEqual([]);
  });

  it("removes what install created but keeps the CRD, kadalu-info and the namespace", async () => {
    const result = await uninstall("--yes");
    expect(result.stdout).toBe('Kadalu uninstalled from namespace "kadalu": 18 objects deleted\n');
    expect(result.code).toBe(0);
    // Only what was there is listed: no "already gone" for the ServiceMonitor install never made.
    expect(result.stderr).toContain("deployment/operator deleted\n");
    expect(result.stderr).not.toMatch(/already gone|servicemonitor/);
    expect(exists("apps/v1", "Deployment", "operator", "kadalu")).toBe(false);
    expect(exists("rbac.authorization.k8s.io/v1", "ClusterRole", "kadalu-operator")).toBe(false);
    expect(exists("apiextensions.k8s.io/v1", "CustomResourceDefinition", "kadalustorages.kadalu-operator.storage")).toBe(true);
    expect(exists("v1", "ConfigMap", "kadalu-info", "kadalu")).toBe(true);
    expect(exists("v1", "Namespace", "kadalu")).toBe(true);
    const again = await uninstall("--yes");
    expect(again.stdout).toBe('Kadalu uninstalled from namespace "kadalu": 0 objects deleted\n');
    expect(again.stderr).not.toMatch(/deleted|already gone/);
    expect((await uninstall("--yes", "--verbose")).stderr).toContain("deployment/operator already gone\n");
  });

  it("--purge also removes the CRD, kadalu-info and the namespace, after naming them", async () => {
    const asked = await uninstall("--purge", "--force");
    expect(asked.code).toBe(2);
    const result = await runCli(["uninstall", ...kc(), "--purge"], { interactive: true, answers: [true] });
    expect(result.prompts[0]).toContain(
      'deletes the KadaluStorage CRD with every pool definition, the kadalu-info ConfigMap (pool layouts and volume ids) and namespace "kadalu"',
    );
    expect(result.code).toBe(0);
    expect(exists("apiextensions.k8s.io/v1", "CustomResourceDefinition", "kadalustorages.kadalu-operator.storage")).toBe(false);
    expect(exists("v1", "Namespace", "kadalu")).toBe(false);
  });
});
