/** Discovery documents (/version, /api, /apis, group versions) and the Table form kubectl `get` asks for. */
import { VERBS, type ResourceType } from "./resources.js";
import type { KubeObject } from "./store.js";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kadalu-test",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

function subresources(type: ResourceType): Record<string, unknown>[] {
  const base = { namespaced: type.namespaced, kind: type.kind };
  const list: Record<string, unknown>[] = [];
  if (type.status) list.push({ ...base, name: `${type.plural}/status`, singularName: "", verbs: ["get", "patch", "update"] });
  if (type.kind === "Pod") {
    list.push({ ...base, name: "pods/exec", singularName: "", kind: "PodExecOptions", verbs: ["create", "get"] });
    list.push({ ...base, name: "pods/log", singularName: "", verbs: ["get"] });
  }
  return list;
}

export function resourceList(groupVersion: string, types: ResourceType[]): Record<string, unknown> {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: types.flatMap((type) => [
      {
        name: type.plural,
        singularName: type.singular,
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: VERBS,
        ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
        ...(type.categories.length ? { categories: type.categories } : {}),
      },
      ...subresources(type),
    ]),
  };
}

export function groupList(types: ResourceType[]): Record<string, unknown> {
  const groups = new Map<string, string[]>();
  for (const type of types) {
    if (!type.group) continue;
    const versions = groups.get(type.group) ?? [];
    if (!versions.includes(type.version)) versions.push(type.version);
    groups.set(type.group, versions);
  }
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups.entries()].map(([name, versions]) => groupDocument(name, versions)),
  };
}

export function groupDocument(name: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: "APIGroup", apiVersion: "v1", name, versions: entries, preferredVersion: entries[0] };
}

function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** The simple JSONPath subset printer columns use: `.status.state`, `.spec.storage[0].node`. */
export function jsonPathValue(object: unknown, path: string): unknown {
  const steps = path
    .replace(/^\{?\.?/, "")
    .replace(/\}$/, "")
    .split(/\.|\[(\d+)\]/)
    .filter((step) => step !== undefined && step !== "");
  return steps.reduce<any>((current, step) => current?.[step], object);
}

/** kubectl's familiar columns for the built-in kinds the sandbox shows. */
const BUILTIN_COLUMNS: Record<string, { name: string; type: string; jsonPath: string; priority: number }[]> = {
  Pod: [{ name: "Status", type: "string", jsonPath: ".status.phase", priority: 0 }],
  PersistentVolumeClaim: [
    { name: "Status", type: "string", jsonPath: ".status.phase", priority: 0 },
    { name: "Volume", type: "string", jsonPath: ".spec.volumeName", priority: 0 },
    { name: "Capacity", type: "string", jsonPath: ".status.capacity.storage", priority: 0 },
    { name: "StorageClass", type: "string", jsonPath: ".spec.storageClassName", priority: 0 },
  ],
  PersistentVolume: [
    { name: "Capacity", type: "string", jsonPath: ".spec.capacity.storage", priority: 0 },
    { name: "Reclaim Policy", type: "string", jsonPath: ".spec.persistentVolumeReclaimPolicy", priority: 0 },
    { name: "Status", type: "string", jsonPath: ".status.phase", priority: 0 },
    { name: "StorageClass", type: "string", jsonPath: ".spec.storageClassName", priority: 0 },
  ],
  StorageClass: [{ name: "Provisioner", type: "string", jsonPath: ".provisioner", priority: 0 }],
};

function columnsFor(type: ResourceType): { name: string; type: string; format?: string; jsonPath?: string; priority: number }[] {
  const custom = (type.printerColumns ?? []).map((column) => ({
    name: column.name,
    type: column.type === "date" ? "string" : column.type,
    jsonPath: column.jsonPath,
    priority: column.priority ?? 0,
    ageColumn: column.type === "date",
  }));
  const hasAge = custom.some((column) => column.ageColumn || column.name === "Age");
  const extra = BUILTIN_COLUMNS[type.kind] ?? [];
  return [
    { name: "Name", type: "string", format: "name", priority: 0 },
    ...extra,
    ...custom,
    ...(hasAge ? [] : [{ name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp", priority: 0, ageColumn: true }]),
  ];
}

export function toTable(type: ResourceType, objects: KubeObject[], resourceVersion: string, now = Date.now()): Record<string, unknown> {
  const columns = columnsFor(type);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ name, type: columnType, format, priority }) => ({
      name,
      type: columnType,
      format: format ?? "",
      description: "",
      priority,
    })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => {
        if (!column.jsonPath) return object.metadata.name;
        const value = jsonPathValue(object, column.jsonPath);
        if ((column as { ageColumn?: boolean }).ageColumn) return age(value as string | undefined, now);
        return value === undefined ? "" : value;
      }),
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: object.metadata },
    })),
  };
}
