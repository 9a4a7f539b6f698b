/**
 * `npm test`: the stand-in tier (the API test server, local directories; runs anywhere), then the real
 * tier (real kube-apiserver, controller-manager, sidecars, csi-sanity and GlusterFS) where its parts are
 * on this machine, else one line saying why it was skipped and how to enable it. Ends with one summary
 * line per tier and a total. `npm run test:real` runs the real tier alone; `npm run test:images` builds the
 * images and runs the image tier (they run for real, on the real tier's parts); `npm run test:node` runs
 * the node tier (a real kubelet on containerd; root), which `npm test` also runs when the images were
 * built from this tree.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGES_DIR } from "../harness/images/tier.js";
import { glusterParts, k8sBinDir, kubernetesParts } from "../harness/real/components.js";
import { staleImages } from "../images/inputs.js";
import { RECIPES } from "../images/recipes.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function runTier(title: string, config: string[], extra: string[]): Counts & { code: number } {
  console.log(`\n== ${title} ==`);
  const dir = mkdtempSync(join(tmpdir(), "kadalu-tier-"));
  const report = join(dir, "report.json");
  try {
    const result = spawnSync(
      process.execPath,
      [join("node_modules", "vitest", "vitest.mjs"), "run", ...config, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra],
      { stdio: "inherit" },
    );
    let counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    try {
      const json = JSON.parse(readFileSync(report, "utf8"));
      counts = { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + json.numTodoTests };
    } catch {
      counts.failed = 1; // no report: the runner itself failed
    }
    return { ...counts, code: result.status ?? 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const which = process.argv[2] ?? "all";
const extra = process.argv.slice(3);
const lines: string[] = [];
const totals: Counts = { passed: 0, failed: 0, skipped: 0 };
let code = 0;
const add = (name: string, result: Counts & { code: number }): void => {
  lines.push(`${name}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
  totals.passed += result.passed;
  totals.failed += result.failed;
  totals.skipped += result.skipped;
  if (result.code !== 0) code = result.code;
};
/** A tier that could not run counts as one skipped, with its reason on its line: never as "0 skipped". */
const skip = (name: string, reason: string): void => {
  lines.push(`${name}: 0 passed, 0 failed, 1 skipped (the whole tier: ${reason})`);
  console.log(`\n== ${name}: skipped: ${reason} ==`);
  totals.skipped += 1;
};

if (which === "all" || which === "standin") add("stand-in tier", runTier("stand-in tier: API test server, local directories", [], extra));
if (which === "all" || which === "real") {
  const kube = kubernetesParts();
  if (typeof kube === "string") skip("real tier", kube);
  else {
    const gluster = glusterParts();
    console.log(
      `\nreal tier: Kubernetes binaries from ${k8sBinDir()}, etcd ${kube.etcd}; GlusterFS: ${typeof gluster === "string" ? `tests skipped: ${gluster}` : gluster.glusterd}`,
    );
    add(
      "real tier",
      runTier(
        "real tier: kube-apiserver, kube-controller-manager, csi-provisioner, csi-resizer, csi-sanity, GlusterFS",
        ["--config", "vitest.real.config.ts"],
        extra,
      ),
    );
  }
}
if (which === "images") {
  const { noImages } = await import("../harness/images/tier.js");
  if (noImages) skip("image tier", noImages);
  else add("image tier", runTier("image tier: the built OCI images run from their own layers", ["--config", "vitest.images.config.ts"], extra));
}
if (which === "all" || which === "node") {
  const { noNode } = await import("../harness/node/components.js");
  const stale = staleImages(RECIPES, IMAGES_DIR, REPO);
  const builtElsewhere = stale.length > 0 ? `no images built from this tree (${stale.join(", ")}): run npm run images, then npm run test:node` : undefined;
  // Alone (`npm run test:node`, CI after the image tier) it runs on whatever images there are, and says so when
  // they are not this tree's; in `npm test` it runs only on images built from the tree under test.
  if (noNode) skip("node tier", noNode);
  else if (which === "all" && builtElsewhere) skip("node tier", builtElsewhere);
  else {
    if (builtElsewhere) console.log(`\nnode tier: warning: ${builtElsewhere}`);
    add("node tier", runTier("node tier: a real kubelet on containerd and runc", ["--config", "vitest.node.config.ts"], extra));
  }
}
console.log(`\n${lines.join("\n")}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(code);
