/**
 * `npm run bench`: wall times and API round trips of the CLI's hot paths, printed as a table.
 * Targets are stated next to each figure; they are checked by eye and in closing notes, never by tests.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../bin/kubectl-kadalu", import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// Machines that set NODE_EXTRA_CA_CERTS (this one does) pay ~70 ms per Node start to parse the bundle;
// a user's machine usually does not, so the figures are taken without it, and the baseline shows both.
const plainEnv = { ...process.env, NODE_EXTRA_CA_CERTS: "" };

function timeCommand(args: string[], runs: number, env: NodeJS.ProcessEnv = plainEnv, program = process.execPath): number {
  const samples: number[] = [];
  for (let run = 0; run < runs + 2; run += 1) {
    const start = process.hrtime.bigint();
    const result = spawnSync(program, args, { stdio: ["ignore", "ignore", "pipe"], env });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
    if (run >= 2) samples.push(ms); // the first two runs warm the page cache
  }
  return median(samples);
}

const runs = Number(process.env.BENCH_RUNS ?? 21);
const rows: [string, string, string][] = [];

const dryRunArgs = [BIN, "storage-add", "pool1", "--type", "Replica3", "--device", "kube1:/dev/sdb", "--device", "kube2:/dev/sdb", "--device", "kube3:/dev/sdb", "--dry-run"];
rows.push(["node -e 0 (baseline)", `${timeCommand(["-e", "0"], runs).toFixed(1)} ms`, "-"]);
if (process.env.NODE_EXTRA_CA_CERTS) {
  rows.push(["node -e 0 with this machine's NODE_EXTRA_CA_CERTS", `${timeCommand(["-e", "0"], runs, process.env).toFixed(1)} ms`, "-"]);
}
const dryRun = timeCommand(dryRunArgs, runs);
rows.push(["storage-add --dry-run (Replica3, 3 devices)", `${dryRun.toFixed(1)} ms`, "<= 90 ms (upstream Python: ~160 ms)"]);
const uncached = timeCommand(dryRunArgs, runs, { ...plainEnv, KUBECTL_KADALU_NO_CODE_CACHE: "1" });
rows.push(["  the same without the V8 code cache", `${uncached.toFixed(1)} ms`, "-"]);
const help = timeCommand([BIN, "--help"], runs);
rows.push(["--help", `${help.toFixed(1)} ms`, "-"]);

const { singleBinary } = await import("./single-binary.js");
const single = singleBinary();
if (typeof single === "string") rows.push(["single binary (linux-amd64)", `not measured: ${single}`, "-"]);
else {
  const embedded = timeCommand(["-e", "0"], runs, plainEnv, single.node);
  const binaryDryRun = timeCommand(dryRunArgs.slice(1), runs, plainEnv, single.binary);
  rows.push([`its embedded Node ${single.version}: node -e 0`, `${embedded.toFixed(1)} ms`, "-"]);
  rows.push(["single binary: storage-add --dry-run (Replica3, 3 devices)", `${binaryDryRun.toFixed(1)} ms (${(binaryDryRun / embedded).toFixed(2)}x)`, "<= 1.5x its node -e 0 (issue 16)"]);
  single.cleanup();
}

const { scenarios } = await import("./scenarios.js");
const { csiScenarios, glusterCsiScenarios } = await import("./csi.js");
rows.push(...(await scenarios()), ...(await csiScenarios()), ...(await glusterCsiScenarios()));
rows.push(...(await (await import("./node.js")).nodeScenarios()));

const width = rows.reduce((max, row) => Math.max(max, row[0].length), 0);
console.log(`median of ${runs} runs each, ${new Date().toISOString()}\n`);
console.log(`${"scenario".padEnd(width)}  ${"measured".padEnd(24)}  target`);
for (const [name, value, target] of rows) console.log(`${name.padEnd(width)}  ${value.padEnd(24)}  ${target}`);
