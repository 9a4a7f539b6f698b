/**
 * install on a real kube-apiserver: the printed YAML applied by the real kubectl (YAML 1.1), the server's
 * own dry run, server-side apply, an install over workloads another field manager wrote, and an
 * `uninstall --purge` that leaves nothing Terminating when the operator's finalizers have no operator.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { which } from "../../harness/real/components.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { kadalu, type CliResult } from "../../harness/real/kadalu.js";
import { waitUntil } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

function kubectl(kubeconfig: string, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn("kubectl", ["--kubeconfig", kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const noKubectl = which("kubectl") ? undefined : "kubectl is not on PATH";

describe.skipIf(noKubernetes)("install on a real kube-apiserver", () => {
  let cluster: RealCluster;
  beforeAll(async () => {
    cluster = await startRealCluster(kubernetes!, { controllers: ["namespace", "serviceaccount", "garbagecollector"] });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  const deployment = () => cluster.admin.get("/apis/apps/v1/namespaces/kadalu/deployments/operator");

  it("install --dry-run=server on an empty cluster has the server check what it can, and persists nothing", async () => {
    const dry = await kadalu(cluster.adminKubeconfig, ["install", "--dry-run=server"]);
    expect(dry.code, dry.stderr).toBe(0);
    // A line per object as kubectl names it, then the count.
    expect(dry.stdout).toMatch(/^namespace\/kadalu created \(server dry run\)\n/);
    expect(dry.stdout).toMatch(/\nserver dry run: \d+ objects accepted by the API server, nothing persisted\n$/);
    expect(await cluster.admin.find("/api/v1/namespaces/kadalu")).toBeUndefined();
  });

  it.skipIf(noKubectl)("`install -o yaml | kubectl apply -f -` is accepted (YAML 1.1: `no` stays a string), and so is its server dry run", async () => {
    const yaml = await kadalu(cluster.adminKubeconfig, ["install", "-o", "yaml"]);
    expect(yaml.code).toBe(0);
    const applied = await kubectl(cluster.adminKubeconfig, ["apply", "-f", "-"], yaml.stdout);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim().split("\n")).toHaveLength(parseAllDocuments(yaml.stdout).length);
    const env = (await deployment()).spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === "VERBOSE")).toEqual({ name: "VERBOSE", value: "no" });
    const server = await kubectl(cluster.adminKubeconfig, ["apply", "--dry-run=server", "-f", "-"], yaml.stdout);
    expect(server.code, server.stderr).toBe(0);
  });

  it("install server-side applies over whatever is there, and a second install changes nothing", async () => {
    const first = await kadalu(cluster.adminKubeconfig, ["install", "--no-wait"]);
    expect(first.code, first.stderr).toBe(0);
    const second = await kadalu(cluster.adminKubeconfig, ["install", "--no-wait"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("nothing to change");
  });

  it("an install over workloads another field manager wrote leaves none of their containers or volumes behind", async () => {
    // Someone (an older install, a hand edit) added a sidecar and a volume to the provisioner with their own manager.
    const path = "/apis/apps/v1/namespaces/kadalu/statefulsets/kadalu-csi-provisioner";
    const live = await cluster.admin.get(path);
    live.spec.template.spec.containers.push({ name: "legacy-attacher", image: "example.invalid/csi-attacher:v1" });
    live.spec.template.spec.volumes.push({ name: "legacy", emptyDir: {} });
    live.metadata.annotations = { ...live.metadata.annotations, "kadalu.io/install-hash": "stale" };
    await cluster.admin.call("PUT", `${path}?fieldManager=hand-edit`, live);
    const op = await deployment();
    await cluster.admin.merge("/apis/apps/v1/namespaces/kadalu/deployments/operator?fieldManager=hand-edit", {
      metadata: { annotations: { "kadalu.io/install-hash": "stale" } },
      spec: { template: { spec: { volumes: [{ name: "legacy", emptyDir: {} }] } } },
    });
    expect(op.spec.template.spec.volumes).toBeUndefined();
    const result = await kadalu(cluster.adminKubeconfig, ["install", "--no-wait"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/statefulset\.apps\/kadalu-csi-provisioner configured \(replaced: fields set by [^)]*hand-edit[^)]* removed\)/);
    const after = await cluster.admin.get(path);
    expect(after.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(["csi-provisioner", "csi-resizer", "kadalu-provisioner"]);
    expect(after.spec.template.spec.volumes.map((v: { name: string }) => v.name)).not.toContain("legacy");
    expect((await deployment()).spec.template.spec.volumes).toBeUndefined();
  });

  it("uninstall --purge with pools that carry the operator's finalizer, and no operator to remove it, leaves nothing Terminating", async () => {
    const pools = "/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages";
    const crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/kadalustorages.kadalu-operator.storage";
    expect((await kadalu(cluster.adminKubeconfig, ["install", "--no-wait"])).code).toBe(0);
    await waitUntil("the KadaluStorage kind to be served", () => cluster.admin.find(pools).then((list) => list !== undefined || undefined), 30_000, 200);
    for (const name of ["pool1", "pool2"]) {
      // As the operator leaves a pool it reconciled: its finalizer set (the operator itself never ran here).
      await cluster.admin.post(pools, {
        apiVersion: "kadalu-operator.storage/v1alpha1",
        kind: "KadaluStorage",
        metadata: { name, finalizers: ["kadalu-operator.storage/finalizer"] },
        spec: { type: "Replica1", storage: [{ node: "kube1", path: `/data/${name}` }] },
      });
    }
    const result = await kadalu(cluster.adminKubeconfig, ["uninstall", "--purge", "--force", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    // The real apiserver finalizes the CRD (deleting every pool) and the namespace controller empties the namespace.
    await waitUntil(
      "the CRD and namespace kadalu to be gone, not Terminating",
      async () => {
        const [left, ns] = [await cluster.admin.find(crd), await cluster.admin.find("/api/v1/namespaces/kadalu")];
        return (left === undefined && ns === undefined) || undefined;
      },
      30_000,
      250,
    );
    expect(result.stderr).toContain("kadalustorage/pool1 in kadalu: finalizer removed (the operator is gone)");
    expect(result.stderr).toContain("kadalustorage/pool2 in kadalu: finalizer removed (the operator is gone)");
  });
});
