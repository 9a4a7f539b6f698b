/** The real kubectl binary against the API test server. Skipped, with the reason printed, without kubectl. */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kadaluStorageCrd } from "../../../src/core/manifests/crd.js";
import { localDirExec } from "../../../harness/apiserver/exec.js";
import { ApiServer } from "../../../harness/apiserver/server.js";

const run = promisify(execFile);
const kubectl = await run("kubectl", ["version", "--client"]).then(
  () => true,
  () => false,
);
if (!kubectl) console.warn("kubectl tests skipped: no kubectl on PATH (install kubectl to run them)");

describe.skipIf(!kubectl)("kubectl against the API test server", () => {
  let server: ApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const k = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await run("kubectl", args, { env });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const failed = error as { stdout: string; stderr: string; code: number };
      return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
    }
  };

  beforeAll(async () => {
    server = await ApiServer.start({ namespaces: ["kadalu"] });
    dir = mkdtempSync(join(tmpdir(), "kubectl-test-"));
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "kadalu" }),
      KUBECACHEDIR: join(dir, "cache"),
    };
    writeFileSync(join(dir, "crd.yaml"), stringify(kadaluStorageCrd()));
    writeFileSync(
      join(dir, "pool.yaml"),
      stringify({
        apiVersion: "kadalu-operator.storage/v1alpha1",
        kind: "KadaluStorage",
        metadata: { name: "pool1" },
        spec: { type: "Replica1", storage: [{ node: "kube1", path: "/data" }] },
      }),
    );
    server.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kadalu-info", namespace: "kadalu" }, data: { uid: "u-1" } });
    server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kadalu-csi-provisioner-0", namespace: "kadalu" },
      spec: { containers: [{ name: "kadalu-provisioner" }] },
      status: { phase: "Running" },
    });
    mkdirSync(join(dir, "pod/mnt/pool1"), { recursive: true });
    writeFileSync(join(dir, "pod/mnt/pool1/hello"), "from the pod\n");
    server.onExec("kadalu", "kadalu-csi-provisioner-0", "kadalu-provisioner", localDirExec(join(dir, "pod")));
    server.setPodLogs("kadalu", "kadalu-csi-provisioner-0", "kadalu-provisioner", "started\nready\n");
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gets namespaces", async () => {
    const result = await k("get", "ns");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NAME\s+AGE\n/);
    expect(result.stdout).toMatch(/\nkadalu\s+\d+s\n/);
  });

  it("server-side applies a CRD and a custom resource, then gets it by short name", async () => {
    expect((await k("apply", "--server-side", "-f", join(dir, "crd.yaml"))).stdout).toContain(
      "customresourcedefinition.apiextensions.k8s.io/kadalustorages.kadalu-operator.storage serverside-applied",
    );
    expect((await k("apply", "--server-side", "-f", join(dir, "pool.yaml"))).stdout).toContain(
      "kadalustorage.kadalu-operator.storage/pool1 serverside-applied",
    );
    const listed = await k("get", "kds");
    expect(listed.stdout).toMatch(/^NAME\s+TYPE\s+STATE\s+CAPACITY\s+USED\s+PVS\s+AGE\n/);
    expect(listed.stdout).toMatch(/\npool1\s+Replica1\s+/);
    expect((await k("get", "kadalu", "pool1", "-o", "jsonpath={.spec.storage[0].node}")).stdout).toBe("kube1");
  });

  it("accepts apply --dry-run=server and rejects an invalid custom resource", async () => {
    expect((await k("apply", "--server-side", "--dry-run=server", "-f", join(dir, "pool.yaml"))).code).toBe(0);
    const invalid = await k("patch", "kds", "pool1", "--type", "merge", "-p", '{"spec":{"type":"Replica9"}}');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('Unsupported value: "Replica9"');
  });

  it("gets a ConfigMap as JSON and merge-patches it", async () => {
    const got = JSON.parse((await k("get", "configmap", "kadalu-info", "-o", "json")).stdout);
    expect(got.data).toEqual({ uid: "u-1" });
    expect((await k("patch", "configmap", "kadalu-info", "--type", "merge", "-p", '{"data":{"pool1.info":"{}"}}')).code).toBe(0);
    expect(server.get("v1", "ConfigMap", "kadalu", "kadalu-info")?.data).toEqual({ uid: "u-1", "pool1.info": "{}" });
  });

  it("execs in a pod and reads its logs", async () => {
    expect((await k("exec", "kadalu-csi-provisioner-0", "-c", "kadalu-provisioner", "--", "cat", "/mnt/pool1/hello")).stdout).toBe("from the pod\n");
    const failed = await k("exec", "kadalu-csi-provisioner-0", "--", "cat", "/mnt/pool1/missing");
    expect(failed.code).toBe(1);
    expect((await k("logs", "kadalu-csi-provisioner-0")).stdout).toBe("started\nready\n");
  });

  it("accepts the plugin's rendered install manifests with apply --dry-run=server", async () => {
    const { runCli } = await import("../../../harness/helpers/cli.js");
    const rendered = await runCli(["install", "-o", "yaml"]);
    writeFileSync(join(dir, "install.yaml"), rendered.stdout);
    const result = await k("apply", "--server-side", "--dry-run=server", "-f", join(dir, "install.yaml"));
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toHaveLength(20);
    expect(result.stdout).toContain("daemonset.apps/kadalu-csi-nodeplugin serverside-applied (server dry run)");
    expect(server.get("apps/v1", "DaemonSet", "kadalu", "kadalu-csi-nodeplugin")).toBeUndefined();
  });

  it("deletes, and reports what is missing", async () => {
    expect((await k("delete", "kds", "pool1")).stdout).toContain('kadalustorage.kadalu-operator.storage "pool1" deleted');
    const missing = await k("get", "kds", "pool1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('kadalustorages.kadalu-operator.storage "pool1" not found');
  });
});
