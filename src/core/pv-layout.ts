/**
 * Where a PV lives inside its pool (ARCHITECTURE.md#upstream-contracts): `<pvtype>/<h[0:2]>/<h[2:4]>/<name>` with h the
 * xxh64 of the name, and its metadata at `info/<that prefix>/<name>.json`. Names are checked before they
 * become paths.
 */
import { pythonJsonDumps } from "./info/python-json.js";
import { dns1123LabelError, dns1123SubdomainError } from "./naming.js";
import { xxh64Hex } from "./xxh64.js";

export const PV_TYPES = ["subvol", "virtblock", "rawblock"] as const;
export type PvType = (typeof PV_TYPES)[number];
export const ARCHIVED_PREFIX = "archived-";

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why a volume name cannot be a directory name, or undefined (no "/", "..", NUL; at most 253 characters). */
export function volumeNameError(name: string): string | undefined {
  if (!name) return "is empty";
  if (name.length > 253) return `is ${name.length} characters long; at most 253 are allowed`;
  if (name === "." || name === ".." || !SAFE_NAME.test(name)) return "may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit";
  return undefined;
}

export function pvPrefix(pvtype: PvType, name: string): string {
  const hash = xxh64Hex(name);
  return `${pvtype}/${hash.slice(0, 2)}/${hash.slice(2, 4)}`;
}

export const pvPath = (pvtype: PvType, name: string): string => `${pvPrefix(pvtype, name)}/${name}`;
export const pvMetadataPath = (pvtype: PvType, name: string): string => `info/${pvPrefix(pvtype, name)}/${name}.json`;

/** The claim a PV was made for, as the provisioner names it in CreateVolume (`--extra-create-metadata`). */
export interface PvClaim {
  namespace: string;
  name: string;
}

export interface PvMetadata {
  size: number;
  pathPrefix: string;
  /** Absent for upstream's files and creates without the provisioner's extra parameters. */
  claim?: PvClaim;
}

export const PVC_NAME_PARAMETER = "csi.storage.k8s.io/pvc/name";
export const PVC_NAMESPACE_PARAMETER = "csi.storage.k8s.io/pvc/namespace";

/** Only names Kubernetes could have given: the claim is printed later, so nothing else is recorded or believed. */
function validClaim(namespace: unknown, name: unknown): PvClaim | undefined {
  if (typeof namespace !== "string" || typeof name !== "string") return undefined;
  if (dns1123LabelError(namespace) || dns1123SubdomainError(name)) return undefined;
  return { namespace, name };
}

/** The claim from CreateVolume's parameters, undefined when they do not name one. */
export function claimFromParameters(parameters: Record<string, string>): PvClaim | undefined {
  return validClaim(parameters[PVC_NAMESPACE_PARAMETER], parameters[PVC_NAME_PARAMETER]);
}

/**
 * The metadata file's text, as upstream writes it: `{"size": <bytes>, "path_prefix": "<prefix>"}`; with a
 * claim, `"pvc_name"` and `"pvc_namespace"` follow (upstream reads keys by name, so extra keys are harmless).
 */
export function encodePvMetadata(size: number, pathPrefix: string, claim?: PvClaim): string {
  return pythonJsonDumps({ size, path_prefix: pathPrefix, pvc_name: claim?.name, pvc_namespace: claim?.namespace });
}

export function decodePvMetadata(text: string): PvMetadata | undefined {
  try {
    const value = JSON.parse(text) as { size?: unknown; path_prefix?: unknown; pvc_name?: unknown; pvc_namespace?: unknown };
    if (typeof value.size !== "number" || typeof value.path_prefix !== "string") return undefined;
    const claim = validClaim(value.pvc_namespace, value.pvc_name);
    return claim ? { size: value.size, pathPrefix: value.path_prefix, claim } : { size: value.size, pathPrefix: value.path_prefix };
  } catch {
    return undefined;
  }
}
