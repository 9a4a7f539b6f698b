/**
 * The API edge: the only module set that imports @kubernetes/client-node. Commands get a `Kube` from
 * `connect()` (loaded with a dynamic import) and speak in Kadalu terms; every failure leaves as a
 * ClusterError naming the object and the cause.
 */
import { Writable } from "node:stream";
import type { KubeConfig, V1PersistentVolume, V1Pod, V1Status } from "@kubernetes/client-node";
import { Exec, Log, Watch } from "./client-node.js";
import { KADALU_API_VERSION, KADALU_KIND, type KadaluStorage, type StorageUnit } from "../core/pool/types.js";
import { FIELD_MANAGER } from "../core/manifests/common.js";
import { loadKubeConfig, type ConnectionOptions } from "./connection.js";
import { isNotFound, toClusterError } from "./errors.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, RawClient, RequestTimeout } from "./raw.js";
import { collectionPath, groupVersionPath, knownResource, objectPath, type ResourceInfo } from "./resources.js";
import { byCodePoint, storageClassName } from "../core/naming.js";
import { KadaluNotInstalled } from "../core/errors.js";
import { CSI_DRIVER_NAME, poolPath, poolsPath, type KubeObject, type ObjectRef } from "../core/kube-vocabulary.js";

export { FIELD_MANAGER };

export type Pod = V1Pod;

/** The server closes each watch after this long (the client then resumes from its last version). */
export const WATCH_TIMEOUT_SECONDS = 300;
/**
 * How much longer than its timeoutSeconds a watch may stay silent before it counts as dead: a tenth of
 * the timeout, at least 1 s (the server's close may arrive late) and at most 30 s.
 */
export const watchSilenceMarginMs = (timeoutSeconds: number): number => Math.min(30_000, Math.max(1000, timeoutSeconds * 100));

export type WatchEvent<T> = { type: "ADDED" | "MODIFIED" | "DELETED"; object: T };

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // Each chunk is a view of its own WebSocket message, never reused: kept as is, not copied.
      chunks.push(chunk);
      callback();
    },
  });
}

/** The exit code an exec's closing Status reports (upstream kubelets send it as an ExitCode cause). */
function exitCodeOf(status: V1Status | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  return cause?.message !== undefined ? Number(cause.message) : undefined;
}

export class Kube {
  readonly server: string;
  readonly raw: RawClient;
  private readonly discovered = new Map<string, ResourceInfo>();

  constructor(
    readonly config: KubeConfig,
    readonly requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    this.server = config.getCurrentCluster()?.server ?? "(unknown server)";
    this.raw = new RawClient(config, this.server, requestTimeoutMs);
  }

  /** Where a kind lives: from the table of known kinds, else discovered once per group/version. */
  async resourceOf(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const known = knownResource(apiVersion, kind) ?? this.discovered.get(`${apiVersion}/${kind}`);
    if (known) return known;
    const list = (await this.call(`cannot discover ${apiVersion}`, () => this.raw.request("GET", groupVersionPath(apiVersion)))) as {
      resources: { name: string; kind: string; namespaced: boolean }[];
    };
    for (const resource of list.resources.filter((r) => !r.name.includes("/"))) {
      this.discovered.set(`${apiVersion}/${resource.kind}`, { plural: resource.name, namespaced: resource.namespaced });
    }
    const found = this.discovered.get(`${apiVersion}/${kind}`);
    if (!found) throw toClusterError(new Error(`the server has no resource of kind ${kind} in ${apiVersion}`), `cannot apply ${kind}`, this.server);
    return found;
  }

  /** Server-side apply with our field manager; `force` takes ownership of fields we set. */
  async apply<T extends KubeObject>(object: T, options: { dryRun?: boolean } = {}): Promise<T> {
    return (await this.applyReporting(object, options)).object;
  }

  /** Server-side apply that also says whether the object was created by it (the server answers 201). */
  async applyReporting<T extends KubeObject>(object: T, options: { dryRun?: boolean } = {}): Promise<{ object: T; created: boolean }> {
    const info = await this.resourceOf(object.apiVersion, object.kind);
    const path = objectPath(object.apiVersion, info, object.metadata.name, object.metadata.namespace);
    const response = await this.call(`cannot apply ${object.kind.toLowerCase()} "${object.metadata.name}"`, () =>
      this.raw.exchange("PATCH", path, {
        body: object,
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: FIELD_MANAGER, force: "true", dryRun: options.dryRun ? "All" : undefined },
      }),
    );
    return { object: response.body as T, created: response.status === 201 };
  }

  /**
   * The cluster's resourceVersion now, from the smallest list there is: a write after this answer gives
   * its object a newer one, an object left alone keeps an older one.
   */
  async currentResourceVersion(): Promise<string | undefined> {
    const list = (await this.call("cannot list namespaces", () => this.raw.request("GET", "/api/v1/namespaces", { query: { limit: "1" } }))) as {
      metadata?: { resourceVersion?: string };
    };
    return list.metadata?.resourceVersion;
  }

  /**
   * Replaces the whole object (PUT) at the live object's resourceVersion: fields only others set go, and
   * every manager's ownership is reset (`managedFields: [{}]`), so the next apply owns all it sets.
   */
  async replace<T extends KubeObject>(object: T, resourceVersion: string): Promise<T> {
    const info = await this.resourceOf(object.apiVersion, object.kind);
    const path = objectPath(object.apiVersion, info, object.metadata.name, object.metadata.namespace);
    return (await this.call(`cannot replace ${object.kind.toLowerCase()} "${object.metadata.name}"`, () =>
      this.raw.request("PUT", path, {
        body: { ...object, metadata: { ...object.metadata, resourceVersion, managedFields: [{}] } },
        query: { fieldManager: FIELD_MANAGER },
      }),
    )) as T;
  }

  async getObject(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const info = await this.resourceOf(apiVersion, kind);
    try {
      return (await this.raw.request("GET", objectPath(apiVersion, info, name, namespace))) as KubeObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toClusterError(error, `cannot read ${kind.toLowerCase()} "${name}"`, this.server);
    }
  }

  async listObjects(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KubeObject[]> {
    const info = await this.resourceOf(apiVersion, kind);
    const list = (await this.call(`cannot list ${info.plural}${namespace ? ` in namespace "${namespace}"` : ""}`, () =>
      this.raw.request("GET", info.namespaced && !namespace ? `${groupVersionPath(apiVersion)}/${info.plural}` : collectionPath(apiVersion, info, namespace), {
        query: { labelSelector },
      }),
    )) as { items: KubeObject[] };
    return list.items;
  }

  /** Deletes in the background (dependents follow); false when it was already gone. */
  async deleteObject(object: ObjectRef, options: { dryRun?: boolean } = {}): Promise<boolean> {
    const info = await this.resourceOf(object.apiVersion, object.kind);
    try {
      await this.raw.request("DELETE", objectPath(object.apiVersion, info, object.metadata.name, object.metadata.namespace), {
        body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" },
        query: { dryRun: options.dryRun ? "All" : undefined },
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw toClusterError(error, `cannot delete ${object.kind.toLowerCase()} "${object.metadata.name}"`, this.server);
    }
  }

  /** Runs one API call within the request deadline, translating its failure into a ClusterError about `what`. */
  async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new RequestTimeout(this.requestTimeoutMs)), this.requestTimeoutMs);
    });
    try {
      return await Promise.race([request(), deadline]);
    } catch (error) {
      throw toClusterError(error, what, this.server);
    } finally {
      clearTimeout(timer);
    }
  }

  async listNodeNames(): Promise<string[]> {
    const list = await this.rawGet<{ items: { metadata?: { name?: string } }[] }>("cannot list nodes", "/api/v1/nodes");
    return list.items.map((node) => node.metadata?.name ?? "").filter(Boolean);
  }

  async listPvcNames(namespace: string): Promise<string[]> {
    const list = await this.rawGet<{ items: { metadata?: { name?: string } }[] }>(
      `cannot list PVCs in namespace "${namespace}"`,
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
    );
    return list.items.map((pvc) => pvc.metadata?.name ?? "").filter(Boolean);
  }

  /** The ConfigMap's data, or undefined when it does not exist. */
  async readConfigMapData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const configMap = await this.rawGet<{ data?: Record<string, string> }>(
        `cannot read configmap "${name}" in namespace "${namespace}"`,
        `/api/v1/namespaces/${namespace}/configmaps/${name}`,
      );
      return configMap.data ?? {};
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await this.rawGet<{ items: V1Pod[] }>(`cannot list pods in namespace "${namespace}"`, `/api/v1/namespaces/${namespace}/pods`, {
      labelSelector,
    });
    return list.items;
  }

  /** Throws KadaluNotInstalled when the cluster does not serve the KadaluStorage kind (a collection is never "not found" otherwise). */
  async listPools(namespace: string): Promise<KadaluStorage[]> {
    try {
      return (await this.listObjects(KADALU_API_VERSION, KADALU_KIND, namespace)) as unknown as KadaluStorage[];
    } catch (error) {
      if (isNotFound(error)) throw new KadaluNotInstalled();
      throw error;
    }
  }

  /** Runs `command` (an argv, never a shell string) in a container and collects its output. */
  async exec(namespace: string, pod: string, container: string, command: string[]): Promise<ExecResult> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const what = `cannot exec in pod "${pod}" (container "${container}")`;
    const status = await this.call(
      what,
      () =>
        new Promise<V1Status | undefined>((resolve, reject) => {
          let reported: V1Status | undefined;
          new Exec(this.config)
            .exec(namespace, pod, container, command, collector(out), collector(err), null, false, (s) => (reported = s))
            .then((socket) => {
              socket.on("close", () => resolve(reported));
              socket.on("error", reject);
            }, reject);
        }),
    );
    const exitCode = exitCodeOf(status);
    if (exitCode === undefined) {
      throw toClusterError(new Error(status?.message ?? "the exec ended without an exit status"), what, this.server);
    }
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), exitCode };
  }

  /** PersistentVolumes that use a pool: by StorageClass `kadalu.<pool>` or by CSI attribute `hostvol`. */
  async poolVolumes(pool: string): Promise<{ name: string; claim?: string }[]> {
    const list = await this.rawGet<{ items: V1PersistentVolume[] }>("cannot list persistentvolumes", "/api/v1/persistentvolumes");
    return list.items
      .filter(
        (pv) =>
          pv.spec?.storageClassName === storageClassName(pool) || (pv.spec?.csi?.driver === CSI_DRIVER_NAME && pv.spec.csi.volumeAttributes?.hostvol === pool),
      )
      .map((pv) => ({ name: pv.metadata?.name ?? "", claim: pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}` : undefined }))
      .sort((a, b) => byCodePoint(a.name, b.name));
  }

  /** Replaces `spec.options`, failing with a conflict if the pool changed since it was read. */
  async setPoolOptions(pool: KadaluStorage, options: { key: string; value: string }[]): Promise<KadaluStorage> {
    const path = poolPath(pool);
    return this.mergePatch<KadaluStorage>(
      path,
      { metadata: { resourceVersion: pool.metadata.resourceVersion }, spec: { options } },
      `cannot update the options of kadalustorage "${pool.metadata.name}"`,
    );
  }

  /** Replaces `spec.storage` (a merge patch replaces a list whole), failing with a conflict if the pool changed since it was read. */
  /**
   * Replaces the pool's storage units only if they are still `before`: a JSON patch `test`, so the status
   * the operator and the CSI write meanwhile never makes the change fail (a resourceVersion would).
   */
  async setPoolStorage(pool: KadaluStorage, before: StorageUnit[], storage: StorageUnit[], dryRun: boolean): Promise<KadaluStorage> {
    return (await this.call(`cannot update the storage units of kadalustorage "${pool.metadata.name}"`, () =>
      this.raw.request("PATCH", poolPath(pool), {
        body: [
          { op: "test", path: "/spec/storage", value: before },
          { op: "replace", path: "/spec/storage", value: storage },
        ],
        contentType: "application/json-patch+json",
        query: { dryRun: dryRun ? "All" : undefined, fieldManager: "kubectl-kadalu" },
      }),
    )) as KadaluStorage;
  }

  /** Streams a container's log, one line at a time, until the server ends it. */
  async followLog(
    namespace: string,
    pod: string,
    container: string,
    query: { tailLines?: number; sinceSeconds?: number; previous?: boolean },
    onLine: (line: string) => void,
  ): Promise<void> {
    let rest = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop() ?? "";
        lines.forEach(onLine);
        callback();
      },
    });
    await new Promise<void>((resolve, reject) => {
      sink.on("finish", () => {
        if (rest) onLine(rest);
        resolve();
      });
      new Log(this.config)
        .log(namespace, pod, container, sink, { follow: true, ...query })
        .catch((error) => reject(toClusterError(error, `cannot follow the logs of ${pod}/${container}`, this.server)));
    });
  }

  /** A GET of a path under the request deadline (the typed APIs would load every generated model of the client). */
  async rawGet<T>(what: string, path: string, query?: Record<string, string | undefined>): Promise<T> {
    return (await this.call(what, () => this.raw.request("GET", path, { query }))) as T;
  }

  /** A container's log as text. */
  async readLog(
    namespace: string,
    pod: string,
    container: string,
    query: { tailLines?: number; sinceSeconds?: number; previous?: boolean; limitBytes?: number },
  ): Promise<string> {
    const text = await this.rawGet<unknown>(`cannot read the logs of ${pod}/${container}`, `/api/v1/namespaces/${namespace}/pods/${pod}/log`, {
      container,
      tailLines: query.tailLines?.toString(),
      sinceSeconds: query.sinceSeconds?.toString(),
      previous: query.previous ? "true" : undefined,
      limitBytes: query.limitBytes?.toString(),
    });
    return text === undefined ? "" : typeof text === "string" ? text : JSON.stringify(text);
  }

  async serverVersion(): Promise<{ gitVersion: string; major: string; minor: string }> {
    return (await this.call("cannot read the server version", () => this.raw.request("GET", "/version"))) as {
      gitVersion: string;
      major: string;
      minor: string;
    };
  }

  async createPool(pool: KadaluStorage, dryRun: boolean): Promise<KadaluStorage> {
    const namespace = pool.metadata.namespace!;
    return this.call(`cannot create kadalustorage "${pool.metadata.name}" in namespace "${namespace}"`, () =>
      this.raw.request("POST", poolsPath(namespace), {
        body: pool,
        query: { dryRun: dryRun ? "All" : undefined, fieldManager: "kubectl-kadalu" },
      }),
    ) as Promise<KadaluStorage>;
  }

  async getPool(namespace: string, name: string): Promise<KadaluStorage | undefined> {
    return (await this.getObject(KADALU_API_VERSION, KADALU_KIND, name, namespace)) as KadaluStorage | undefined;
  }

  /** A JSON merge patch of the object at `path` (a subresource path for status). */
  async mergePatch<T>(path: string, patch: unknown, what: string): Promise<T> {
    return (await this.call(what, () => this.raw.request("PATCH", path, { body: patch, contentType: "application/merge-patch+json" }))) as T;
  }

  async create<T>(path: string, body: unknown, what: string): Promise<T> {
    return (await this.call(what, () => this.raw.request("POST", path, { body }))) as T;
  }

  async getPath<T>(path: string, query?: Record<string, string | undefined>): Promise<T | undefined> {
    try {
      return (await this.raw.request("GET", path, { query })) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toClusterError(error, `cannot read ${path}`, this.server);
    }
  }

  /**
   * Watches a collection path from `resourceVersion`. `onEvent` gets every event, ERROR ones included
   * (a 410 there means the version is too old: list again); `onEnd` is told when the watch ends. The
   * server ends every watch after `timeoutSeconds` (default 5 min); a watch silent for longer than that
   * plus a margin (no event, no bookmark) is a dead connection, ended here with an error.
   */
  async watch(
    path: string,
    query: Record<string, string | undefined>,
    onEvent: (type: string, object: any) => void,
    onEnd: (error: Error | null) => void,
  ): Promise<() => void> {
    const timeoutSeconds = Number(query.timeoutSeconds ?? WATCH_TIMEOUT_SECONDS);
    const silentForMs = timeoutSeconds * 1000 + watchSilenceMarginMs(timeoutSeconds);
    let silence: NodeJS.Timeout | undefined;
    let controller: AbortController | undefined;
    let ended = false;
    const end = (error: Error | null): void => {
      if (ended) return;
      ended = true;
      clearTimeout(silence);
      onEnd(error);
    };
    const listen = (): void => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        // Told first: the abort's own "aborted" report must not stand in for the reason.
        end(toClusterError(new Error(`the watch was silent for ${silentForMs / 1000}s`), `watch of ${path} failed`, this.server));
        controller?.abort();
      }, silentForMs);
      silence.unref();
    };
    listen();
    controller = await this.call(`cannot watch ${path}`, () =>
      new Watch(this.config).watch(
        path,
        { ...query, timeoutSeconds: String(timeoutSeconds), allowWatchBookmarks: true },
        (type, object) => {
          listen();
          onEvent(type, object);
        },
        (error) => end(error ? toClusterError(error, `watch of ${path} failed`, this.server) : null),
      ),
    ).catch((error) => {
      clearTimeout(silence);
      throw error;
    });
    return () => {
      clearTimeout(silence);
      controller?.abort();
    };
  }

  /** Watches one pool from `resourceVersion`; `onEnd` is told when the watch ends (null) or fails. */
  async watchPool(
    namespace: string,
    name: string,
    resourceVersion: string | undefined,
    onEvent: (event: WatchEvent<KadaluStorage>) => void,
    onEnd: (error: Error | null) => void,
  ): Promise<() => void> {
    const path = poolsPath(namespace);
    return this.watch(
      path,
      { fieldSelector: `metadata.name=${name}`, resourceVersion },
      (type, object) => {
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") onEvent({ type, object });
      },
      onEnd,
    );
  }
}

export async function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<Kube> {
  return new Kube(loadKubeConfig(options, env), options.requestTimeoutMs);
}
