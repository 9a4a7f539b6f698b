/**
 * The node tier's figures: a real kubelet's cold start (nothing to node Ready, to `install --wait` done, to
 * an app pod Running with a Kadalu PV of an External pool) and the window of failed writes of a pod while
 * the nodeplugin pod is replaced. Skipped with the reason where the node tier cannot run.
 */
import { glusterParts } from "../test/real/components.js";

type Row = [string, string, string];

export async function nodeScenarios(): Promise<Row[]> {
  const { nodeParts } = await import("../test/node/components.js");
  const { noImages } = await import("../test/images/tier.js");
  const parts = nodeParts();
  const gluster = glusterParts();
  const skipped = typeof parts === "string" ? parts : noImages ?? (typeof gluster === "string" ? gluster : undefined);
  if (skipped !== undefined || typeof parts === "string" || typeof gluster === "string") return [["node tier (a real kubelet)", `skipped: ${skipped}`, "-"]];
  const { startNode } = await import("../test/node/node.js");
  const { kadalu } = await import("../test/real/kadalu.js");
  const k = await import("../test/node/kadalu.js");
  const t0 = Date.now();
  const node = await startNode(parts);
  let server: Awaited<ReturnType<typeof k.startExternalServer>> | undefined;
  try {
    const rows: Row[] = [["node tier: nothing to node Ready", `${(node.timings.nodeReadyMs / 1000).toFixed(1)} s`, "-"]];
    k.importKadaluImages(node, parts);
    server = await k.startExternalServer(node, gluster, "ext1");
    const install = await k.installKadalu(node);
    if (install.code !== 0) throw new Error(`install --wait failed: ${install.stderr}`);
    rows.push(["node tier: nothing to install --wait done", `${((Date.now() - t0) / 1000).toFixed(1)} s`, "-"]);
    const added = await kadalu(node.cluster.adminKubeconfig, ["storage-add", "ext1", "--type", "External", "--external", server.external, "--yes"]);
    if (added.code !== 0) throw new Error(`storage-add failed: ${added.stderr}`);
    const admin = node.cluster.admin;
    await admin.post("/api/v1/namespaces/default/persistentvolumeclaims", k.pvc("bench", "kadalu.ext1", "16Mi"));
    await admin.post("/api/v1/namespaces/default/pods", k.appPod("bench", "bench", k.writerScript("bench"), { propagation: "HostToContainer" }));
    await k.waitRunning(node, "bench", 180_000);
    rows.push(["node tier: nothing to an app pod Running with a Kadalu PV", `${((Date.now() - t0) / 1000).toFixed(1)} s`, "the new pool reaches the provisioner with its kadalu-info ConfigMap: up to ~2 min"]);
    await k.waitLog(node, "bench", "the first writes", (lines) => lines.length >= 5 || undefined);
    const deletedAt = await k.restartNodeplugin(node);
    const window = await k.waitLog(node, "bench", "the writes to resume", (lines) => k.ioWindow(lines, deletedAt), 90_000);
    const codes = [...new Set(window.failures.map(([, code]) => code))].join(", ");
    rows.push(["node tier: nodeplugin restart, failed writes (every 100 ms)", `${(window.windowMs / 1000).toFixed(1)} s, ${window.failures.length} failed${codes ? ` (${codes})` : ""}`, "resumes; never a hang (issue 35)"]);
    return rows;
  } finally {
    await node.stop();
    await server?.stop();
  }
}
