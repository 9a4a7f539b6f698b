/**
 * Minimal OpenAPI v3 documents: one per group/version, listing each resource's PATCH operation with the
 * query parameters this server honours. kubectl reads them to decide that validation (fieldValidation)
 * and dry runs (dryRun) happen on the server, so it never needs full schemas.
 */
import { createHash } from "node:crypto";
import { apiVersionOf, type ResourceType } from "./resources.js";

const PARAMETERS = ["dryRun", "fieldManager", "fieldValidation", "force"].map((name) => ({
  name,
  in: "query",
  schema: { type: name === "force" ? "boolean" : "string" },
  uniqueItems: true,
}));

const gvPath = (groupVersion: string): string => (groupVersion.includes("/") ? `apis/${groupVersion}` : `api/${groupVersion}`);

export function groupVersionDocument(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    const scope = type.namespaced ? "/namespaces/{namespace}" : "";
    paths[`/${gvPath(apiVersionOf(type))}${scope}/${type.plural}/{name}`] = {
      patch: {
        operationId: `patch${type.kind}`,
        "x-kubernetes-group-version-kind": { group: type.group, version: type.version, kind: type.kind },
        "x-kubernetes-action": "patch",
        parameters: PARAMETERS,
      },
    };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.0" }, paths };
}

function byGroupVersion(types: ResourceType[]): Map<string, ResourceType[]> {
  const groups = new Map<string, ResourceType[]>();
  for (const type of types) groups.set(apiVersionOf(type), [...(groups.get(apiVersionOf(type)) ?? []), type]);
  return groups;
}

/** The root document: where each group/version's document lives, with a content hash for caches. */
export function openapiRoot(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [groupVersion, members] of byGroupVersion(types)) {
    const hash = createHash("sha256")
      .update(JSON.stringify(groupVersionDocument(members)))
      .digest("hex")
      .slice(0, 32)
      .toUpperCase();
    paths[gvPath(groupVersion)] = { serverRelativeURL: `/openapi/v3/${gvPath(groupVersion)}?hash=${hash}` };
  }
  return { paths };
}

/** The document for `/openapi/v3/<api/v1 | apis/g/v>`, or undefined. */
export function openapiDocument(path: string, types: ResourceType[]): Record<string, unknown> | undefined {
  if (path === "/openapi/v3") return openapiRoot(types);
  const match = path.match(/^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/);
  if (!match) return undefined;
  const members = byGroupVersion(types).get(match[1] ?? match[2]!);
  return members ? groupVersionDocument(members) : undefined;
}
