/**
 * `kadalu-csi proc-sample --interval SECONDS`: run in the provisioner by `kubectl kadalu top` (the CSI image
 * has no shell). Prints two samples of /proc for the pools' FUSE clients, in the format the server pods'
 * script gives (src/core/top/proc.ts), so one parser reads both.
 */
import { readdir, readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { readFlags } from "../../src/core/daemon-flags.js";
import { UsageError } from "../../src/core/errors.js";
import { roleOf } from "../../src/core/top/proc.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function block(pid: string): Promise<string | undefined> {
  try {
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8")).trim();
    if (comm !== "glusterfs") return undefined;
    const args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
    // Only FUSE clients: a self-heal daemon or another glusterfs seen here is not the provisioner's.
    if (!roleOf({ comm, args }).startsWith("client ")) return undefined;
    const [stat, status, io] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
      readFile(`/proc/${pid}/io`, "utf8").catch(() => ""),
    ]);
    const kept = status.split("\n").filter((line) => /^(VmRSS|Threads):/.test(line));
    return [`@proc ${pid} ${comm}`, "@cmdline", args.join(" "), "@stat", stat.trim(), "@status", ...kept, "@io", io.trim()].join("\n");
  } catch {
    return undefined; // it ended while being read
  }
}

async function sample(): Promise<string> {
  const uptime = (await readFile("/proc/uptime", "utf8")).split(" ")[0];
  const pids = (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry));
  const blocks = (await Promise.all(pids.map(block))).filter((text): text is string => text !== undefined);
  return [`@sample ${uptime}`, ...blocks].join("\n");
}

export async function procSampleTool(args: string[], out: (text: string) => void): Promise<void> {
  const { values } = readFlags(
    () => parseArgs({ args, options: { interval: { type: "string", default: "1" } }, strict: true, allowPositionals: false }),
    ["interval"],
  );
  const seconds = Number(values.interval);
  if (!(seconds > 0 && seconds <= 60)) throw new UsageError("--interval must be a number of seconds between 0 and 60");
  // Linux's USER_HZ is 100 on every architecture Kubernetes runs on (what getconf CLK_TCK says in the server pods).
  out("@clk 100");
  out(await sample());
  await sleep(seconds * 1000);
  out(await sample());
}
