/**
 * `/kadalu/heal-info.sh POOL` in the server image: upstream's server/heal-info.sh (which `kubectl kadalu
 * healinfo` and the upgrade's heal checks run in a brick pod) without a shell. glfsheal reads the pool's
 * client volfile, so it needs no glusterd: the summary per brick, and the entries and split-brain lists
 * only when some brick has entries pending.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "../src/core/exit-codes.js";
import { dns1123LabelError } from "../src/core/naming.js";
import { INFO_DIR } from "./config.js";
import { VOLFILES_DIR } from "./pool-volfiles.js";

export const GLFSHEAL = "/usr/lib/x86_64-linux-gnu/glusterfs/glfsheal";

export type RunHeal = (args: string[]) => string;

/** Some brick's "Total Number of entries" is a count other than 0 (upstream: neither "0" nor "-"). */
export const hasPending = (summary: string): boolean =>
  [...summary.matchAll(/^Total Number of entries:\s*(\S+)\s*$/gm)].some((match) => /^\d+$/.test(match[1]!) && match[1] !== "0");

/** The report of one pool, as upstream's script prints it. */
export function poolReport(pool: string, run: RunHeal, volfilesDir = VOLFILES_DIR): string {
  const volfile = ["volfile-path", join(volfilesDir, `${pool}.vol`)];
  const summary = run([pool, "info-summary", ...volfile]).trimEnd();
  const lines = [`Giving heal summary of volume: ${pool}`, summary, ""];
  if (hasPending(summary)) {
    lines.push(`List of files needing a heal on ${pool}:`, run([pool, ...volfile]).trimEnd(), "");
    lines.push(`List of files in splitbrain on ${pool}:`, run([pool, "split-brain-info", ...volfile]).trimEnd());
  }
  return `${lines.join("\n")}\n\n`;
}

const glfsheal: RunHeal = (args) => {
  const result = spawnSync(GLFSHEAL, args, { encoding: "utf8", timeout: 120_000 });
  if (result.error) throw new Error(`cannot run ${GLFSHEAL}: ${result.error.message}`);
  // glfsheal exits non-zero when a brick is down, with its report on stdout all the same.
  return result.stdout || result.stderr;
};

/** The program: the pools named (at most one, as upstream), or every pool of this pod's kadalu-info. */
export function healInfoMain(args: string[], write: (text: string) => void, run: RunHeal = glfsheal): number {
  if (args.length > 1) {
    write("error: heal-info.sh takes at most one pool name\n");
    return EXIT_USAGE;
  }
  const pools =
    args.length === 1
      ? args
      : (existsSync(INFO_DIR) ? readdirSync(INFO_DIR) : [])
          .filter((name) => name.endsWith(".info"))
          .map((name) => name.slice(0, -".info".length))
          .sort();
  if (pools.length === 0) {
    write("No storage pool added to kadalu yet!\n");
    return EXIT_RUNTIME;
  }
  for (const pool of pools) {
    if (dns1123LabelError(pool) || !existsSync(join(VOLFILES_DIR, `${pool}.vol`))) {
      write(`storage pool ${pool} not available in this server pod\n`);
      return EXIT_RUNTIME;
    }
    write(poolReport(pool, run));
  }
  return EXIT_OK;
}
