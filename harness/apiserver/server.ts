/**
 * An in-process Kubernetes API server for tests: real HTTP on a loopback port, a bearer token, discovery,
 * CRUD with the API conventions, watch, exec over WebSocket, logs, fault injection and a request log.
 * `@kubernetes/client-node` and the real `kubectl` talk to it through a kubeconfig it writes.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { Duplex } from "node:stream";
import { parse as parseYaml } from "yaml";
import { WebSocketServer } from "ws";
import { groupDocument, groupList, resourceList, SERVER_VERSION, toTable } from "./discovery.js";
import { EXEC_PROTOCOLS, serveExec, type ExecHandler } from "./exec.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { Objects, typeKey } from "./objects.js";
import { openapiDocument } from "./openapi.js";
import { applyPatch, jsonPatch, mergePatch, PatchError } from "./patch.js";
import { apiVersionOf, Registry, type ResourceType } from "./resources.js";
import { fieldSelector, labelSelector, SelectorError } from "./selectors.js";
import { ApiStatus, badRequest, SUCCESS } from "./status.js";
import { Store, type KubeObject, type StoredEvent } from "./store.js";

export interface RequestRecord {
  method: string;
  path: string;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
  /** The query string, without its "?", when there was one. */
  query?: string;
}

export interface RequestMatch {
  verb?: string;
  resource?: string;
  subresource?: string;
}

interface Fault extends RequestMatch {
  remaining: number;
  code?: number;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"];

export interface ApiServerOptions {
  token?: string;
  /** Namespaces that exist from the start (besides default, kube-system and kube-public). */
  namespaces?: string[];
  historyLimit?: number;
  /** Serve HTTPS with the test CA (default). kubectl sends bearer tokens only over TLS. */
  tls?: boolean;
}

const TLS_DIR = new URL("./tls/", import.meta.url);
/** The CA that signed the test server's certificate (for 127.0.0.1 and localhost). */
export const TEST_CA = readFileSync(new URL("ca.crt", TLS_DIR), "utf8");

export class ApiServer {
  readonly store: Store;
  readonly registry = new Registry();
  readonly objects: Objects;
  readonly requests: RequestRecord[] = [];
  /** Connections accepted (TLS handshakes on an HTTPS server): what keep-alive saves shows here. */
  connections = 0;
  readonly token: string;
  url = "";
  private http?: Server;
  private readonly sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false });
  private latencyMs = 0;
  private failures: Fault[] = [];
  private hangs: Fault[] = [];
  private readonly hung = new Set<ServerResponse>();
  private readonly openStreams = new Set<ServerResponse>();
  private readonly execHandlers = new Map<string, ExecHandler>();
  private readonly logs = new Map<string, { current: string; previous?: string }>();

  private readonly tls: boolean;

  private constructor(options: ApiServerOptions) {
    this.tls = options.tls ?? true;
    this.token = options.token ?? randomBytes(16).toString("hex");
    this.store = new Store(options.historyLimit);
    this.objects = new Objects(this.store, this.registry);
    for (const name of ["default", "kube-system", "kube-public", ...(options.namespaces ?? [])]) {
      this.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    }
  }

  static async start(options: ApiServerOptions = {}): Promise<ApiServer> {
    const server = new ApiServer(options);
    await server.listen();
    return server;
  }

  private async listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    // kube-apiserver (Go's net/http) takes 1 MiB of request line and headers; Node's default is 16 KiB, which
    // an exec naming 500 pools' stat.db files in its URL passes.
    const maxHeaderSize = 1024 * 1024;
    const http = this.tls
      ? createTlsServer({ key: readFileSync(new URL("server.key", TLS_DIR)), cert: readFileSync(new URL("server.crt", TLS_DIR)), maxHeaderSize }, handler)
      : createServer({ maxHeaderSize }, handler);
    http.on("upgrade", (req, socket, head) => void this.upgrade(req, socket, head));
    http.on(this.tls ? "secureConnection" : "connection", () => (this.connections += 1));
    // Node's agents keep a socket for the server's Keep-Alive hint minus one second: 1 s would disable reuse.
    http.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const address = http.address();
    if (!address || typeof address === "string") throw new Error("no address");
    this.url = `${this.tls ? "https" : "http"}://127.0.0.1:${address.port}`;
    this.http = http;
  }

  async stop(): Promise<void> {
    this.store.closeWatches();
    for (const res of [...this.hung, ...this.openStreams]) res.destroy();
    for (const client of this.sockets.clients) client.terminate();
    const http = this.http;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    this.http = undefined;
  }

  writeKubeconfig(path: string, options: { namespace?: string; context?: string } = {}): string {
    return writeKubeconfig(path, { server: this.url, token: this.token, ca: this.tls ? TEST_CA : undefined, ...options });
  }

  // ---- test helpers ----

  /** Creates objects directly (no auth, not logged), with the same semantics as a POST. */
  seed(...objects: KubeObject[]): KubeObject[] {
    return objects.map((object) => {
      const type = this.registry.byKind(object.apiVersion, object.kind);
      if (!type) throw new Error(`unknown kind ${object.apiVersion} ${object.kind}`);
      return this.objects.create(type, object.metadata.namespace, object, { dryRun: false });
    });
  }

  /** The stored object, or undefined. */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.registry.byKind(apiVersion, kind);
    return type ? this.store.get(typeKey(type), type.namespaced ? namespace : undefined, name) : undefined;
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const type = this.registry.byKind(apiVersion, kind);
    return type ? this.objects.list(type, namespace) : [];
  }

  /** Replaces a stored object's status (as a controller or kubelet would), bumping its resourceVersion. */
  setStatus(apiVersion: string, kind: string, namespace: string | undefined, name: string, status: Record<string, unknown>): KubeObject {
    const type = this.registry.byKind(apiVersion, kind);
    if (!type) throw new Error(`unknown kind ${kind}`);
    const current = this.objects.get(type, namespace, name);
    return this.objects.commit(type, current, { ...structuredClone(current), status }, "status", { dryRun: false });
  }

  onExec(namespace: string, pod: string, container: string | undefined, handler: ExecHandler): void {
    this.execHandlers.set(`${namespace}/${pod}/${container ?? "*"}`, handler);
  }
  /** Undoes onExec: the pod's exec answers 400 again, as a pod without a container to run in. */
  offExec(namespace: string, pod: string, container: string | undefined): void {
    this.execHandlers.delete(`${namespace}/${pod}/${container ?? "*"}`);
  }

  setPodLogs(namespace: string, pod: string, container: string, current: string, previous?: string): void {
    this.logs.set(`${namespace}/${pod}/${container}`, { current, previous });
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** The next `count` requests matching `match` fail with `code` (500, 503, 429, ...). */
  failNext(match: RequestMatch & { count?: number; code?: number }): void {
    this.failures.push({ ...match, remaining: match.count ?? 1, code: match.code ?? 500 });
  }

  /** The next `count` matching requests never get an answer (until the server stops). */
  hangNext(match: RequestMatch & { count?: number }): void {
    this.hangs.push({ ...match, remaining: match.count ?? 1 });
  }

  closeWatches(): number {
    return this.store.closeWatches();
  }

  /** Open watches get no more events and no close (not even at their timeout): dead connections, seen from the client. */
  silenceWatches(): number {
    return this.store.silenceWatches();
  }

  writes(): RequestRecord[] {
    return this.requests.filter((record) => WRITE_VERBS.includes(record.verb));
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // ---- HTTP ----

  private authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const record: RequestRecord = {
      method: req.method ?? "GET",
      path: url.pathname,
      verb: "get",
      code: 200,
      ...(url.search ? { query: url.search.slice(1) } : {}),
    };
    res.on("finish", () => (record.code = res.statusCode));
    this.requests.push(record);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (!this.authorized(req)) throw new ApiStatus(401, "Unauthorized", "Unauthorized");
      const discovery = this.discovery(url.pathname);
      if (discovery) return this.send(res, 200, discovery);
      const route = this.route(url.pathname);
      record.verb = verbOf(req.method ?? "GET", route, url);
      Object.assign(record, { resource: route.type.plural, subresource: route.subresource, namespace: route.namespace, name: route.name });
      if (this.injectFault(record, res)) return;
      if ((req.headers["content-type"] ?? "").includes("protobuf")) {
        throw new ApiStatus(
          415,
          "UnsupportedMediaType",
          "the body of the request was in an unknown format - this test server accepts application/json, application/*-patch+json and application/apply-patch+yaml",
        );
      }
      const body = await readBody(req);
      await this.dispatch(req, res, url, route, record.verb, body);
    } catch (error) {
      this.fail(res, error);
    }
  }

  private injectFault(record: RequestRecord, res: ServerResponse): boolean {
    const matches = (fault: Fault): boolean =>
      fault.remaining > 0 &&
      (!fault.verb || fault.verb === record.verb) &&
      (!fault.resource || fault.resource === record.resource) &&
      (fault.subresource === undefined || fault.subresource === record.subresource);
    const hang = this.hangs.find(matches);
    if (hang) {
      hang.remaining -= 1;
      this.hung.add(res);
      res.on("close", () => this.hung.delete(res));
      return true;
    }
    const failure = this.failures.find(matches);
    if (!failure) return false;
    failure.remaining -= 1;
    const reasons: Record<number, string> = { 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout" };
    this.fail(res, new ApiStatus(failure.code!, reasons[failure.code!] ?? "InternalError", `injected failure (${failure.code})`));
    return true;
  }

  private discovery(path: string): Record<string, unknown> | undefined {
    const types = this.registry.all();
    if (path === "/version") return SERVER_VERSION;
    if (path.startsWith("/openapi/v3")) {
      const document = openapiDocument(path, types);
      if (!document) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
      return document;
    }
    if (path === "/api")
      return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: new URL(this.url).host }] };
    if (path === "/api/v1")
      return resourceList(
        "v1",
        types.filter((type) => !type.group),
      );
    if (path === "/apis") return groupList(types);
    const match = path.match(/^\/apis\/([^/]+)(?:\/([^/]+))?\/?$/);
    if (!match) return undefined;
    const [, group, version] = match;
    const inGroup = types.filter((type) => type.group === group);
    if (inGroup.length === 0) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    if (!version) return groupDocument(group!, [...new Set(inGroup.map((type) => type.version))]);
    const inVersion = inGroup.filter((type) => type.version === version);
    if (inVersion.length === 0) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    return resourceList(`${group}/${version}`, inVersion);
  }

  private route(path: string): Route {
    const match = path.match(/^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+?)\/?$/);
    if (!match) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    const group = match[2] ?? "";
    const version = match[1] ?? match[3]!;
    let segments = match[4]!.split("/");
    let namespace: string | undefined;
    const find = (plural: string): ResourceType | undefined => this.registry.find(group, version, plural);
    if (segments[0] === "namespaces" && segments.length >= 3 && find(segments[2]!)?.namespaced) {
      namespace = segments[1];
      segments = segments.slice(2);
    }
    const [plural, name, subresource] = segments;
    const type = find(plural!);
    if (!type || segments.length > 3) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    if (type.namespaced && name && !namespace) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    const allowed = subresource === undefined || (subresource === "status" && type.status) || (type.kind === "Pod" && ["exec", "log"].includes(subresource));
    if (!allowed) throw new ApiStatus(404, "NotFound", "the server could not find the requested resource");
    return { type, namespace, name, subresource };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, route: Route, verb: string, body: string): Promise<void> {
    const { type, namespace, name, subresource } = route;
    const dryRun = url.searchParams.getAll("dryRun").includes("All");
    const table = (req.headers.accept ?? "").includes("as=Table");
    if (subresource === "log") return this.sendLog(res, url, route);
    if (subresource === "exec") throw badRequest("exec needs a WebSocket upgrade (v4.channel.k8s.io or v5.channel.k8s.io)");
    switch (verb) {
      case "list":
        return this.sendList(res, url, route, table);
      case "watch":
        return this.watch(res, url, route);
      case "get": {
        const object = this.objects.get(type, namespace, name!);
        return this.send(res, 200, table ? toTable(type, [object], String(this.store.currentRv())) : object);
      }
      case "create":
        return this.send(res, 201, this.objects.create(type, namespace, parseJson(body), { dryRun }));
      case "update":
        return this.send(res, 200, this.objects.update(type, namespace, name!, parseJson(body), subresource, { dryRun }));
      case "patch":
        return this.patch(req, res, url, route, body, dryRun);
      case "delete": {
        const options = (body ? parseJson(body) : {}) as { preconditions?: { uid?: string } };
        const deleted = this.objects.delete(type, namespace, name!, { dryRun, preconditionUid: options?.preconditions?.uid });
        return this.send(res, 200, deleted);
      }
      case "deletecollection": {
        const select = this.selector(url, type);
        for (const object of this.objects.list(type, namespace).filter(select))
          this.objects.delete(type, object.metadata.namespace, object.metadata.name, { dryRun });
        return this.send(res, 200, SUCCESS);
      }
      default:
        throw new ApiStatus(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    }
  }

  private patch(req: IncomingMessage, res: ServerResponse, url: URL, route: Route, body: string, dryRun: boolean): void {
    const { type, namespace, name, subresource } = route;
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (contentType === "application/apply-patch+yaml") {
      const fieldManager = url.searchParams.get("fieldManager");
      if (!fieldManager) throw badRequest("PATCH requests of the apply type need a fieldManager query parameter");
      const applied = parseYaml(body) as KubeObject;
      const current = this.store.get(typeKey(type), type.namespaced ? namespace : undefined, name!);
      if (!current) {
        if (subresource) throw new ApiStatus(404, "NotFound", `${type.plural} "${name}" not found`);
        return this.send(res, 201, this.objects.create(type, namespace, { ...applied, metadata: { ...applied.metadata, name } }, { dryRun }));
      }
      return this.send(res, 200, this.objects.commit(type, current, applyPatch(structuredClone(current), applied) as KubeObject, subresource, { dryRun }));
    }
    const current = this.objects.get(type, namespace, name!);
    const patchBody = parseJson(body);
    let next: unknown;
    if (contentType === "application/merge-patch+json") next = mergePatch(current, patchBody);
    else if (contentType === "application/json-patch+json") next = jsonPatch(current, patchBody);
    else if (contentType === "application/strategic-merge-patch+json" && !type.custom) next = mergePatch(current, patchBody);
    else {
      throw new ApiStatus(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${type.custom ? "" : ", application/strategic-merge-patch+json"}`,
      );
    }
    const sentVersion = (patchBody as KubeObject)?.metadata?.resourceVersion;
    if (sentVersion && sentVersion !== current.metadata.resourceVersion)
      throw new ApiStatus(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    this.send(res, 200, this.objects.commit(type, current, next as KubeObject, subresource, { dryRun }));
  }

  private selector(url: URL, type: ResourceType): (object: KubeObject) => boolean {
    try {
      const byLabel = labelSelector(url.searchParams.get("labelSelector"));
      const byField = fieldSelector(url.searchParams.get("fieldSelector"), type.kind);
      return (object) => byLabel(object) && byField(object);
    } catch (error) {
      if (error instanceof SelectorError) throw badRequest(error.message);
      throw error;
    }
  }

  private sendList(res: ServerResponse, url: URL, route: Route, table: boolean): void {
    const { type, namespace } = route;
    const all = this.objects.list(type, namespace).filter(this.selector(url, type));
    const limit = Number(url.searchParams.get("limit") ?? 0);
    const offset = Number(Buffer.from(url.searchParams.get("continue") ?? "", "base64url").toString() || 0);
    const page = limit > 0 ? all.slice(offset, offset + limit) : all;
    const more = limit > 0 && offset + limit < all.length;
    const resourceVersion = String(this.store.currentRv());
    if (table) return this.send(res, 200, toTable(type, page, resourceVersion));
    this.send(res, 200, {
      kind: `${type.kind}List`,
      apiVersion: apiVersionOf(type),
      metadata: {
        resourceVersion,
        ...(more ? { continue: Buffer.from(String(offset + limit)).toString("base64url"), remainingItemCount: all.length - offset - limit } : {}),
      },
      items: page,
    });
  }

  private watch(res: ServerResponse, url: URL, route: Route): void {
    const { type, namespace } = route;
    const matches = this.selector(url, type);
    const since = url.searchParams.get("resourceVersion");
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
    res.flushHeaders();
    const write = (event: { type: string; object: unknown }): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
    };
    let replay: StoredEvent[] | undefined = [];
    if (since && since !== "0") {
      replay = this.store.eventsSince(typeKey(type), Number(since));
      if (!replay) {
        write({ type: "ERROR", object: new ApiStatus(410, "Expired", `too old resource version: ${since} (${this.store.currentRv()})`).toJSON() });
        res.end();
        return;
      }
    } else {
      for (const object of this.objects.list(type, namespace).filter(matches)) write({ type: "ADDED", object });
    }
    for (const event of replay.filter((e) => (!namespace || e.object.metadata.namespace === namespace) && matches(e.object))) write(event);
    const close = (): void => {
      this.store.watchers.delete(watcher);
      this.openStreams.delete(res);
      clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    // Silenced: the connection stays open and says nothing more, as a connection whose peer died does.
    const silence = (): void => {
      this.store.watchers.delete(watcher);
      clearTimeout(timer);
    };
    const watcher = {
      typeKey: typeKey(type),
      namespace,
      matches,
      send: (event: StoredEvent) => write({ type: event.type, object: event.object }),
      close,
      silence,
    };
    this.store.watchers.add(watcher);
    this.openStreams.add(res);
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? 0);
    const timer = timeout > 0 ? setTimeout(close, timeout * 1000) : undefined;
    res.on("close", close);
  }

  private sendLog(res: ServerResponse, url: URL, route: Route): void {
    const pod = this.objects.get(route.type, route.namespace, route.name!);
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const container = url.searchParams.get("container") ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container) throw badRequest(`a container name must be specified for pod ${route.name}, choose one of: [${containers.join(" ")}]`);
    if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${route.name}`);
    const logs = this.logs.get(`${route.namespace}/${route.name}/${container}`);
    const previous = ["true", "1"].includes(url.searchParams.get("previous") ?? "");
    if (previous && logs?.previous === undefined) throw badRequest(`previous terminated container "${container}" in pod "${route.name}" not found`);
    let text = (previous ? logs?.previous : logs?.current) ?? "";
    const tail = url.searchParams.get("tailLines");
    if (tail !== null)
      text = text
        .split("\n")
        .filter((line, index, lines) => line || index < lines.length - 1)
        .slice(-Number(tail))
        .map((line) => `${line}\n`)
        .join("");
    // As the kubelet: the first limitBytes bytes of what was selected.
    const limit = url.searchParams.get("limitBytes");
    if (limit !== null) text = Buffer.from(text).subarray(0, Number(limit)).toString();
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.write(text);
    if (["true", "1"].includes(url.searchParams.get("follow") ?? "")) {
      this.openStreams.add(res);
      res.on("close", () => this.openStreams.delete(res));
      return;
    }
    res.end();
  }

  // eslint-disable-next-line complexity -- each refusal the real apiserver gives to an exec upgrade, in its order
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const record: RequestRecord = { method: req.method ?? "GET", path: url.pathname, verb: "get", code: 101, subresource: "exec", resource: "pods" };
    this.requests.push(record);
    const refuse = (status: ApiStatus): void => {
      record.code = status.code;
      const body = JSON.stringify(status.toJSON());
      socket.end(
        `HTTP/1.1 ${status.code} ${status.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    try {
      if (!this.authorized(req)) throw new ApiStatus(401, "Unauthorized", "Unauthorized");
      const route = this.route(url.pathname);
      Object.assign(record, { namespace: route.namespace, name: route.name, verb: req.method === "POST" ? "create" : "get" });
      if (route.subresource !== "exec") throw badRequest("only pods/exec can be upgraded");
      const pod = this.objects.get(route.type, route.namespace, route.name!);
      const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
      const container = url.searchParams.get("container") ?? containers[0] ?? "";
      if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${route.name}`);
      if (pod.status?.phase !== "Running")
        throw badRequest(`unable to upgrade connection: pod ${route.name} is not running (phase ${pod.status?.phase ?? "Unknown"})`);
      const handler = this.execHandlers.get(`${route.namespace}/${route.name}/${container}`) ?? this.execHandlers.get(`${route.namespace}/${route.name}/*`);
      if (!handler) throw badRequest(`unable to upgrade connection: no exec handler registered for ${route.namespace}/${route.name} container ${container}`);
      const offered = String(req.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((p) => p.trim());
      if (!EXEC_PROTOCOLS.some((p) => offered.includes(p)))
        throw badRequest(
          `unable to upgrade connection: none of the offered protocols (${offered.join(", ")}) is supported; use ${EXEC_PROTOCOLS.join(" or ")}`,
        );
      const command = url.searchParams.getAll("command");
      const wantsStdin = ["true", "1"].includes(url.searchParams.get("stdin") ?? "");
      this.sockets.handleUpgrade(req, socket, head, (ws) => {
        void serveExec(ws, { namespace: route.namespace!, pod: route.name!, container, command }, wantsStdin, handler);
      });
    } catch (error) {
      refuse(error instanceof ApiStatus ? error : new ApiStatus(500, "InternalError", (error as Error).message));
    }
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    let status: ApiStatus;
    if (error instanceof ApiStatus) status = error;
    else if (error instanceof PatchError) status = new ApiStatus(error.code, error.code === 400 ? "BadRequest" : "Invalid", error.message);
    else status = new ApiStatus(500, "InternalError", `internal error: ${(error as Error).message}`);
    this.send(res, status.code, status.toJSON());
  }
}

function verbOf(method: string, route: Route, url: URL): string {
  const watch = ["true", "1"].includes(url.searchParams.get("watch") ?? "");
  switch (method) {
    case "GET":
      return route.name ? "get" : watch ? "watch" : "list";
    case "POST":
      return route.name ? "create-subresource" : "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return route.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** Reads the body with events: a `for await` over the request would destroy the socket, ending keep-alive. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(body: string): KubeObject {
  try {
    return JSON.parse(body) as KubeObject;
  } catch {
    throw badRequest("the request body is not valid JSON");
  }
}
