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
      const list = await this.kube.getPath<{ items: T[]; metadata: { resourceVersion: string } }>(this.options.path, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
      });
      const items = list?.items ?? [];
      const seen = new Set(items.map(keyOf));
      for (const [key] of this.cache) if (!seen.has(key)) this.forget(key);
      for (const item of items) this.remember(item);
      this.resourceVersion = list?.metadata.resourceVersion ?? "";
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

  private remember(object: T): void {
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
