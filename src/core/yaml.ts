/**
 * YAML that every reader takes the same way. kubectl reads YAML 1.1, where a plain `no`, `on` or `y` is
 * a boolean and `0755` an octal number; YAML 1.2 readers disagree on others (`1e3`). A string scalar is
 * written plainly only if both schemas read it back as that same string; otherwise it is double-quoted.
 */
import { Document, isScalar, parse, visit } from "yaml";

const readsBackAs = (text: string, version: "1.1" | "1.2"): unknown => {
  try {
    return parse(text, { version, logLevel: "silent" });
  } catch {
    return undefined;
  }
};

/**
 * Most strings of a manifest are names, paths and images: a letter or `/`, then letters, digits, `_./-`
 * and `:` inside (a tag, a node's path; never before a space or at the end). In either
 * schema such a scalar reads back as a string unless it is a boolean or null word (`no`, `On`, `NULL`)
 * or, in this library's YAML 1.1, an exponent without a mantissa (`e5` is a float there); only those,
 * and every other shape, pay for the two parses. (Every such word of up to four characters over the
 * letters that begin YAML's keywords and numbers, digits, `/` and `:` was checked against both
 * parses: no other exception.)
 */
const WORD = /^(?![eE][-+]?[0-9])[A-Za-z/](?:[A-Za-z0-9_./-]|:(?=[A-Za-z0-9_./-]))*$/;
const BOOLEAN_OR_NULL = new Set(["y", "yes", "n", "no", "true", "false", "on", "off", "null"]);

function ambiguous(text: string): boolean {
  if (WORD.test(text) && !BOOLEAN_OR_NULL.has(text.toLowerCase())) return false;
  return readsBackAs(text, "1.1") !== text || readsBackAs(text, "1.2") !== text;
}

export function toPortableYaml(value: unknown): string {
  const document = new Document(value, { aliasDuplicateObjects: false });
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string" && ambiguous(node.value)) node.type = "QUOTE_DOUBLE";
    },
  });
  return document.toString({ lineWidth: 0 });
}
