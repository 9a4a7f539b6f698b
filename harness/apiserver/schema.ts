/** Structural-schema pruning and validation of custom resources, as the API server applies a CRD's schema. */

type Schema = Record<string, any>;

export interface SchemaProblem {
  path: string;
  message: string;
}

const typeOf = (value: unknown): string => {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
};

function typeMatches(expected: string, value: unknown): boolean {
  const actual = typeOf(value);
  return expected === actual || (expected === "number" && actual === "integer");
}

/** Fills in declared defaults of missing properties, in place (objects that exist only). */
export function applyDefaults(value: unknown, schema: Schema | undefined): void {
  if (!schema || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries<Schema>(schema.properties ?? {})) {
    if (record[key] === undefined && child.default !== undefined) record[key] = structuredClone(child.default);
    applyDefaults(record[key], child);
  }
}

/** Drops fields the schema does not declare (unless it preserves unknown fields), in place. */
export function prune(value: unknown, schema: Schema | undefined, root = true): void {
  if (!schema || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) prune(item, schema.items, false);
    return;
  }
  const properties: Record<string, Schema> = schema.properties ?? {};
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (root && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
    if (properties[key]) prune(record[key], properties[key], false);
    else if (schema.additionalProperties && typeof schema.additionalProperties === "object") prune(record[key], schema.additionalProperties, false);
    else if (!schema["x-kubernetes-preserve-unknown-fields"] && !schema.additionalProperties) delete record[key];
  }
}

// eslint-disable-next-line complexity -- one clause per OpenAPI keyword the CRDs use
export function validate(value: unknown, schema: Schema | undefined, path = ""): SchemaProblem[] {
  if (!schema || value === undefined) return [];
  const here = path || "<root>";
  if (value === null) return schema.nullable ? [] : [{ path: here, message: `Invalid value: "null": ${here} in body must be of type ${schema.type}` }];
  if (schema.type && !typeMatches(schema.type, value)) {
    return [{ path: here, message: `Invalid value: "${typeOf(value)}": ${here} in body must be of type ${schema.type}: "${typeOf(value)}"` }];
  }
  const problems: SchemaProblem[] = [];
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push({
      path: here,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((v: unknown) => JSON.stringify(v)).join(", ")}`,
    });
  }
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) {
    problems.push({ path: here, message: `Invalid value: ${value}: ${here} in body should be greater than or equal to ${schema.minimum}` });
  }
  if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    problems.push({ path: here, message: `Invalid value: "${value}": ${here} in body should match '${schema.pattern}'` });
  }
  if (Array.isArray(value)) value.forEach((item, index) => problems.push(...validate(item, schema.items, `${path}[${index}]`)));
  else if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (record[key] === undefined) problems.push({ path: `${path}.${key}`.replace(/^\./, ""), message: `Required value` });
    for (const [key, child] of Object.entries<Schema>(schema.properties ?? {})) {
      problems.push(...validate(record[key], child, path ? `${path}.${key}` : key));
    }
  }
  return problems;
}
