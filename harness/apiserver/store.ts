/** Objects by resource, one resourceVersion counter, and an event history that watches replay from. */

export type EventType = "ADDED" | "MODIFIED" | "DELETED";
export type KubeObject = Record<string, any> & { metadata: Record<string, any> };

export interface StoredEvent {
  rv: number;
  type: EventType;
  typeKey: string;
  object: KubeObject;
}

export interface Watcher {
  typeKey: string;
  namespace?: string;
  matches: (object: KubeObject) => boolean;
  send: (event: StoredEvent) => void;
  close: () => void;
  silence: () => void;
}

const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ""}/${name}`;

export class Store {
  private rv = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoredEvent[] = [];
  /** Events older than this resourceVersion are forgotten: a watch from before it gets 410 Gone. */
  private oldestKept = 0;
  readonly watchers = new Set<Watcher>();

  constructor(private readonly historyLimit = 10_000) {}

  currentRv(): number {
    return this.rv;
  }

  nextRv(): number {
    this.rv += 1;
    return this.rv;
  }

  get(typeKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(typeKey)?.get(objectKey(namespace, name));
  }

  list(typeKey: string, namespace?: string): KubeObject[] {
    const all = [...(this.objects.get(typeKey)?.values() ?? [])];
    const inScope = namespace ? all.filter((object) => object.metadata.namespace === namespace) : all;
    return inScope.sort((a, b) => objectKey(a.metadata.namespace, a.metadata.name).localeCompare(objectKey(b.metadata.namespace, b.metadata.name)));
  }

  allObjects(): { typeKey: string; object: KubeObject }[] {
    return [...this.objects.entries()].flatMap(([typeKey, objects]) => [...objects.values()].map((object) => ({ typeKey, object })));
  }

  /** Stores `object` (whose metadata.resourceVersion is already set) and tells the watchers. */
  put(typeKey: string, object: KubeObject, type: EventType): void {
    let objects = this.objects.get(typeKey);
    if (!objects) this.objects.set(typeKey, (objects = new Map()));
    objects.set(objectKey(object.metadata.namespace, object.metadata.name), object);
    this.record({ rv: Number(object.metadata.resourceVersion), type, typeKey, object });
  }

  remove(typeKey: string, object: KubeObject): void {
    this.objects.get(typeKey)?.delete(objectKey(object.metadata.namespace, object.metadata.name));
    const rv = this.nextRv();
    const gone = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    this.record({ rv, type: "DELETED", typeKey, object: gone });
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.compact(this.history.length - this.historyLimit);
    for (const watcher of this.watchers) {
      if (watcher.typeKey !== event.typeKey) continue;
      if (watcher.namespace && event.object.metadata.namespace !== watcher.namespace) continue;
      if (watcher.matches(event.object)) watcher.send(event);
    }
  }

  /** Forgets the oldest `count` events (all when omitted), as etcd compaction does. */
  compact(count = this.history.length): void {
    const dropped = this.history.splice(0, count);
    const last = dropped[dropped.length - 1];
    if (last) this.oldestKept = last.rv + 1;
    else this.oldestKept = this.rv + 1;
  }

  /** Events after `since` for a resource, or undefined when `since` is older than the history kept. */
  eventsSince(typeKey: string, since: number): StoredEvent[] | undefined {
    if (since + 1 < this.oldestKept) return undefined;
    return this.history.filter((event) => event.typeKey === typeKey && event.rv > since);
  }

  closeWatches(): number {
    const count = this.watchers.size;
    for (const watcher of [...this.watchers]) watcher.close();
    return count;
  }

  silenceWatches(): number {
    const count = this.watchers.size;
    for (const watcher of [...this.watchers]) watcher.silence();
    return count;
  }
}
