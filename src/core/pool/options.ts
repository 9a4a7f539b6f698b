/** Gluster volume options of a pool (`spec.options`): the documented set, parsing, merging, resetting. */
import { UsageError } from "../errors.js";
import type { PoolOption } from "./types.js";

/** The options upstream documents, the seven performance translators its server turns off by default: on or off. */
export const DOCUMENTED_OPTIONS = [
  "performance.client-io-threads",
  "performance.stat-prefetch",
  "performance.quick-read",
  "performance.open-behind",
  "performance.read-ahead",
  "performance.io-cache",
  "performance.readdir-ahead",
];

/** What kadalu-server writes into every pool's volume files unless the pool says otherwise: each of them off. */
export const SERVER_DEFAULTS: PoolOption[] = DOCUMENTED_OPTIONS.map((key) => ({ key, value: "off" }));

const OPTION_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Even with --force: keys end up in Gluster's volume files, one option a line. */
export function checkOptionKey(key: string): string {
  if (!OPTION_KEY.test(key)) throw new UsageError(`option key "${key}" must be a Gluster option name (letters, digits, . _ -), not empty and without spaces`);
  return key;
}

/** `KEY VALUE` pairs, or `KEY=VALUE` words (as the storage list prints them), mixed as the user likes. */
export function parseOptionPairs(words: string[]): PoolOption[] {
  if (words.length === 0) throw new UsageError("give at least one option, as KEY VALUE or KEY=VALUE: performance.quick-read off");
  const options: PoolOption[] = [];
  for (let index = 0; index < words.length;) {
    const word = words[index]!;
    const equals = word.indexOf("=");
    const [key, value] = equals > 0 ? [word.slice(0, equals), word.slice(equals + 1)] : [word, words[index + 1]];
    index += equals > 0 ? 1 : 2;
    checkOptionKey(key);
    if (value === undefined) throw new UsageError(`option ${key} has no value; give KEY VALUE or KEY=VALUE, as in: ${key} off`);
    if (!value || /[\s\0-\x1f\x7f]/.test(value))
      throw new UsageError(`option ${key}: the value "${value}" must not be empty or hold spaces or control characters`);
    const earlier = options.find((option) => option.key === key);
    // Which one would win is not what the user can see from the command line.
    if (earlier) throw new UsageError(`option key "${key}" is given twice (${earlier.value}, then ${value}); give each key once`);
    options.push({ key, value });
  }
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
