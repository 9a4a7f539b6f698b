/**
 * Where a PV lives inside its pool (spec §9 facts 10-11): `<pvtype>/<h[0:2]>/<h[2:4]>/<name>` with h the
 * xxh64 of the name, and its metadata at `info/<that prefix>/<name>.json`. Names are checked before they
 * become paths.
 */
import { pythonJsonDumps } from "./info/python-json.js";
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

/** The metadata file's text, as upstream writes it: `{"size": <bytes>, "path_prefix": "<prefix>"}`. */
export function encodePvMetadata(size: number, pathPrefix: string): string {
  return pythonJsonDumps({ size, path_prefix: pathPrefix });
}

export function decodePvMetadata(text: string): { size: number; pathPrefix: string } | undefined {
  try {
    const value = JSON.parse(text) as { size?: unknown; path_prefix?: unknown };
    if (typeof value.size !== "number" || typeof value.path_prefix !== "string") return undefined;
    return { size: value.size, pathPrefix: value.path_prefix };
  } catch {
    return undefined;
  }
}
