/**
 * `kadalu-csi probe /mnt/POOL...`: run in the provisioner by `kubectl kadalu doctor` (its image has no
 * shell). One line per pool, tab-separated: the pool, whether its mount answers (ok, dead: an error such
 * as ENOTCONN or no answer within the bound, missing: not mounted), and whether stat.db reads as SQLite.
 */
import { open, statfs } from "node:fs/promises";
import { basename } from "node:path";

const FUSE_MAGIC = 0x65735546;
const ANSWER_MS = 5000;
const SQLITE_HEADER = "SQLite format 3\0";

const within = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms).unref())]);

async function statDbState(file: string): Promise<{ state: "ok" | "unreadable" | "missing"; detail?: string }> {
  try {
    const handle = await within(open(file, "r"), ANSWER_MS);
    try {
      const { buffer, bytesRead } = await within(handle.read(Buffer.alloc(16), 0, 16, 0), ANSWER_MS);
      return bytesRead === 16 && buffer.toString("latin1") === SQLITE_HEADER ? { state: "ok" } : { state: "unreadable", detail: "not an SQLite file" };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? { state: "missing" } : { state: "unreadable", detail: code ?? (error as Error).message };
  }
}

export async function probeTool(dirs: string[], out: (text: string) => void): Promise<void> {
  if (dirs.length === 0 || dirs.some((dir) => !dir.startsWith("/"))) throw new Error("probe needs the pools' mount directories (absolute paths)");
  const lines = await Promise.all(
    dirs.map(async (dir) => {
      const pool = basename(dir);
      let fuse: boolean;
      try {
        fuse = (await within(statfs(dir), ANSWER_MS)).type === FUSE_MAGIC;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code === "ENOENT" ? `${pool}\tmissing\tmissing` : `${pool}\tdead\tmissing\t${code ?? (error as Error).message}`;
      }
      const db = await statDbState(`${dir}/stat.db`);
      // A directory that is no FUSE mount and holds no stat.db is where a mount should be (a local pool holds its stat.db).
      if (!fuse && db.state === "missing") return `${pool}\tmissing\tmissing`;
      return `${pool}\tok\t${db.state}${db.detail ? `\t${db.detail}` : ""}`;
    }),
  );
  out(lines.join("\n"));
}
