/** This process's mount table (/proc/self/mountinfo), with the kernel's octal escapes of paths undone. */
import { readFileSync } from "node:fs";

export interface MountEntry {
  source: string;
  /** The path inside the source's filesystem that is mounted (a bound device file: `/loop3`). */
  root: string;
  fstype: string;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Every mount of this process's mount table, in its order (a later one at a target is on top). */
export function mountTable(): (MountEntry & { target: string; options: string[] })[] {
  const entries: (MountEntry & { target: string; options: string[] })[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const fields = left.split(" ");
    const [fstype, source] = right.split(" ");
    entries.push({
      target: unescape(fields[4] ?? ""),
      source: unescape(source ?? ""),
      root: unescape(fields[3] ?? ""),
      fstype: fstype ?? "",
      options: (fields[5] ?? "").split(","),
    });
  }
  return entries;
}

/** What is mounted at `target` (the last mount there), from this process's mount table. */
export function mountAt(target: string): MountEntry | undefined {
  const found = mountTable()
    .filter((entry) => entry.target === target)
    .at(-1);
  return found && { source: found.source, root: found.root, fstype: found.fstype };
}

/** Whether anything is mounted at `path`. */
export function mounted(path: string): boolean {
  return mountAt(path) !== undefined;
}
