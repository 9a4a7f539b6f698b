/**
 * List, then watch from the list's resourceVersion; resume a closed watch from the last version seen,
 * list again on 410 Gone, back off on API errors. Keeps a cache of the objects by namespace/name.
 */
import type { Kube } from "./client.js";

export type Key = string;
export const keyOf = (object: { metadata: { name: string; namespace?: string } }): Key => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;

export interface InformerOptions<T> {
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** `previous`: the cached copy this one replaces (none when the object is new or gone). */
  onChange: (key: Key, object: T | undefined, previous?: T) => void;
  log: (message: string) => void;
  maxBackoffMs?: number;
  /** The server ends each watch after this long; a watch silent for longer (plus a margin) is dead and replaced. */
  watchTimeoutSeconds?: number;
  /**
   * What of each object is kept (and given to onChange): a cache of every PV in a large cluster is held
   * whole otherwise. It must keep metadata.name, namespace and resourceVersion.
   */
  transform?: (object: T) => T;
  /** Objects per list request (the list is read in pages, as client-go's reflector does); default 500. */
  pageSize?: number;
}

/**
 * Lists `path` in pages of one snapshot (`limit` and `continue`, as client-go's reflector does): each
 * page goes to `onItems` before the next is read, so a large collection is never in memory at once.
 * An expired continue token (410) fails the list; the caller lists again. Returns the snapshot's version.
 */
export async function forEachPage<T>(
  kube: Kube,
  path: string,
  query: { labelSelector?: string; fieldSelector?: string },
  onItems: (items: T[]) => void,
  options: { pageSize?: number; stopped?: () => boolean } = {},
): Promise<string> {
  let resourceVersion = "";
  let next: string | undefined;
  do {
    const page = await kube.getPath<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(path, {
      ...query,
      limit: String(options.pageSize ?? 500),
      continue: next,
    });
    onItems(page?.items ?? []);
    resourceVersion = page?.metadata.resourceVersion ?? "";
    next = page?.metadata.continue || undefined;
  } while (next && !options.stopped?.());
  return resourceVersion;
}

/** An object without its managedFields: what an informer that never reads them need not hold. */
export function withoutManagedFields<T extends { metadata: object }>(object: T): T {
  if (!("managedFields" in object.metadata)) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata as { managedFields?: unknown };
  return { ...object, metadata } as T;
}

export class Informer<T extends { metadata: { name: string; namespace?: string; resourceVersion?: string } }> {
  readonly cache = new Map<Key, T>();
  private resourceVersion = "";
  private stopWatch?: () => void;
  private stopped = false;
  private failures = 0;
  private synced!: () => void;
  readonly hasSynced = new Promise<void>((resolve) => (this.synced = resolve));

  constructor(
    private readonly kube: Kube,
    private readonly options: InformerOptions<T>,
  ) {}

  start(): void {
    void this.list();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }

  private retry(step: () => Promise<void>, error: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const delay = Math.min(200 * 2 ** (this.failures - 1), this.options.maxBackoffMs ?? 30_000);
    this.options.log(`${this.options.path}: ${(error as Error).message}; retrying in ${delay} ms`);
    setTimeout(() => void step(), delay);
  }

  private async list(): Promise<void> {
    if (this.stopped) return;
    try {
      const seen = new Set<Key>();
      const resourceVersion = await forEachPage(
        this.kube,
        this.options.path,
        { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector },
        (items: T[]) => {
          for (const item of items) {
            seen.add(keyOf(item));
            this.remember(item);
          }
        },
        { pageSize: this.options.pageSize, stopped: () => this.stopped },
      );
      if (this.stopped) return;
      for (const [key] of this.cache) if (!seen.has(key)) this.forget(key);
      this.resourceVersion = resourceVersion;
      this.failures = 0;
      this.synced();
      await this.watch();
    } catch (error) {
      this.retry(() => this.list(), error);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let relist = false;
    const onEvent = (type: string, object: any): void => {
      if (type === "ERROR") {
        if (object?.code === 410) relist = true;
        return;
      }
      if (object?.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
      if (type === "BOOKMARK") return;
      if (type === "DELETED") this.forget(keyOf(object));
      else this.remember(object as T);
    };
    const onEnd = (error: Error | null): void => {
      if (this.stopped) return;
      if (relist) return void this.list();
      if (error) return this.retry(() => this.watch(), error);
      void this.watch();
    };
    try {
      const stop = await this.kube.watch(
        this.options.path,
        {
          resourceVersion: this.resourceVersion,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          timeoutSeconds: this.options.watchTimeoutSeconds?.toString(),
        },
        onEvent,
        onEnd,
      );
      // stop() may have come while the watch was being established.
      if (this.stopped) return stop();
      this.stopWatch = stop;
      this.failures = 0;
    } catch (error) {
      this.retry(() => this.list(), error);
    }
  }

  private remember(received: T): void {
    const object = this.options.transform ? this.options.transform(received) : received;
    const key = keyOf(object);
    const previous = this.cache.get(key);
    this.cache.set(key, object);
    this.options.onChange(key, object, previous);
  }

  private forget(key: Key): void {
    this.cache.delete(key);
    this.options.onChange(key, undefined);
  }
}
