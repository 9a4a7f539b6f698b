/**
 * `kadalu-server mark-replaced POOL INDEX`, run by `storage-replace --wait` in a replaced brick's pod once it
 * serves the new, empty unit, through a short-lived FUSE mount of the pool's client volfile: what glusterd's
 * `replace-brick ... commit force` does. It sets `trusted.replace-brick` to the brick's client translator on
 * the pool root, which the replicate translator takes only from glusterd's own mount (client pid -12,
 * GF_CLIENT_PID_ADD_REPLICA_MOUNT in GlusterFS 10 and 11: -6 is refused with EPERM); the other bricks of its
 * replica set then record the root as pending for it. Without the mark a heal report says 0 while the brick
 * is empty, and nothing (lookups included) ever copies the files written before. The self-heal daemons then
 * copy the tree (`kadalu-server heal-now`, server/heal-now.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { EXIT_OK, EXIT_USAGE } from "../src/core/exit-codes.js";
import { dns1123LabelError } from "../src/core/naming.js";
import { clientXlatorName } from "../src/core/pool/replace.js";
import { VOLFILES_DIR } from "./pool-volfiles.js";

/** Where the mount point is made (the image has /run/gluster; tmpfs in the pod). */
export const SCRATCH_DIR = "/run/gluster";

/** Gluster's GF_CLIENT_PID_ADD_REPLICA_MOUNT: the mount glusterd marks replaced and added bricks from. */
export const MARK_CLIENT_PID = "-12";
export const REPLACE_BRICK_XATTR = "trusted.replace-brick";
const STEP_MS = 30_000;

export type Run = (command: string, args: string[]) => void;

const run: Run = (command, args) => void execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: STEP_MS });
const stderrOf = (error: unknown): string => String((error as { stderr?: Buffer | string }).stderr ?? (error as Error).message).trim();
const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Tries `attempt` until it returns without throwing, for at most `ms`; the last error otherwise. */
function retry(ms: number, attempt: () => void): void {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      sleep(500);
    }
  }
}

const mounted = (dir: string, mounts: () => string): boolean =>
  mounts()
    .split("\n")
    .some((line) => line.split(" ")[1] === dir);

export interface MarkOptions {
  pool: string;
  index: number;
  volfilesDir?: string;
  scratch?: string;
  run?: Run;
  mounts?: () => string;
  stepMs?: number;
}

/** Mounts the pool (as `clientPid` when given), runs `work` on the mount point, unmounts; the mount is gone whatever happened. */
function withPoolMount<T>(options: MarkOptions, clientPid: string | undefined, what: string, work: (dir: string) => T): T {
  const { pool, volfilesDir = VOLFILES_DIR, run: exec = run, mounts = () => readFileSync("/proc/mounts", "utf8"), stepMs = STEP_MS } = options;
  const volfile = join(volfilesDir, `${pool}.vol`);
  if (!existsSync(volfile)) throw new Error(`${volfile} does not exist: is this a brick pod of pool ${pool}?`);
  const dir = mkdtempSync(join(options.scratch ?? SCRATCH_DIR, `${what}-${pool}-`));
  try {
    exec("glusterfs", ["--process-name", "fuse", ...(clientPid ? [`--client-pid=${clientPid}`] : []), `--volfile=${volfile}`, `--volfile-id=${pool}`, dir]);
    retry(stepMs, () => {
      if (!mounted(dir, mounts)) throw new Error(`pool ${pool} did not mount on ${dir}`);
    });
    return work(dir);
  } finally {
    if (mounted(dir, mounts)) {
      try {
        exec("umount", [dir]);
      } catch {
        exec("umount", ["-l", dir]);
      }
    }
    rmdirSync(dir);
  }
}

/** Marks brick `index` of the pool for a full heal. */
export function markReplaced(options: MarkOptions): void {
  const { pool, index, run: exec = run, stepMs = STEP_MS } = options;
  try {
    withPoolMount(options, MARK_CLIENT_PID, "mark", (dir) => {
      // The replicate translator needs its other bricks connected to mark them: the first attempts may find them not yet.
      retry(stepMs, () => exec("setfattr", ["-n", REPLACE_BRICK_XATTR, "-v", clientXlatorName(pool, index), dir]));
    });
  } catch (error) {
    throw new Error(`cannot mark brick ${index} of pool ${pool} for a full heal: ${stderrOf(error)}`);
  }
}

/** The tool's arguments checked, then the mark; one line on stdout. */
export function markReplacedMain(args: string[], write: (text: string) => void, mark: (options: MarkOptions) => void = markReplaced): number {
  const [pool, index, ...rest] = args;
  if (!pool || index === undefined || rest.length > 0) {
    write("usage: kadalu-server mark-replaced POOL INDEX\n");
    return EXIT_USAGE;
  }
  const poolError = dns1123LabelError(pool);
  if (poolError) throw new Error(`pool name "${pool}" ${poolError}`);
  if (!/^\d{1,4}$/.test(index)) throw new Error(`brick index "${index}" must be a whole number`);
  mark({ pool, index: Number(index) });
  write(`brick ${index} of pool ${pool} marked for a full heal (${REPLACE_BRICK_XATTR}=${clientXlatorName(pool, Number(index))})\n`);
  return EXIT_OK;
}
