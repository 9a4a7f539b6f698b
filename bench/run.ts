/**
 * `npm run bench`: wall times, API round trips and growth curves of the hot paths, printed as a table.
 * `npm run bench -- --quick`: the small sizes only (for CI, a few minutes; fails nothing). Every ratio is
 * measured side by side (the two things alternating in one process and minute), repeated, and printed as
 * min / median / max. Targets are stated next to each figure; they are checked by eye and in closing notes,
 * never by tests.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { guarded, median, spread, type Row } from "./stats.js";

const BIN = fileURLToPath(new URL("../bin/kubectl-kadalu", import.meta.url));
const quick = process.argv.includes("--quick");
const started = Date.now();

// Machines that set NODE_EXTRA_CA_CERTS (this one does) pay ~70 ms per Node start to parse the bundle;
// a user's machine usually does not, so the figures are taken without it, and the baseline shows both.
const plainEnv = { ...process.env, NODE_EXTRA_CA_CERTS: "" };

function once(program: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(program, args, { stdio: ["ignore", "ignore", "pipe"], env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return ms;
}

type Command = { program?: string; args: string[]; env?: NodeJS.ProcessEnv };

/**
 * `subject` and `baseline` run alternately `runs` times (after two unmeasured runs of each, which warm the
 * page cache): their medians, and the ratio of each pair, min / median / max.
 */
function sideBySide(subject: Command, baseline: Command, runs: number): { subject: number; baseline: number; ratios: number[] } {
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run < runs + 2; run += 1) {
    const x = once(subject.program ?? process.execPath, subject.args, subject.env ?? plainEnv);
    const y = once(baseline.program ?? process.execPath, baseline.args, baseline.env ?? plainEnv);
    if (run < 2) continue;
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  return { subject: median(a), baseline: median(b), ratios };
}

const runs = Number(process.env.BENCH_RUNS ?? (quick ? 7 : 21));
const rows: Row[] = [];
const nodeZero: Command = { args: ["-e", "0"] };

const dryRunArgs = [
  BIN,
  "storage-add",
  "pool1",
  "--type",
  "Replica3",
  "--device",
  "kube1:/dev/sdb",
  "--device",
  "kube2:/dev/sdb",
  "--device",
  "kube3:/dev/sdb",
  "--dry-run",
];
rows.push(
  ...(await guarded("CLI start-up", async () => {
    const out: Row[] = [];
    const dryRun = sideBySide({ args: dryRunArgs }, nodeZero, runs);
    out.push(["node -e 0 (baseline)", `${dryRun.baseline.toFixed(1)} ms`, "-"]);
    if (process.env.NODE_EXTRA_CA_CERTS)
      out.push(["node -e 0 with this machine's NODE_EXTRA_CA_CERTS", `${once(process.execPath, ["-e", "0"], process.env).toFixed(1)} ms`, "-"]);
    out.push(["storage-add --dry-run (Replica3, 3 devices)", `${dryRun.subject.toFixed(1)} ms`, "<= 90 ms (upstream Python: ~160 ms)"]);
    out.push(["  its ratio to node -e 0, pairwise min/med/max", spread(dryRun.ratios, 2, "x"), "<= 1.5x (issue 40)"]);
    const uncached = sideBySide({ args: dryRunArgs, env: { ...plainEnv, KUBECTL_KADALU_NO_CODE_CACHE: "1" } }, nodeZero, runs);
    out.push(["  the same without the V8 code cache", `${uncached.subject.toFixed(1)} ms (${spread(uncached.ratios, 2, "x")})`, "-"]);
    const help = sideBySide({ args: [BIN, "--help"] }, nodeZero, runs);
    out.push(["--help", `${help.subject.toFixed(1)} ms (${spread(help.ratios, 2, "x")})`, "-"]);
    return out;
  })),
);

if (!quick) {
  rows.push(
    ...(await guarded("single binary (linux-amd64)", async () => {
      const { singleBinary } = await import("./single-binary.js");
      const single = singleBinary();
      if (typeof single === "string") return [["single binary (linux-amd64)", `not measured: ${single}`, "-"]];
      try {
        const measured = sideBySide({ program: single.binary, args: dryRunArgs.slice(1) }, { program: single.node, args: ["-e", "0"] }, runs);
        return [
          [`its embedded Node ${single.version}: node -e 0`, `${measured.baseline.toFixed(1)} ms`, "-"],
          [
            "single binary: storage-add --dry-run (Replica3, 3 devices)",
            `${measured.subject.toFixed(1)} ms (pairwise ${spread(measured.ratios, 2, "x")})`,
            "<= 1.5x its node -e 0 (issue 16)",
          ],
        ];
      } finally {
        single.cleanup();
      }
    })),
  );
}

const { scenarios, infoSizeScenarios } = await import("./scenarios.js");
const { csiScenarios, glusterCsiScenarios } = await import("./csi.js");
const { growthScenarios } = await import("./growth.js");
rows.push(...(await guarded("storage-list", () => scenarios(quick ? [1, 50] : [1, 50, 500], quick ? 0 : 100_000, !quick))));
rows.push(...(await guarded("kadalu-info size", async () => infoSizeScenarios())));
rows.push(...(await guarded("CSI on a local pool", () => csiScenarios(quick))));
rows.push(
  ...(await guarded("CSI growth", () =>
    growthScenarios(
      quick
        ? { sizes: [0, 1000], rounds: 3, cyclesPerRound: 20, startups: 1 }
        : { sizes: [0, 1000, 10_000, 100_000], rounds: 5, cyclesPerRound: 60, startups: 3 },
    ),
  )),
);
if (!quick) {
  const { operatorScenarios } = await import("./operator.js");
  rows.push(...(await guarded("operator on the real apiserver", () => operatorScenarios([1, 50, 500]))));
  const { pvcBurstScenarios } = await import("./pvc-burst.js");
  rows.push(...(await guarded("PVC burst through the real csi-provisioner", () => pvcBurstScenarios(1000))));
  rows.push(...(await guarded("CSI on real GlusterFS", () => glusterCsiScenarios())));
  rows.push(...(await guarded("node tier", async () => (await import("./node.js")).nodeScenarios())));
}

const width = rows.reduce((max, row) => Math.max(max, row[0].length), 0);
const valueWidth = Math.min(
  60,
  rows.reduce((max, row) => Math.max(max, row[1].length), 0),
);
console.log(
  `${quick ? "quick run (small sizes only)" : "full run"}, ${runs} runs per start-up figure, ${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
);
console.log(`${"scenario".padEnd(width)}  ${"measured".padEnd(valueWidth)}  target`);
for (const [name, value, target] of rows) console.log(`${name.padEnd(width)}  ${value.padEnd(valueWidth)}  ${target}`);
