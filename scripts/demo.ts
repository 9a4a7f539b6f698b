/**
 * `npm run demo`: the Kadalu story on a local sandbox, driving the real CLI (and kubectl when present).
 * `npm run demo -- --keep` leaves the sandbox running to try commands by hand; `--no-gluster` keeps pools
 * in local directories even where GlusterFS could run.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { glusterParts } from "../harness/real/components.js";
import { startSandbox, type Sandbox } from "../harness/sandbox/sandbox.js";
import { runStory } from "../harness/sandbox/story.js";

const keep = process.argv.includes("--keep");
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (text: string): string => (color ? styleText("bold", text, { validateStream: false }) : text);
const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
const EXPECTED = [0, 0, 0, ...(kubectl ? [0, 0] : []), 0, 0, ...(kubectl ? [0] : []), 0, 1, ...(kubectl ? [0] : []), 0, 0];

// A reader gone from the pipe (`| tee` ended by the same Ctrl-C) loses the output, never the cleanup.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);

const started = Date.now();
const gluster = process.argv.includes("--no-gluster") ? "--no-gluster was given" : glusterParts();
const starting = startSandbox(undefined, { gluster: typeof gluster === "string" ? undefined : gluster });
stopOnSignals(starting);
const sandbox = await starting.catch((error: Error) => {
  console.error(
    `error: the sandbox could not start: ${error.message}${typeof gluster === "string" ? "" : "; or run it without GlusterFS: npm run demo -- --no-gluster"}`,
  );
  process.exit(1);
});
console.log(bold("Kadalu sandbox"));
console.log(`A Kubernetes API test server at ${sandbox.server.url} with nodes kube1, kube2, kube3. The real operator and`);
console.log('CSI driver run here when their pods "start"; a provisioning loop plays the CSI sidecars.');
if (typeof gluster === "string") {
  console.log(`Pools: local directories under a temporary directory (no Gluster runs: ${gluster}).`);
} else {
  console.log("Pools: real GlusterFS volumes. glusterd runs in a temporary directory, a pool's volume starts when its brick pods");
  console.log("do, and the CSI driver mounts it with upstream's client command line in a mount namespace of its own.");
}

let failed = false;
try {
  const results = await runStory(sandbox, { print: (text) => process.stdout.write(text), kubectl, bold });
  const unexpected = results.filter((result, index) => result.code !== EXPECTED[index]);
  failed = unexpected.length > 0;
  for (const result of unexpected) console.log(`!! "${result.command}" exited ${result.code}`);
} catch (error) {
  failed = true;
  console.log(`!! ${(error as Error).message}`);
}

if (keep) {
  const bin = fileURLToPath(new URL("../bin/kubectl-kadalu", import.meta.url));
  console.log(
    `\n${bold("The sandbox keeps running.")} In another shell:\n  export KUBECONFIG=${sandbox.kubeconfig}\n  kubectl get kds -A\n  ${bin} install --wait && ${bin} storage-add pool2 --path kube1:/data/pool2 --yes --wait\nStop it with Ctrl-C, SIGTERM or SIGHUP (everything it made goes with it).`,
  );
} else {
  await sandbox.stop();
  console.log(
    `\n${failed ? "The demo did not go as expected." : "Demo finished: every step behaved as expected"} (${((Date.now() - started) / 1000).toFixed(1)} s); the sandbox and its files are gone.`,
  );
  process.exitCode = failed ? 1 : 0;
}

/**
 * Ctrl-C, SIGTERM (`timeout`, a process manager) and SIGHUP (a closed terminal) stop the sandbox and
 * everything it started, within a bound; so does the parent going away (a wrapper killed without passing
 * the signal on). What a SIGKILL leaves, the next sandbox reaps when it starts.
 */
const STOP_BOUND_MS = 30_000;

function stopOnSignals(sandbox: Promise<Sandbox>): void {
  const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const parent = process.ppid;
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write("stopping...\n");
    // A loaded machine has taken over 10 s to stop glusterd and the FUSE clients; past the bound, say what is left.
    setTimeout(() => {
      void sandbox.then((running) =>
        process.stderr.write(
          `!! the sandbox did not stop within ${STOP_BOUND_MS / 1000} s; the next \`npm run demo\` removes what is left in ${running.dir}\n`,
        ),
      );
      setTimeout(() => process.exit(code), 100);
    }, STOP_BOUND_MS);
    void sandbox
      .then((running) => running.stop())
      .then(() => process.stderr.write("stopped: the sandbox and its files are gone\n"))
      .catch((error: Error) => process.stderr.write(`!! ${error.message}\n`))
      .finally(() => process.exit(code));
  };
  for (const [signal, code] of Object.entries(codes)) process.on(signal, () => stop(code));
  // `npm run demo` is npm, sh and tsx above this process; a signal to npm alone ends some of them and orphans the rest.
  const wrappers = wrapperChain();
  setInterval(() => {
    if (process.ppid !== parent || wrappers.some((wrapper) => startOf(wrapper.pid) !== wrapper.start)) stop(129);
  }, 1000).unref();
}

/** Fields of /proc/PID/stat after the command name: [0] state, [1] ppid, [19] start time (tells a reused pid apart). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function startOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The ancestors that run this demo (their command line names it), nearest first; never the user's shell. */
function wrapperChain(): { pid: number; start: string | undefined }[] {
  const chain: { pid: number; start: string | undefined }[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 5;) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      break;
    }
    const fields = statFields(pid);
    if (!cmdline.includes("demo") || !fields) break;
    chain.push({ pid, start: fields[19] });
    pid = Number(fields[1]);
  }
  return chain;
}
