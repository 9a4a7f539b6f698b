/**
 * `npm run demo`: the Kadalu story on a local sandbox, driving the real CLI binary. Each step prints the
 * command and its real output. `-- --keep` leaves the sandbox running for trying commands by hand.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { markWorkloadsReady } from "../test/helpers/kubelet.js";
import { startSandbox } from "../test/sandbox/sandbox.js";

const BIN = fileURLToPath(new URL("../bin/kubectl-kadalu", import.meta.url));
const keep = process.argv.includes("--keep");
const bold = (text: string): string => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${text}\x1b[0m` : text);

const sandbox = await startSandbox();
const stopKubelet = markWorkloadsReady(sandbox.server);
const env = { ...process.env, KUBECONFIG: sandbox.kubeconfig };
let failures = 0;

/** Runs one command (asynchronously: the API server answers from this process) and shows its output. */
async function step(title: string, args: string[], expectCode = 0, program = "kubectl-kadalu"): Promise<void> {
  console.log(`\n${bold(`# ${title}`)}`);
  console.log(`$ ${program === "kubectl-kadalu" ? "kubectl kadalu" : program} ${args.join(" ")}`);
  const command = program === "kubectl-kadalu" ? [process.execPath, BIN, ...args] : [program, ...args];
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ["ignore", "inherit", "inherit"] });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== expectCode) {
    failures += 1;
    console.log(`!! expected exit code ${expectCode}, got ${code}`);
  }
}

console.log(`Kadalu sandbox: a Kubernetes API test server at ${sandbox.server.url} with nodes kube1, kube2, kube3.`);
console.log("No Gluster runs here: pools are objects in the API, and the sandbox plays kubelet by reporting Kadalu's pods ready.");

try {
  await step("Install the operator and CSI driver (the sandbox reports their pods ready)", ["install", "--wait", "--timeout", "30s"]);
  await step("Installing again changes nothing", ["install", "--no-wait"]);
  await step("Preview a Replica3 pool without touching the cluster", ["storage-add", "pool1", "--type", "Replica3", "--path", "kube1:/data/pool1", "--path", "kube2:/data/pool1", "--path", "kube3:/data/pool1", "--dry-run"]);
  await step("The same pool in gluster's own syntax, checked by the API server (server dry run)", ["storage-add", "pool1", "--storage-unit-type", "path", "replica", "3", "kube1:/data/pool1", "kube2:/data/pool1", "kube3:/data/pool1", "--dry-run=server"]);
  await step("Create it", ["storage-add", "pool1", "--type", "Replica3", "--path", "kube1:/data/pool1", "--path", "kube2:/data/pool1", "--path", "kube3:/data/pool1", "--yes"]);
  await step("A second pool of the same name is refused", ["storage-add", "pool1", "--path", "kube1:/data/other", "--yes"], 1);
  await step("A node that does not exist is named, with the real ones", ["storage-add", "pool2", "--path", "kube9:/data/pool2", "--yes"], 1);
  await step("Bad layouts are refused before anything is sent", ["storage-add", "pool2", "--type", "Replica3", "--path", "kube1:/data/pool2"], 2);
  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
  if (kubectl) await step("kubectl sees the pool", ["get", "kds", "-n", "kadalu"], 0, "kubectl");
  else console.log("\n(kubectl is not on PATH: skipping `kubectl get kds`)");
  await step("Uninstall is refused while the pool exists", ["uninstall", "--yes"], 1);
  await step("What uninstall would remove", ["uninstall", "--dry-run", "--force"]);
} finally {
  if (keep) {
    console.log(`\nThe sandbox keeps running. In another shell:\n  export KUBECONFIG=${sandbox.kubeconfig}\n  kubectl get kds -n kadalu\n  ${BIN} storage-add pool3 --path kube1:/data/pool3 --yes\nStop it with Ctrl-C.`);
    process.on("SIGINT", () => {
      stopKubelet();
      void sandbox.stop().then(() => process.exit(0));
    });
  } else {
    stopKubelet();
    await sandbox.stop();
    console.log(failures === 0 ? "\nDemo finished: every step behaved as expected; the sandbox is gone." : `\nDemo finished with ${failures} unexpected result(s).`);
    process.exitCode = failures === 0 ? 0 : 1;
  }
}
