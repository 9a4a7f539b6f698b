/** The resource registry: built-in kinds, plus custom resources registered when their CRD is created. */

export interface ResourceType {
  group: string; // "" for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources with their own endpoint and semantics. */
  status: boolean;
  /** JSON schema (CRDs only) used to prune and validate. */
  schema?: Record<string, unknown>;
  printerColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
  /** Custom resources do not accept strategic merge patches. */
  custom: boolean;
}

export const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function builtin(group: string, version: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: [],
    categories: [],
    status: false,
    custom: false,
    ...extra,
  };
}

export const BUILTINS: ResourceType[] = [
  builtin("", "v1", "Namespace", "namespaces", false, { shortNames: ["ns"], status: true }),
  builtin("", "v1", "Node", "nodes", false, { shortNames: ["no"], status: true }),
  builtin("", "v1", "Pod", "pods", true, { shortNames: ["po"], status: true, categories: ["all"] }),
  builtin("", "v1", "Service", "services", true, { shortNames: ["svc"], status: true, categories: ["all"] }),
  builtin("", "v1", "ConfigMap", "configmaps", true, { shortNames: ["cm"] }),
  builtin("", "v1", "Secret", "secrets", true),
  builtin("", "v1", "ServiceAccount", "serviceaccounts", true, { shortNames: ["sa"] }),
  builtin("", "v1", "Event", "events", true, { shortNames: ["ev"] }),
  builtin("", "v1", "PersistentVolume", "persistentvolumes", false, { shortNames: ["pv"], status: true }),
  builtin("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, { shortNames: ["pvc"], status: true }),
  builtin("apps", "v1", "Deployment", "deployments", true, { shortNames: ["deploy"], status: true, categories: ["all"] }),
  builtin("apps", "v1", "StatefulSet", "statefulsets", true, { shortNames: ["sts"], status: true, categories: ["all"] }),
  builtin("apps", "v1", "DaemonSet", "daemonsets", true, { shortNames: ["ds"], status: true, categories: ["all"] }),
  builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, { shortNames: ["pdb"], status: true }),
  builtin("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, { shortNames: ["sc"] }),
  builtin("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false),
  builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
  builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
  builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, { shortNames: ["crd", "crds"], status: true }),
];

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Types served for one CRD object (one per served version). */
export function typesFromCrd(crd: Record<string, any>): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((version: any) => version.served !== false)
    .map((version: any): ResourceType => ({
      group: spec.group,
      version: version.name,
      kind: names.kind,
      plural: names.plural,
      singular: names.singular ?? String(names.kind ?? "").toLowerCase(),
      namespaced: spec.scope !== "Cluster",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      status: Boolean(version.subresources?.status),
      schema: version.schema?.openAPIV3Schema,
      printerColumns: version.additionalPrinterColumns,
      custom: true,
    }));
}

export class Registry {
  private custom: ResourceType[] = [];

  all(): ResourceType[] {
    return [...BUILTINS, ...this.custom];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((type) => type.group === group && type.version === version && type.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.all().find((type) => apiVersionOf(type) === apiVersion && type.kind === kind);
  }

  setCrdTypes(crdName: string, types: ResourceType[]): void {
    this.removeCrdTypes(crdName);
    this.custom.push(...types.map((type) => ({ ...type, crdName })));
  }

  removeCrdTypes(crdName: string): void {
    this.custom = this.custom.filter((type) => (type as ResourceType & { crdName?: string }).crdName !== crdName);
  }
}
