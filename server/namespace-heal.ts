/**
 * Lets a PV directory's metadata heal through on this brick. GlusterFS 11.1's replicate heals a
 * directory's metadata by removing, on the brick that fell behind, every xattr it holds (one bulk
 * removexattr) and then copying the good brick's; simple-quota's `trusted.glusterfs.namespace` is in
 * that list, and protocol/server refuses any request that would remove it ("removal of namespace is not
 * allowed", ENOTSUP). So a PV directory whose xattrs changed while this brick was away (a limit raised
 * by an expansion) never heals, and the self-heal daemon retries it for ever (upstream kadalu#952).
 *
 * The brick names the directory in its log when it refuses. This brick's own copy of the namespace
 * xattr is then removed from the directory on disk, so the next heal attempt goes through and copies the
 * good brick's namespace back. Should no heal bring it back (the refusal was someone's removal, not a
 * heal), it is set here again after `restoreMs`.
 */
import { getAttributeSync, removeAttributeSync, setAttributeSync } from "@napi-rs/xattr";
import { realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";

export const NAMESPACE_XATTR = "trusted.glusterfs.namespace";
const REFUSAL = /(<gfid:([0-9a-f-]{36})>(\/\S*)?|\/\S*): removal of namespace is not allowed/;
/** Once a directory's namespace has been taken off, it is not taken off again for this long. */
const QUIET_MS = 5000;

/** The path or gfid the brick names in a refusal line, or undefined for any other line. */
export function refusedPath(line: string): { gfid?: string; path: string } | undefined {
  const match = REFUSAL.exec(line);
  if (!match) return undefined;
  return match[2] ? { gfid: match[2], path: match[3] ?? "" } : { path: match[1]! };
}

/** The directory on disk a refusal names, only when it is a directory inside the brick. */
export function brickDirectory(brickPath: string, refused: { gfid?: string; path: string }): string | undefined {
  // A directory's gfid handle is a symbolic link to its place under its parent's handle: realpath follows them.
  const base = refused.gfid ? join(brickPath, ".glusterfs", refused.gfid.slice(0, 2), refused.gfid.slice(2, 4), refused.gfid) : brickPath;
  try {
    const root = realpathSync(brickPath);
    const dir = realpathSync(join(base, refused.path));
    const internal = join(root, ".glusterfs");
    if (!dir.startsWith(root + sep) || dir === internal || dir.startsWith(internal + sep) || !statSync(dir).isDirectory()) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

export class NamespaceHeal {
  private readonly lastTaken = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly brickPath: string,
    private readonly log: (line: string) => void,
    private readonly restoreMs = 10_000,
  ) {}

  /** Takes a glusterfsd log line; acts when it is a refused namespace removal. */
  line(text: string): void {
    const refused = refusedPath(text);
    if (!refused) return;
    const dir = brickDirectory(this.brickPath, refused);
    if (!dir) return;
    const now = Date.now();
    if (now - (this.lastTaken.get(dir) ?? -Infinity) < QUIET_MS) return;
    let value: Buffer | null;
    try {
      value = getAttributeSync(dir, NAMESPACE_XATTR);
      if (!value) return;
      removeAttributeSync(dir, NAMESPACE_XATTR);
    } catch (error) {
      // ENODATA: not there (any more); nothing to take off.
      if (/os error 61\b/.test((error as Error).message)) return;
      this.log(`kadalu-server: ${dir}: namespace xattr not taken off for its heal: ${(error as Error).message.split("\n")[0]}`);
      return;
    }
    this.lastTaken.set(dir, now);
    this.log(`kadalu-server: ${dir}: its metadata heal was refused for the namespace xattr; taken off this brick's copy so the heal copies it back`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.restore(dir, value!);
    }, this.restoreMs);
    this.timers.add(timer);
  }

  private restore(dir: string, value: Buffer): void {
    try {
      if (getAttributeSync(dir, NAMESPACE_XATTR)) return;
      setAttributeSync(dir, NAMESPACE_XATTR, value);
      this.log(`kadalu-server: ${dir}: no heal brought the namespace xattr back; set again here`);
    } catch (error) {
      const message = (error as Error).message.split("\n")[0] ?? "";
      // ENOENT: the directory is gone; anything else is worth a line.
      if (!/os error 2\b/.test(message)) this.log(`kadalu-server: ${dir}: namespace xattr not set again: ${message}`);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
