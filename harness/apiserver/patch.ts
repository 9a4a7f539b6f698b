/** The patch flavours of the API: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and apply. */

export class PatchError extends Error {
  constructor(
    message: string,
    readonly code = 422,
  ) {
    super(message);
  }
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === "object" && value !== null && !Array.isArray(value);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Server-side apply as this server models it: the applied configuration is merged into the live object
 * (maps recursively, lists replaced), with no field ownership and hence no conflicts.
 */
export function applyPatch(target: unknown, applied: unknown): unknown {
  if (!isObject(applied)) return structuredClone(applied);
  const result: Record<string, any> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(applied)) result[key] = applyPatch(result[key], value);
  return result;
}

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parent(document: any, path: string): { container: any; key: string } {
  if (!path.startsWith("/")) throw new PatchError(`invalid JSON pointer "${path}"`);
  const tokens = path.slice(1).split("/").map(unescape);
  const key = tokens.pop()!;
  let container = document;
  for (const token of tokens) {
    container = Array.isArray(container) ? container[Number(token)] : container?.[token];
    if (container === undefined || container === null) throw new PatchError(`path "${path}" does not exist`);
  }
  return { container, key };
}

function read(document: any, path: string): unknown {
  if (path === "") return document;
  const { container, key } = parent(document, path);
  const value = Array.isArray(container) ? container[Number(key)] : container[key];
  if (value === undefined) throw new PatchError(`path "${path}" does not exist`);
  return value;
}

function add(document: any, path: string, value: unknown): void {
  const { container, key } = parent(document, path);
  if (!Array.isArray(container)) {
    container[key] = value;
    return;
  }
  const index = key === "-" ? container.length : Number(key);
  if (!Number.isInteger(index) || index < 0 || index > container.length) throw new PatchError(`index "${key}" out of range in "${path}"`);
  container.splice(index, 0, value);
}

function remove(document: any, path: string): void {
  const { container, key } = parent(document, path);
  if (Array.isArray(container)) {
    const index = Number(key);
    if (!(index >= 0 && index < container.length)) throw new PatchError(`index "${key}" out of range in "${path}"`);
    container.splice(index, 1);
  } else {
    if (!(key in container)) throw new PatchError(`path "${path}" does not exist`);
    delete container[key];
  }
}

export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError("a JSON patch must be an array of operations", 400);
  const document = structuredClone(target);
  for (const operation of operations as { op: string; path: string; from?: string; value?: unknown }[]) {
    switch (operation.op) {
      case "add":
        add(document, operation.path, structuredClone(operation.value));
        break;
      case "remove":
        remove(document, operation.path);
        break;
      case "replace":
        remove(document, operation.path);
        add(document, operation.path, structuredClone(operation.value));
        break;
      case "move": {
        const value = read(document, operation.from!);
        remove(document, operation.from!);
        add(document, operation.path, value);
        break;
      }
      case "copy":
        add(document, operation.path, structuredClone(read(document, operation.from!)));
        break;
      case "test":
        if (JSON.stringify(read(document, operation.path)) !== JSON.stringify(operation.value))
          throw new PatchError(`test operation failed at "${operation.path}"`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${operation.op}"`, 400);
    }
  }
  return document;
}
