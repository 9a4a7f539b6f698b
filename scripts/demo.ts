/**
 * `npm run demo`: the Kadalu story on a local sandbox, driving the real CLI (and kubectl when present).
 * `npm run demo -- --keep` leaves the sandbox running to try commands by hand.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { glusterParts } from "../test/real/components.js";
import { startSandbox } from "../test/sandbox/sandbox.js";
import { runStory } from "../test/sandbox/story.js";

const keep = process.argv.includes("--keep");
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (text: string): string => (color ? `\x1b[1m${text}\x1b[0m` : text);
const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
const EXPECTED = [0, 0, 0, ...(kubectl ? [0, 0] : []), 0, 0, ...(kubectl ? [0] : []), 0, 1, ...(kubectl ? [0] : []), 0, 0];

const started = Date.now();
const gluster = glusterParts();
const sandbox = await startSandbox(undefined, { gluster: typeof gluster === "string" ? undefined : gluster });
console.log(bold("Kadalu sandbox"));
console.log(`A Kubernetes API test server at ${sandbox.server.url} with nodes kube1, kube2, kube3. The real operator and`);
console.log("CSI driver run here when their pods \"start\"; a provisioning loop plays the CSI sidecars.");
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
  console.log(`\n${bold("The sandbox keeps running.")} In another shell:\n  export KUBECONFIG=${sandbox.kubeconfig}\n  kubectl get kds -A\n  ${bin} install --wait && ${bin} storage-add pool2 --path kube1:/data/pool2 --yes --wait\nStop it with Ctrl-C (everything it made goes with it).`);
  process.on("SIGINT", () => void sandbox.stop().then(() => process.exit(0)));
} else {
  await sandbox.stop();
  console.log(`\n${failed ? "The demo did not go as expected." : "Demo finished: every step behaved as expected"} (${((Date.now() - started) / 1000).toFixed(1)} s); the sandbox and its files are gone.`);
  process.exitCode = failed ? 1 : 0;
}
