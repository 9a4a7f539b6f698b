/**
 * `top` for Gluster processes: the text one sample of /proc gives (the same from the shell script run in
 * server pods and from `kadalu-csi proc-sample` in the CSI image, which has no shell), its parsing, and the
 * rates between two samples. Pure: the text comes in, rows go out.
 *
 * Format, one block per process after a sample line:
 *   @clk <clock ticks per second>
 *   @sample <seconds since boot, /proc/uptime>
 *   @proc <pid> <comm>
 *   @cmdline   (next line: arguments joined by spaces)
 *   @stat      (next line: /proc/<pid>/stat)
 *   @status    (VmRSS and Threads lines of /proc/<pid>/status)
 *   @io        (/proc/<pid>/io: rchar, wchar, syscr, syscw, read_bytes, write_bytes, ...)
 */

/**
 * Run as `sh -c SCRIPT kadalu-top <seconds>`: the script is this constant, the interval its only argument
 * (validated by the caller), so nothing from the user becomes shell text.
 */
export const SAMPLE_SCRIPT = [
  'hz=$(getconf CLK_TCK 2>/dev/null || echo 100); echo "@clk $hz"',
  "sample() {",
  '  read up _ < /proc/uptime; echo "@sample $up"',
  "  for d in /proc/[0-9]*; do",
  '    { read comm < "$d/comm"; } 2>/dev/null || continue',
  '    case "$comm" in glusterfsd|glusterfs) ;; *) continue ;; esac',
  '    echo "@proc ${d#/proc/} $comm"',
  `    echo "@cmdline"; { tr '\\000' ' ' < "$d/cmdline"; } 2>/dev/null; echo`,
  '    echo "@stat"; cat "$d/stat" 2>/dev/null',
  '    echo "@status"; grep -E \'^(VmRSS|Threads):\' "$d/status" 2>/dev/null',
  '    echo "@io"; cat "$d/io" 2>/dev/null',
  "  done",
  "}",
  'sample; sleep "$1"; sample',
].join("\n");

export interface ProcSnapshot {
  pid: number;
  comm: string;
  args: string[];
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssBytes: number;
  threads: number;
  io: Record<string, number>;
}

export interface Sample {
  uptime: number;
  procs: Map<number, ProcSnapshot>;
}

export interface Samples {
  clockTicks: number;
  samples: Sample[];
}

function statTicks(line: string): number {
  // The comm field may hold spaces and parentheses: the fields that follow start after the last ')'.
  const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime (field 14) + stime (field 15)
}

function keyValues(lines: string[]): Record<string, number> {
  return Object.fromEntries(
    lines
      .map((line) => /^(\w+):\s*(\d+)/.exec(line))
      .filter((match) => match)
      .map((match) => [match![1]!, Number(match![2])]),
  );
}

export function parseSamples(text: string): Samples {
  let clockTicks = 100;
  const samples: Sample[] = [];
  let proc: ProcSnapshot | undefined;
  let section = "";
  const sectionLines: string[] = [];
  const close = (): void => {
    if (!proc) return;
    if (section === "cmdline") proc.args = (sectionLines[0] ?? "").trim().split(" ").filter(Boolean);
    if (section === "stat" && sectionLines[0]) proc.cpuTicks = statTicks(sectionLines[0]);
    if (section === "status") {
      const values = keyValues(sectionLines);
      proc.rssBytes = (values.VmRSS ?? 0) * 1024;
      proc.threads = values.Threads ?? 0;
    }
    if (section === "io") proc.io = keyValues(sectionLines);
    sectionLines.length = 0;
  };
  for (const line of text.split("\n")) {
    const marker = /^@(\w+)(?: (.*))?$/.exec(line);
    if (!marker) {
      if (section) sectionLines.push(line);
      continue;
    }
    close();
    const [, name, rest = ""] = marker;
    section = "";
    if (name === "clk") clockTicks = Number(rest) || 100;
    else if (name === "sample") samples.push({ uptime: Number(rest.split(" ")[0]), procs: new Map() });
    else if (name === "proc") {
      const [pid, comm = ""] = rest.split(" ");
      proc = { pid: Number(pid), comm, args: [], cpuTicks: 0, rssBytes: 0, threads: 0, io: {} };
      samples.at(-1)?.procs.set(proc.pid, proc);
    } else section = name!;
  }
  close();
  return { clockTicks, samples };
}

/** What a process serves: a brick's path, a FUSE client's mount point, or the self-heal daemon. */
export function roleOf(proc: Pick<ProcSnapshot, "comm" | "args">): string {
  const after = (flag: string): string | undefined => {
    const index = proc.args.indexOf(flag);
    return index >= 0 ? proc.args[index + 1] : proc.args.find((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1);
  };
  if (proc.comm === "glusterfsd") return `brick ${after("--brick-name") ?? "?"}`;
  const volfile = after("--volfile-id") ?? "";
  if (volfile.startsWith("shd/") || volfile === "gluster/glustershd" || proc.args.some((arg) => arg.includes("glustershd"))) return "self-heal daemon";
  const mount = proc.args.at(-1);
  return mount?.startsWith("/") ? `client ${mount}` : "glusterfs";
}

export interface ProcessRow {
  pid: number;
  program: string;
  role: string;
  cpuPercent: number;
  rssBytes: number;
  threads: number;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  readOpsPerSecond: number;
  writeOpsPerSecond: number;
}

/**
 * Rates between the first and the last sample, for processes present in both (one that started or ended
 * in between has no rate). CPU % is of one core, as top shows it; read/write bytes are what reached the
 * storage layer (read_bytes, write_bytes), operations the read and write system calls (syscr, syscw).
 */
export function processRates({ clockTicks, samples }: Samples): ProcessRow[] {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || first === last) return [];
  const seconds = last.uptime - first.uptime;
  if (!(seconds > 0)) return [];
  const rate = (after: number | undefined, before: number | undefined): number => Math.max(0, ((after ?? 0) - (before ?? 0)) / seconds);
  const rows: ProcessRow[] = [];
  for (const [pid, now] of last.procs) {
    const then = first.procs.get(pid);
    if (!then || then.comm !== now.comm) continue;
    rows.push({
      pid,
      program: now.comm,
      role: roleOf(now),
      cpuPercent: (100 * Math.max(0, now.cpuTicks - then.cpuTicks)) / clockTicks / seconds,
      rssBytes: now.rssBytes,
      threads: now.threads,
      readBytesPerSecond: rate(now.io.read_bytes, then.io.read_bytes),
      writeBytesPerSecond: rate(now.io.write_bytes, then.io.write_bytes),
      readOpsPerSecond: rate(now.io.syscr, then.io.syscr),
      writeOpsPerSecond: rate(now.io.syscw, then.io.syscw),
    });
  }
  return rows;
}

export const SORT_KEYS = { cpu: "cpuPercent", mem: "rssBytes", read: "readBytesPerSecond", write: "writeBytesPerSecond" } as const;
export type SortKey = keyof typeof SORT_KEYS;

export interface TopRow extends ProcessRow {
  pool: string;
  pod: string;
}

export interface PoolTotals {
  pool: string;
  processes: number;
  cpuPercent: number;
  rssBytes: number;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  readOpsPerSecond: number;
  writeOpsPerSecond: number;
}

export function sortRows(rows: TopRow[], key: SortKey): TopRow[] {
  const field = SORT_KEYS[key];
  return [...rows].sort((a, b) => b[field] - a[field] || a.pool.localeCompare(b.pool) || a.pod.localeCompare(b.pod) || a.pid - b.pid);
}

/** Per pool: the sums of its processes' figures (the provisioner's clients under the pool they mount). */
export function poolTotals(rows: TopRow[]): PoolTotals[] {
  const totals = new Map<string, PoolTotals>();
  for (const row of rows) {
    const total = totals.get(row.pool) ?? {
      pool: row.pool,
      processes: 0,
      cpuPercent: 0,
      rssBytes: 0,
      readBytesPerSecond: 0,
      writeBytesPerSecond: 0,
      readOpsPerSecond: 0,
      writeOpsPerSecond: 0,
    };
    total.processes += 1;
    total.cpuPercent += row.cpuPercent;
    total.rssBytes += row.rssBytes;
    total.readBytesPerSecond += row.readBytesPerSecond;
    total.writeBytesPerSecond += row.writeBytesPerSecond;
    total.readOpsPerSecond += row.readOpsPerSecond;
    total.writeOpsPerSecond += row.writeOpsPerSecond;
    totals.set(row.pool, total);
  }
  return [...totals.values()].sort((a, b) => a.pool.localeCompare(b.pool));
}
