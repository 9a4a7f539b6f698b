/** Who else owns a live object's spec, from its managedFields: what server-side apply will never remove. */
import { FIELD_MANAGER } from "./common.js";

interface ManagedField {
  manager?: string;
  subresource?: string;
  fieldsV1?: { "f:spec"?: unknown };
}

/** Managers other than ours that own parts of the live object's spec (status writers do not count). */
export function foreignSpecManagers(live: { metadata: unknown }): string[] {
  const fields = (live.metadata as { managedFields?: ManagedField[] }).managedFields ?? [];
  return [...new Set(fields.filter((f) => f.manager !== FIELD_MANAGER && !f.subresource && f.fieldsV1?.["f:spec"] !== undefined).map((f) => f.manager ?? "?"))];
}
