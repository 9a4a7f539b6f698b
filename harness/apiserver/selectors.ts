/** Label selectors (equality and set-based) and the field selectors the API server supports. */
import type { KubeObject } from "./store.js";

type Requirement = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {}

function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of selector) {
    if (char === "(") depth += 1;
    if (char === ")") depth -= 1;
    if (char === "," && depth === 0) {
      terms.push(current.trim());
      current = "";
    } else current += char;
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

function parseTerm(term: string): Requirement {
  const set = term.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/);
  if (set) {
    const [, key, op, list] = set;
    const values = list!.split(",").map((value) => value.trim());
    return op === "in" ? (labels) => values.includes(labels[key!] ?? "\0") : (labels) => !values.includes(labels[key!] ?? "\0");
  }
  const equality = term.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/);
  if (equality) {
    const [, key, op, value] = equality;
    return op === "!=" ? (labels) => labels[key!] !== value : (labels) => labels[key!] === value;
  }
  const exists = term.match(/^(!?)([\w./-]+)$/);
  if (exists) return exists[1] ? (labels) => !(exists[2]! in labels) : (labels) => exists[2]! in labels;
  throw new SelectorError(`unable to parse requirement: "${term}"`);
}

export function labelSelector(selector: string | null): (object: KubeObject) => boolean {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map(parseTerm);
  return (object) => requirements.every((requirement) => requirement(object.metadata.labels ?? {}));
}

/** The fields the real apiserver lets Events be selected by (doctor and kubectl describe use them). */
const EVENT_FIELDS = ["involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "reason", "type"];

export const SUPPORTED_FIELDS = ["metadata.name", "metadata.namespace", "status.phase", "spec.nodeName", ...EVENT_FIELDS];

function fieldValue(object: KubeObject, path: string): string {
  const value = path.split(".").reduce<any>((current, key) => current?.[key], object);
  return value === undefined || value === null ? "" : String(value);
}

export function fieldSelector(selector: string | null, kind: string): (object: KubeObject) => boolean {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map((term) => {
    const match = term.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!match) throw new SelectorError(`invalid field selector: "${term}"`);
    const [, field, op, value] = match;
    const podOnly = field === "status.phase" || field === "spec.nodeName";
    const eventOnly = EVENT_FIELDS.includes(field!);
    if (!SUPPORTED_FIELDS.includes(field!) || (podOnly && kind !== "Pod") || (eventOnly && kind !== "Event")) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return (object: KubeObject): boolean => (fieldValue(object, field!) === value) === (op !== "!=");
  });
  return (object) => requirements.every((requirement) => requirement(object));
}
