/**
 * Extended attributes through setfattr/getfattr (Debian's attr package, also in the CSI image).
 * Forking setfattr from the driver's large process costs ~5 ms a call, most of a CreateVolume, so one
 * small helper shell stays up and runs setfattr for each request it reads from stdin. Its script is a
 * constant: paths, names and values arrive as data lines, never inside a shell string (and may not
 * hold a newline, which our validated names cannot).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

/** Reads a path and two name/value pairs per request; answers the exit status (0 when both were set). */
const HELPER = `while IFS= read -r path && IFS= read -r n1 && IFS= read -r v1 && IFS= read -r n2 && IFS= read -r v2; do
  setfattr -n "$n1" -v "$v1" -- "$path" 2>/dev/null && setfattr -n "$n2" -v "$v2" -- "$path" 2>/dev/null
  echo "$?"
done`;

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

class XattrHelper {
  private child?: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private buffered = "";

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn("sh", ["-c", HELPER], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      for (let end = this.buffered.indexOf("\n"); end >= 0; end = this.buffered.indexOf("\n")) {
        const line = this.buffered.slice(0, end);
        this.buffered = this.buffered.slice(end + 1);
        const waiter = this.pending.shift();
        if (line.trim() === "0") waiter?.resolve();
        else waiter?.reject(new Error(`setfattr exited with ${line.trim()} (unsupported filesystem or missing privileges?)`));
      }
    });
    const fail = (error: Error): void => {
      if (this.child === child) this.child = undefined;
      for (const waiter of this.pending.splice(0)) waiter.reject(error);
    };
    child.on("error", fail);
    child.on("exit", () => fail(new Error("the xattr helper exited")));
    child.stdin.on("error", () => undefined);
    return child;
  }

  /** Sets two attributes on `path` in one request. */
  set(path: string, first: [string, string], second: [string, string]): Promise<void> {
    const fields = [path, ...first, ...second];
    if (fields.some((text) => text.includes("\n"))) return Promise.reject(new Error("xattr arguments may not contain a newline"));
    this.child ??= this.start();
    const child = this.child;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      child.stdin.write(`${fields.join("\n")}\n`);
    });
  }

  stop(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}

const helper = new XattrHelper();

export function stopXattrHelper(): void {
  helper.stop();
}

/** Upstream's simple-quota xattrs on a PV directory; a filesystem without them is logged, not fatal. */
export async function setQuota(path: string, sizeBytes: number, log: (message: string) => void): Promise<boolean> {
  try {
    await helper.set(path, ["trusted.glusterfs.namespace", "true"], ["trusted.gfs.squota.limit", String(sizeBytes)]);
    return true;
  } catch (error) {
    log(`quota xattrs not set on ${path}: ${(error as Error).message.split("\n")[0]}`);
    return false;
  }
}
