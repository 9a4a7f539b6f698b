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

/** What is mounted at `target` (the last mount there), from this process's mount table. */
export function mountAt(target: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const fields = left.split(" ");
    if (unescape(fields[4] ?? "") !== target) continue;
    const [fstype, source] = right.split(" ");
    found = { source: unescape(source ?? ""), root: unescape(fields[3] ?? ""), fstype: fstype ?? "" };
  }
  return found;
}

/** Whether anything is mounted at `path`. */
export function mounted(path: string): boolean {
  return mountAt(path) !== undefined;
}
