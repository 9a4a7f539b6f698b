/** `--local-yaml` / `--local-csi-yaml`: objects from files instead of the embedded plan (upstream flags). */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { UsageError } from "../../core/errors.js";
import type { KubeObject } from "../../core/kube-vocabulary.js";

export function readManifestFile(flag: string, path: string): KubeObject[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`${flag} "${path}": ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  const objects: KubeObject[] = [];
  for (const [index, document] of parseAllDocuments(text).entries()) {
    if (document.errors.length > 0)
      throw new UsageError(`${flag} "${path}": document ${index + 1} is not valid YAML: ${document.errors[0]!.message.split("\n")[0]}`);
    const value = document.toJS() as KubeObject | null;
    if (value === null || value === undefined) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new UsageError(`${flag} "${path}": document ${index + 1} needs apiVersion, kind and metadata.name`);
    }
    objects.push(value);
  }
  if (objects.length === 0) throw new UsageError(`${flag} "${path}" holds no objects`);
  return objects;
}
