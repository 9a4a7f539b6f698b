/**
 * `json.dumps` with Python's defaults (separators ", " and ": ", ensure_ascii), so a `<pool>.info`
 * we write is byte-for-byte what upstream's operator writes for the same content.
 */

function pythonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"') out += '\\"';
    else if (char === "\\") out += "\\\\";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char === "\b") out += "\\b";
    else if (char === "\f") out += "\\f";
    else if (code < 0x20 || code > 0x7e) {
      // ensure_ascii: non-ASCII as \uXXXX, astral characters as surrogate pairs.
      for (let i = 0; i < char.length; i += 1) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`;
    } else out += char;
  }
  return `${out}"`;
}

export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot serialise ${value}`);
    return Number.isInteger(value) ? String(value) : String(value);
  }
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([key, v]) => `${pythonString(key)}: ${pythonJsonDumps(v)}`).join(", ")}}`;
  }
  throw new Error(`cannot serialise a ${typeof value}`);
}
