/** The start most sandbox suites share: Kadalu installed, Replica3 pool1 on three nodes, PVCs bound and counted. */
import { expect } from "vitest";
import type { CliResult } from "../helpers/cli.js";
import type { Sandbox } from "./sandbox.js";

/** Installs, adds pool1 and creates `pvcs` (name, size), returning once the pool's status counts them. */
export async function installPool1(sandbox: Sandbox, cli: (...args: string[]) => Promise<CliResult>, pvcs: [string, string][] = []): Promise<void> {
  expect((await cli("install", "--wait", "--timeout", "60s")).code).toBe(0);
  const add = await cli(
    "storage-add",
    "pool1",
    "--type",
    "Replica3",
    "--path",
    "kube1:/data/pool1",
    "--path",
    "kube2:/data/pool1",
    "--path",
    "kube3:/data/pool1",
    "--yes",
    "--wait",
    "--timeout",
    "60s",
  );
  expect(add.code, add.stderr).toBe(0);
  for (const [name, size] of pvcs) {
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: "default" },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: size } } },
    } as never);
  }
  if (pvcs.length === 0) return;
  // The provisioner writes the pool's usage into its status after the creates.
  const start = Date.now();
  while (sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1")?.status?.usage?.pvCount !== pvcs.length) {
    if (Date.now() - start > 20_000) throw new Error(`the pool's status never counted ${pvcs.length} PVs\n${sandbox.logs.slice(-10).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
