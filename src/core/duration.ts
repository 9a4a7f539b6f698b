/** Go-style durations as kubectl takes them: `90s`, `5m`, `1h30m`, `500ms`. */
import { UsageError } from "./errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(flag: string, text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((part) => part[0]).join("");
  if (parts.length === 0 || consumed !== text) {
    throw new UsageError(`${flag} "${text}" is not a duration; use a number with a unit, as in 90s, 5m or 1h`);
  }
  const ms = parts.reduce((total, part) => total + Number(part[1]) * UNIT_MS[part[2]!]!, 0);
  // Node's timers hold at most 2^31-1 ms (about 596 h); a longer one would fire at once.
  if (ms > MAX_WAIT_MS) throw new UsageError(`${flag} "${text}" is longer than the longest wait supported (${Math.floor(MAX_WAIT_MS / 3_600_000)}h)`);
  return ms;
}

export const MAX_WAIT_MS = 2 ** 31 - 1;

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds > 0 ? `${minutes}m${seconds}s` : `${minutes}m`;
}
