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

function ambiguous(text: string): boolean {
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
