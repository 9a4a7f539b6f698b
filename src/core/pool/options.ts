/** Gluster volume options of a pool (`spec.options`): the documented set, parsing, merging, resetting. */
import { UsageError } from "../errors.js";
import type { PoolOption } from "./types.js";

/** The options upstream documents (spec §2.13): performance translators, on or off. */
export const DOCUMENTED_OPTIONS = [
  "performance.client-io-threads", "performance.stat-prefetch", "performance.quick-read", "performance.open-behind",
  "performance.read-ahead", "performance.io-cache", "performance.readdir-ahead",
];

export function parseOptionPairs(words: string[]): PoolOption[] {
  if (words.length === 0 || words.length % 2 !== 0) {
    throw new UsageError(`options come in KEY VALUE pairs, got ${words.length} word${words.length === 1 ? "" : "s"}, as in: performance.quick-read off`);
  }
  const options: PoolOption[] = [];
  for (let index = 0; index < words.length; index += 2) options.push({ key: words[index]!, value: words[index + 1]! });
  return options;
}

/** What is outside the documented set, in words; empty when all is documented. */
export function undocumented(options: PoolOption[]): string[] {
  return options.flatMap((option) => {
    if (!DOCUMENTED_OPTIONS.includes(option.key)) return [`"${option.key}" is not a documented option (${DOCUMENTED_OPTIONS.join(", ")})`];
    if (!["on", "off"].includes(option.value)) return [`"${option.key}" takes on or off, not "${option.value}"`];
    return [];
  });
}

/** Existing keys keep their place and take the new value; new keys are appended in the order given. */
export function mergeOptions(existing: PoolOption[], updates: PoolOption[]): PoolOption[] {
  const merged = existing.map((option) => ({ ...option }));
  for (const update of updates) {
    const current = merged.find((option) => option.key === update.key);
    if (current) current.value = update.value;
    else merged.push({ ...update });
  }
  return merged;
}

export function resetOptions(existing: PoolOption[], keys: string[] | "all"): { options: PoolOption[]; missing: string[] } {
  if (keys === "all") return { options: [], missing: [] };
  const present = new Set(existing.map((option) => option.key));
  return { options: existing.filter((option) => !keys.includes(option.key)), missing: keys.filter((key) => !present.has(key)) };
}
