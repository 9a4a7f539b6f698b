/** The API test server behaves as the Kubernetes API conventions say, for raw HTTP and the real client. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Exec, KubeConfig, Watch, CoreV1Api } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kadaluStorageCrd } from "../../../src/core/manifests/crd.js";
import { api } from "../../../harness/helpers/http.js";
import { localDirExec } from "../../../harness/apiserver/exec.js";
import { ApiServer } from "../../../harness/apiserver/server.js";

let server: ApiServer;
let dir: string;
const KDS = "/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages";
const pool = (name: string, spec: Record<string, unknown> = { type: "Replica1", storage: [{ node: "n1", path: "/d" }] }) => ({
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name },
  spec,
});
const configMap = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
  data: { a: "1" },
});

function client(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "kadalu" }));
  return kc;
}

beforeEach(async () => {
  server = await ApiServer.start({ namespaces: ["kadalu"] });
  dir = mkdtempSync(join(tmpdir(), "apiserver-test-"));
});
afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("authentication and errors", () => {
  it("rejects a missing or wrong token with a 401 Status", async () => {
    for (const token of [null, "wrong"]) {
      const result = await api(server, "GET", "/api/v1/namespaces", undefined, { token });
      expect(result.status).toBe(401);
      expect(result.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", code: 401 });
    }
  });

  it("answers unknown paths and missing objects with NotFound Status objects", async () => {
    expect((await api(server, "GET", "/apis/nope.example.com/v1/things")).body).toMatchObject({ reason: "NotFound", code: 404 });
    const missing = await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps/absent");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: "Status",
      reason: "NotFound",
      message: 'configmaps "absent" not found',
      details: { name: "absent", kind: "configmaps" },
    });
    expect((await api(server, "DELETE", "/api/v1/namespaces/kadalu/configmaps/absent")).status).toBe(404);
  });
});

describe("discovery", () => {
  it("serves version, core and group resources with verbs, short names and subresources", async () => {
    expect((await api(server, "GET", "/version")).body.major).toBe("1");
    const core = (await api(server, "GET", "/api/v1")).body;
    const pods = core.resources.find((r: any) => r.name === "pods");
    expect(pods).toMatchObject({ namespaced: true, kind: "Pod", shortNames: ["po"] });
    expect(pods.verbs).toEqual(expect.arrayContaining(["get", "list", "watch", "create", "patch", "delete"]));
    expect(core.resources.map((r: any) => r.name)).toEqual(expect.arrayContaining(["pods/exec", "pods/log", "pods/status", "nodes", "persistentvolumes"]));
    const groups = (await api(server, "GET", "/apis")).body.groups.map((g: any) => g.name);
    expect(groups).toEqual(expect.arrayContaining(["apps", "storage.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io"]));
  });

  it("serves a custom resource once its CRD exists, with its short names and status subresource", async () => {
    expect((await api(server, "GET", KDS)).status).toBe(404);
    const created = await api(server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kadaluStorageCrd());
    expect(created.status).toBe(201);
    expect(created.body.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: "Established", status: "True" })]));
    const list = (await api(server, "GET", "/apis/kadalu-operator.storage/v1alpha1")).body;
    expect(list.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "kadalustorages", namespaced: true, shortNames: ["kadalu", "kds"], categories: ["kadalu"] }),
        expect.objectContaining({ name: "kadalustorages/status" }),
      ]),
    );
    expect((await api(server, "GET", KDS)).status).toBe(200);
    await api(server, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/kadalustorages.kadalu-operator.storage");
    expect((await api(server, "GET", KDS)).status).toBe(404);
  });
});

describe("object semantics", () => {
  beforeEach(() => {
    server.seed(kadaluStorageCrd() as never);
  });

  it("sets uid, creationTimestamp, generation and one increasing resourceVersion", async () => {
    const a = (await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("a"))).body;
    const b = (await api(server, "POST", KDS, pool("p1"))).body;
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(b.metadata.generation).toBe(1);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
  });

  it("answers a second create with 409 AlreadyExists", async () => {
    await api(server, "POST", KDS, pool("p1"));
    const again = await api(server, "POST", KDS, pool("p1"));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: "AlreadyExists", message: 'kadalustorages.kadalu-operator.storage "p1" already exists' });
  });

  it("refuses creates in a namespace that does not exist", async () => {
    const result = await api(server, "POST", "/api/v1/namespaces/nowhere/configmaps", configMap("a"));
    expect(result.body).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
  });

  it("answers an update with a stale resourceVersion with 409 Conflict", async () => {
    const created = (await api(server, "POST", KDS, pool("p1"))).body;
    const first = await api(server, "PUT", `${KDS}/p1`, { ...created, spec: { ...created.spec, pvReclaimPolicy: "retain" } });
    expect(first.status).toBe(200);
    const stale = await api(server, "PUT", `${KDS}/p1`, { ...created, spec: { ...created.spec, pvReclaimPolicy: "archive" } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
  });

  it("bumps generation on spec changes only, and keeps status apart from the main resource", async () => {
    const created = (await api(server, "POST", KDS, { ...pool("p1"), status: { state: "ready" } })).body;
    expect(created.status).toBeUndefined();
    const labelled = (await api(server, "PATCH", `${KDS}/p1`, { metadata: { labels: { a: "b" } } }, { contentType: "application/merge-patch+json" })).body;
    expect(labelled.metadata.generation).toBe(1);
    const withStatus = (
      await api(
        server,
        "PATCH",
        `${KDS}/p1/status`,
        { status: { state: "ready" }, spec: { type: "Replica3" } },
        { contentType: "application/merge-patch+json" },
      )
    ).body;
    expect(withStatus.status).toEqual({ state: "ready" });
    expect(withStatus.spec.type).toBe("Replica1");
    expect(withStatus.metadata.generation).toBe(1);
    const ignored = (
      await api(
        server,
        "PATCH",
        `${KDS}/p1`,
        { status: { state: "error" }, spec: { pvReclaimPolicy: "retain" } },
        { contentType: "application/merge-patch+json" },
      )
    ).body;
    expect(ignored.status).toEqual({ state: "ready" });
    expect(ignored.metadata.generation).toBe(2);
  });

  it("applies JSON merge patch, JSON patch and server-side apply; refuses strategic merge on custom resources", async () => {
    await api(server, "POST", KDS, pool("p1"));
    const merged = await api(server, "PATCH", `${KDS}/p1`, { spec: { options: [{ key: "k", value: "v" }] } }, { contentType: "application/merge-patch+json" });
    expect(merged.body.spec.options).toEqual([{ key: "k", value: "v" }]);
    const patched = await api(
      server,
      "PATCH",
      `${KDS}/p1`,
      [
        { op: "add", path: "/spec/options/-", value: { key: "k2", value: "v2" } },
        { op: "remove", path: "/spec/options/0" },
      ],
      { contentType: "application/json-patch+json" },
    );
    expect(patched.body.spec.options).toEqual([{ key: "k2", value: "v2" }]);
    const failedTest = await api(server, "PATCH", `${KDS}/p1`, [{ op: "test", path: "/spec/type", value: "Replica3" }], {
      contentType: "application/json-patch+json",
    });
    expect(failedTest.status).toBe(422);
    const strategic = await api(server, "PATCH", `${KDS}/p1`, { spec: {} }, { contentType: "application/strategic-merge-patch+json" });
    expect(strategic.status).toBe(415);
    expect(strategic.body.reason).toBe("UnsupportedMediaType");
    const noManager = await api(server, "PATCH", `${KDS}/p2`, pool("p2"), { contentType: "application/apply-patch+yaml" });
    expect(noManager.status).toBe(400);
    const applied = await api(
      server,
      "PATCH",
      `${KDS}/p2?fieldManager=test`,
      "apiVersion: kadalu-operator.storage/v1alpha1\nkind: KadaluStorage\nmetadata: {name: p2}\nspec: {type: Replica1}\n",
      { contentType: "application/apply-patch+yaml" },
    );
    expect(applied.status).toBe(201);
    const reapplied = await api(
      server,
      "PATCH",
      `${KDS}/p2?fieldManager=test`,
      { ...pool("p2"), spec: { volume_id: "x" } },
      { contentType: "application/apply-patch+yaml" },
    );
    expect(reapplied.status).toBe(200);
    expect(reapplied.body.spec).toMatchObject({ type: "Replica1", volume_id: "x" });
  });

  it("validates custom resources against the CRD schema, prunes unknown fields and applies defaults", async () => {
    const bad = await api(server, "POST", KDS, pool("p1", { type: "Replica9" }));
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ reason: "Invalid", message: expect.stringContaining('spec.type: Unsupported value: "Replica9"') });
    const wrongType = await api(server, "POST", KDS, pool("p1", { type: "Disperse", disperse: { data: "2", redundancy: 1 } }));
    expect(wrongType.body.message).toContain("spec.disperse.data");
    const created = (await api(server, "POST", KDS, { ...pool("p1"), extra: "dropped", spec: { type: "Replica1", custom_key: "kept" } })).body;
    expect(created.extra).toBeUndefined();
    expect(created.spec).toMatchObject({ custom_key: "kept", pvReclaimPolicy: "delete", single_pv_per_pool: false });
  });

  it("persists nothing for dryRun=All", async () => {
    const result = await api(server, "POST", `${KDS}?dryRun=All`, pool("p1"));
    expect(result.status).toBe(201);
    expect(result.body.metadata.name).toBe("p1");
    expect((await api(server, "GET", `${KDS}/p1`)).status).toBe(404);
    await api(server, "POST", KDS, pool("p1"));
    await api(server, "DELETE", `${KDS}/p1?dryRun=All`);
    expect((await api(server, "GET", `${KDS}/p1`)).status).toBe(200);
  });

  it("keeps an object with finalizers until the last one is removed", async () => {
    await api(server, "POST", KDS, { ...pool("p1"), metadata: { name: "p1", finalizers: ["kadalu-operator.storage/finalizer"] } });
    const deleting = (await api(server, "DELETE", `${KDS}/p1`)).body;
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect((await api(server, "GET", `${KDS}/p1`)).status).toBe(200);
    const adding = await api(
      server,
      "PATCH",
      `${KDS}/p1`,
      { metadata: { finalizers: ["kadalu-operator.storage/finalizer", "other"] } },
      { contentType: "application/merge-patch+json" },
    );
    expect(adding.status).toBe(422);
    await api(server, "PATCH", `${KDS}/p1`, { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    expect((await api(server, "GET", `${KDS}/p1`)).status).toBe(404);
  });

  it("collects dependents with their owner and empties a deleted namespace", async () => {
    const owner = (await api(server, "POST", KDS, pool("p1"))).body;
    const ownerReferences = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: "p1", uid: owner.metadata.uid, controller: true }];
    await api(server, "POST", "/api/v1/namespaces/kadalu/services", { apiVersion: "v1", kind: "Service", metadata: { name: "p1", ownerReferences } });
    await api(server, "DELETE", `${KDS}/p1`);
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/services/p1")).status).toBe(404);
    await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("c"));
    await api(server, "DELETE", "/api/v1/namespaces/kadalu");
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps/c")).status).toBe(404);
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu")).status).toBe(404);
  });

  it("filters lists by label and field selectors", async () => {
    await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("a", { app: "x", tier: "db" }));
    await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("b", { app: "y" }));
    await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("c"));
    const names = async (query: string): Promise<string[]> =>
      (await api(server, "GET", `/api/v1/namespaces/kadalu/configmaps?${query}`)).body.items.map((item: any) => item.metadata.name);
    expect(await names("labelSelector=app%3Dx")).toEqual(["a"]);
    expect(await names("labelSelector=app!%3Dx")).toEqual(["b", "c"]);
    expect(await names("labelSelector=app%20in%20(x%2Cy)")).toEqual(["a", "b"]);
    expect(await names("labelSelector=app%20notin%20(x)")).toEqual(["b", "c"]);
    expect(await names("labelSelector=app%2C!tier")).toEqual(["b"]);
    expect(await names("fieldSelector=metadata.name%3Db")).toEqual(["b"]);
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps?fieldSelector=spec.nodeName%3Dn1")).status).toBe(400);
    server.seed(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p1", namespace: "kadalu" },
        spec: { nodeName: "n1", containers: [{ name: "c" }] },
        status: { phase: "Running" },
      },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "p2", namespace: "kadalu" }, spec: { nodeName: "n2", containers: [{ name: "c" }] } },
    );
    const pods = async (query: string): Promise<string[]> =>
      (await api(server, "GET", `/api/v1/pods?${query}`)).body.items.map((item: any) => item.metadata.name);
    expect(await pods("fieldSelector=status.phase%3DRunning")).toEqual(["p1"]);
    expect(await pods("fieldSelector=spec.nodeName%3Dn2%2Cmetadata.namespace%3Dkadalu")).toEqual(["p2"]);
    server.seed(
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e1", namespace: "kadalu" },
        involvedObject: { kind: "PersistentVolumeClaim", name: "data" },
        reason: "ProvisioningFailed",
      },
      { apiVersion: "v1", kind: "Event", metadata: { name: "e2", namespace: "kadalu" }, involvedObject: { kind: "Pod", name: "web" }, reason: "FailedMount" },
    );
    const events = async (query: string): Promise<string[]> =>
      (await api(server, "GET", `/api/v1/events?${query}`)).body.items.map((item: any) => item.metadata.name);
    expect(await events("fieldSelector=involvedObject.kind%3DPersistentVolumeClaim")).toEqual(["e1"]);
    expect(await events("fieldSelector=reason%3DFailedMount")).toEqual(["e2"]);
    expect((await api(server, "GET", "/api/v1/pods?fieldSelector=involvedObject.kind%3DPod")).status).toBe(400);
  });

  it("pages lists with limit and continue", async () => {
    for (const name of ["a", "b", "c"]) await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap(name));
    const first = (await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps?limit=2")).body;
    expect(first.items.map((i: any) => i.metadata.name)).toEqual(["a", "b"]);
    const rest = (await api(server, "GET", `/api/v1/namespaces/kadalu/configmaps?limit=2&continue=${first.metadata.continue}`)).body;
    expect(rest.items.map((i: any) => i.metadata.name)).toEqual(["c"]);
    expect(rest.metadata.continue).toBeUndefined();
  });

  it("answers kubectl's Table requests with printer columns", async () => {
    await api(server, "POST", KDS, pool("p1"));
    const table = (await api(server, "GET", KDS, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" })).body;
    expect(table.kind).toBe("Table");
    expect(table.columnDefinitions.map((c: any) => c.name)).toEqual(["Name", "Type", "State", "Capacity", "Used", "PVs", "Age", "Message"]);
    expect(table.rows[0].cells.slice(0, 2)).toEqual(["p1", "Replica1"]);
  });
});

describe("watch", () => {
  beforeEach(() => {
    server.seed(kadaluStorageCrd() as never);
  });

  it("streams ADDED, MODIFIED and DELETED through the real client, resuming from a resourceVersion", async () => {
    const first = (await api(server, "POST", KDS, pool("p1"))).body;
    await api(server, "POST", KDS, pool("p2"));
    const events: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void new Watch(client()).watch(
        KDS,
        { resourceVersion: first.metadata.resourceVersion },
        (type, object) => {
          events.push(`${type} ${object.metadata.name}`);
          if (events.length === 3) server.closeWatches();
        },
        resolve,
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api(server, "PATCH", `${KDS}/p1`, { spec: { pvReclaimPolicy: "retain" } }, { contentType: "application/merge-patch+json" });
    await api(server, "DELETE", `${KDS}/p2`);
    expect(await ended).toBeNull();
    expect(events).toEqual(["ADDED p2", "MODIFIED p1", "DELETED p2"]);
  });

  it("lists existing objects as ADDED when no resourceVersion is given", async () => {
    await api(server, "POST", KDS, pool("p1"));
    const watch = await api(server, "GET", `${KDS}?watch=1&timeoutSeconds=1`);
    expect(
      watch.text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).type),
    ).toEqual(["ADDED"]);
  });

  it("says 410 Expired for a resourceVersion older than the history kept", async () => {
    const created = (await api(server, "POST", KDS, pool("p1"))).body;
    await api(server, "POST", KDS, pool("p2"));
    server.store.compact();
    const watch = await api(server, "GET", `${KDS}?watch=1&resourceVersion=${Number(created.metadata.resourceVersion) - 1}`);
    expect(JSON.parse(watch.text.trim())).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
  });
});

describe("faults and the request log", () => {
  it("fails the next matching requests, then recovers", async () => {
    server.failNext({ verb: "list", resource: "configmaps", count: 2, code: 503 });
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps")).status).toBe(503);
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps")).body.reason).toBe("ServiceUnavailable");
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps")).status).toBe(200);
    expect((await api(server, "GET", "/api/v1/namespaces/kadalu/secrets")).status).toBe(200);
  });

  it("hangs a request past the client's timeout, and adds latency", async () => {
    server.hangNext({ verb: "get", resource: "namespaces" });
    await expect(api(server, "GET", "/api/v1/namespaces/kadalu", undefined, { timeoutMs: 200 })).rejects.toThrow("client timeout");
    server.setLatency(100);
    const start = Date.now();
    await api(server, "GET", "/api/v1/namespaces/kadalu");
    expect(Date.now() - start).toBeGreaterThanOrEqual(95);
  });

  it("keeps connections alive for clients that reuse them", async () => {
    const kc = client();
    const { CoreV1Api } = await import("@kubernetes/client-node");
    const { loadKubeConfig } = await import("../../../src/kube/connection.js");
    const shared = loadKubeConfig({ kubeconfig: join(dir, "kubeconfig") }).makeApiClient(CoreV1Api);
    server.connections = 0;
    for (let i = 0; i < 3; i += 1) await shared.listNamespace();
    expect(server.connections).toBe(1);
    const fresh = kc.makeApiClient(CoreV1Api);
    server.connections = 0;
    for (let i = 0; i < 3; i += 1) await fresh.listNamespace();
    // client-node on its own opens a connection per request; src/kube shares one agent.
    expect(server.connections).toBe(3);
  });

  it("logs method, path, verb, resource and code of every request", async () => {
    await api(server, "POST", "/api/v1/namespaces/kadalu/configmaps", configMap("a"));
    await api(server, "GET", "/api/v1/namespaces/kadalu/configmaps/a");
    await api(server, "DELETE", "/api/v1/namespaces/kadalu/configmaps/a");
    expect(server.requests.map((r) => [r.verb, r.resource, r.name ?? "", r.code])).toEqual([
      ["create", "configmaps", "", 201],
      ["get", "configmaps", "a", 200],
      ["delete", "configmaps", "a", 200],
    ]);
    expect(server.writes().map((r) => r.verb)).toEqual(["create", "delete"]);
  });
});

describe("pods: exec and logs", () => {
  beforeEach(() => {
    server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "prov-0", namespace: "kadalu" },
      spec: { containers: [{ name: "main" }, { name: "side" }] },
      status: { phase: "Running" },
    });
  });

  async function exec(command: string[], stdinText?: string): Promise<{ stdout: string; stderr: string; status: any }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk) => (out += chunk));
    stderr.on("data", (chunk) => (err += chunk));
    const stdin = stdinText === undefined ? null : PassThrough.from([stdinText]);
    const status = await new Promise((resolve, reject) => {
      new Exec(client()).exec("kadalu", "prov-0", "main", command, stdout, stderr, stdin, false, resolve).catch(reject);
    });
    return { stdout: out, stderr: err, status };
  }

  it("runs a command in a directory standing for the pod's filesystem", async () => {
    mkdirSync(join(dir, "root/mnt/pool1"), { recursive: true });
    writeFileSync(join(dir, "root/mnt/pool1/hello"), "hello\n");
    server.onExec("kadalu", "prov-0", "main", localDirExec(join(dir, "root")));
    expect(await exec(["cat", "/mnt/pool1/hello"])).toMatchObject({ stdout: "hello\n", status: { status: "Success" } });
    const failed = await exec(["cat", "/mnt/pool1/missing"]);
    expect(failed.stderr).toContain("No such file");
    expect(failed.status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "1" }] } });
    expect((await exec(["wc", "-c"], "12345")).stdout.trim()).toBe("5");
  });

  it("refuses exec for a pod that is not running or a container it does not have", async () => {
    server.onExec("kadalu", "prov-0", undefined, async () => 0);
    const bad = await api(server, "GET", "/api/v1/namespaces/kadalu/pods/prov-0/exec?command=true&container=nope", undefined, {});
    expect(bad.status).toBe(400);
  });

  it("serves registered logs with tailLines, previous and the container rule", async () => {
    server.setPodLogs("kadalu", "prov-0", "main", "1\n2\n3\n", "old\n");
    const logs = (query: string) => api(server, "GET", `/api/v1/namespaces/kadalu/pods/prov-0/log?${query}`);
    expect((await logs("container=main")).text).toBe("1\n2\n3\n");
    expect((await logs("container=main&tailLines=2")).text).toBe("2\n3\n");
    expect((await logs("container=main&previous=true")).text).toBe("old\n");
    expect((await logs("")).body.message).toContain("a container name must be specified for pod prov-0, choose one of: [main side]");
    const core = client().makeApiClient(CoreV1Api);
    expect(await core.readNamespacedPodLog({ name: "prov-0", namespace: "kadalu", container: "main", tailLines: 1 })).toBe("3\n");
  });
});
