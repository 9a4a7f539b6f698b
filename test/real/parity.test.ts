/**
 * Parity: what the stand-in tier trusts the API test server for, asked of it and of a real kube-apiserver
 * alike. Each check runs against both; where they differ, the test server was fixed, or the difference is
 * kept here as a documented expectation.
 */
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kadaluStorageCrd } from "../../src/core/manifests/crd.js";
import { ApiServer, TEST_CA } from "../../harness/apiserver/server.js";
import { Api, ApiError } from "../../harness/real/api.js";
import { startRealCluster, type RealCluster } from "../../harness/real/cluster.js";
import { waitUntil } from "../../harness/real/processes.js";
import { kubernetes, noKubernetes } from "../../harness/real/tier.js";

const KDS = "/apis/kadalu-operator.storage/v1alpha1/namespaces/kadalu/kadalustorages";
const CMS = "/api/v1/namespaces/kadalu/configmaps";
const pool = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "kadalu-operator.storage/v1alpha1",
  kind: "KadaluStorage",
  metadata: { name, ...extra },
  spec: { type: "Replica1", storage: [{ node: "kube1", path: "/data" }] },
});

/** The events a watch delivers within `ms` (or until `count` arrived). */
function watchEvents(api: Api, path: string, ms: number, count = Infinity): Promise<{ status: number; events: any[] }> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    let buffered = "";
    const req = request(`${api.server}${path}`, { headers: { Authorization: `Bearer ${api.token}` }, ca: api.ca }, (res) => {
      const finish = (): void => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, events });
      };
      const timer = setTimeout(finish, ms);
      res.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
          const line = buffered.slice(0, end).trim();
          buffered = buffered.slice(end + 1);
          if (line) events.push(JSON.parse(line));
        }
        if (events.length >= count) finish();
      });
      res.on("end", finish);
    });
    req.on("error", (error) => (events.length ? undefined : reject(error)));
    req.end();
  });
}

const codeOf = async (promise: Promise<unknown>): Promise<number> =>
  promise.then(
    () => 200,
    (error: ApiError) => error.status,
  );

describe.skipIf(noKubernetes)("parity of the API test server with kube-apiserver", () => {
  let cluster: RealCluster;
  let testServer: ApiServer;
  const servers: Record<string, () => Api> = {
    "kube-apiserver": () => cluster.admin,
    "API test server": () => new Api(testServer.url, testServer.token, TEST_CA),
  };

  beforeAll(async () => {
    [cluster, testServer] = await Promise.all([
      startRealCluster(kubernetes!, { controllers: ["namespace", "serviceaccount", "garbagecollector"] }),
      ApiServer.start({ namespaces: [], historyLimit: 50 }),
    ]);
    for (const api of Object.values(servers).map((make) => make())) {
      await api.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "kadalu" } });
      await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kadaluStorageCrd());
      await waitUntil("the CRD to be served", () => api.get(KDS).then(() => true), 30_000, 200);
    }
  });
  afterAll(async () => {
    await testServer?.stop();
    await cluster?.stop();
  });

  describe.each(Object.keys(servers))("%s", (name) => {
    const api = (): Api => servers[name]!();

    it("status is a subresource: the main resource ignores status, status writes keep generation, spec writes bump it", async () => {
      const created = await api().post(KDS, { ...pool("p-status"), status: { state: "ready" } });
      expect(created.status).toBeUndefined();
      expect(created.metadata.generation).toBe(1);
      const withStatus = await api().merge(`${KDS}/p-status/status`, { status: { state: "ready" } });
      expect(withStatus.status.state).toBe("ready");
      expect(withStatus.metadata.generation).toBe(1);
      const ignored = await api().merge(`${KDS}/p-status`, { status: { state: "error" }, spec: { pvReclaimPolicy: "retain" } });
      expect(ignored.status.state).toBe("ready");
      expect(ignored.metadata.generation).toBe(2);
    });

    it("server-side apply: another manager's field is a 409 conflict unless forced", async () => {
      const apply = (manager: string, value: string, force = false) =>
        api().call(
          "PATCH",
          `${CMS}/ssa?fieldManager=${manager}${force ? "&force=true" : ""}`,
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" }, data: { key: value } },
          "application/apply-patch+yaml",
        );
      await apply("alice", "a");
      // A kept difference: the test server tracks no field ownership, so it has no conflicts to report.
      // Our code always applies with force, and the real tier covers what ownership changes (install.test.ts).
      expect(await codeOf(apply("bob", "b"))).toBe(name === "kube-apiserver" ? 409 : 200);
      expect((await apply("bob", "b", true)).data.key).toBe("b");
    });

    it("dryRun=All persists nothing; AlreadyExists and a stale resourceVersion are 409", async () => {
      const dry = await api().post(`${CMS}?dryRun=All`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dry" } });
      expect(dry.metadata.name).toBe("dry");
      expect(await api().find(`${CMS}/dry`)).toBeUndefined();
      const first = await api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "once" } });
      expect(await codeOf(api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "once" } }))).toBe(409);
      await api().merge(`${CMS}/once`, { data: { a: "1" } });
      expect(await codeOf(api().merge(`${CMS}/once`, { metadata: { resourceVersion: first.metadata.resourceVersion }, data: { a: "2" } }))).toBe(409);
    });

    it("lists in pages with limit and continue", async () => {
      for (const index of [1, 2, 3, 4, 5])
        await api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `page-${index}`, labels: { paging: "yes" } } });
      const names: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const page = await api().get(`${CMS}?labelSelector=paging%3Dyes&limit=2${token ? `&continue=${encodeURIComponent(token)}` : ""}`);
        names.push(...page.items.map((item: any) => item.metadata.name));
        token = page.metadata.continue ?? "";
        pages += 1;
      } while (token && pages < 10);
      expect(names).toEqual(["page-1", "page-2", "page-3", "page-4", "page-5"]);
      expect(pages).toBe(3);
    });

    it("a watch from a resourceVersion delivers what came after it, in order", async () => {
      const before = await api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "w0" } });
      await api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "w1" } });
      await api().merge(`${CMS}/w1`, { data: { x: "1" } });
      await api().delete(`${CMS}/w1`);
      const { events } = await watchEvents(api(), `${CMS}?watch=1&allowWatchBookmarks=true&resourceVersion=${before.metadata.resourceVersion}`, 3000, 3);
      expect(events.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED w1", "MODIFIED w1", "DELETED w1"]);
    });

    it("a watch from an old resourceVersion: the test server says 410 past its history, kube-apiserver replays until etcd compacts", async () => {
      // Kept difference: kube-apiserver serves an old resourceVersion from etcd until its compaction (5 min
      // by default); the test server keeps its last N events (50 here) and says 410 Expired past them. The
      // operator's informer and every watch of ours handle both: relist on 410, resume otherwise.
      await api().post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "history" } });
      for (let index = 0; index < 60; index += 1) await api().merge(`${CMS}/history`, { data: { n: String(index) } });
      const { status, events } = await watchEvents(api(), `${CMS}?watch=1&resourceVersion=2`, 3000, 1);
      const code = status === 410 ? 410 : events[0]?.type === "ERROR" ? events[0].object.code : events[0]?.type;
      expect(code).toBe(name === "kube-apiserver" ? "ADDED" : 410);
    });

    it("a finalizer keeps a deleted object, with deletionTimestamp set and generation bumped, until it is removed", async () => {
      await api().post(KDS, pool("p-fin", { finalizers: ["kadalu-operator.storage/finalizer"] }));
      await api().delete(`${KDS}/p-fin`);
      const deleting = await api().get(`${KDS}/p-fin`);
      expect(deleting.metadata.deletionTimestamp).toBeDefined();
      // Marking for deletion bumps generation: a status observedGeneration from before is stale.
      expect(deleting.metadata.generation).toBe(2);
      await api().merge(`${KDS}/p-fin`, { metadata: { finalizers: null } });
      await waitUntil("the object to go", async () => (await api().find(`${KDS}/p-fin`)) === undefined || undefined, 10_000);
    });

    it("unknown fields of a built-in kind: kube-apiserver refuses them under Strict and drops them otherwise; the test server keeps them", async () => {
      const unknown = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "strict" }, bogus: 1 };
      // Kept difference: the test server checks and prunes against CRD schemas only, not built-in kinds;
      // nothing of ours sends unknown fields (what kubectl validates is covered by install.test.ts).
      expect(await codeOf(api().post(`${CMS}?fieldValidation=Strict`, unknown))).toBe(name === "kube-apiserver" ? 400 : 200);
      const dropped = await api().post(CMS, { ...unknown, metadata: { name: "lenient" } });
      expect(dropped.bogus).toBe(name === "kube-apiserver" ? undefined : 1);
    });

    it("schema validation refuses a wrong type with 422", async () => {
      expect(await codeOf(api().post(KDS, { ...pool("p-type"), spec: { type: "Replica9", storage: [] } }))).toBe(422);
    });
  });

  it("kube-apiserver denies a ServiceAccount what RBAC does not grant (the test server has one all-powerful token)", async () => {
    await cluster.admin.post("/api/v1/namespaces/kadalu/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "nobody" } });
    const review = await cluster.admin.post("/api/v1/namespaces/kadalu/serviceaccounts/nobody/token", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {},
    });
    const nobody = new Api(cluster.server, review.status.token, cluster.ca);
    expect(await codeOf(nobody.get(KDS))).toBe(403);
    expect(await codeOf(nobody.post(CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }))).toBe(403);
  });
});
