/**
 * The story a user lives, on the sandbox, with the real CLI (and kubectl for the PVCs, when it is on
 * PATH): install, add a Replica3 pool, three PVCs, usage from stat.db, a PVC expansion, a refused and then
 * a successful removal, uninstall. Shared by `npm run demo` and the end-to-end test.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { Sandbox } from "./sandbox.js";

const BIN = fileURLToPath(new URL("../../bin/kubectl-kadalu", import.meta.url));

/** An argument as a POSIX shell reads it back: bare when it is safe, else single-quoted. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export interface StepResult {
  title: string;
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface StoryOptions {
  print: (text: string) => void;
  /** Use the real kubectl for PVCs and `get`; without it the same objects are written through the API. */
  kubectl: boolean;
  bold?: (text: string) => string;
}

export const PVCS: [name: string, size: string][] = [
  ["data-small", "500Mi"],
  ["data-medium", "1Gi"],
  ["data-large", "2Gi"],
];

function pvc(name: string, size: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default" },
    spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: size } } },
  };
}

export async function runStory(sandbox: Sandbox, options: StoryOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const bold = options.bold ?? ((text: string) => text);
  const env = {
    ...process.env,
    KUBECONFIG: sandbox.kubeconfig,
    KUBECACHEDIR: join(sandbox.dir, "kubectl-cache"),
    XDG_CACHE_HOME: join(sandbox.dir, "cache"),
    NO_COLOR: "1",
  };

  const run = (title: string, program: "kubectl kadalu" | "kubectl", args: string[]): Promise<StepResult> => {
    options.print(`\n${bold(`# ${title}`)}\n$ ${program} ${args.map(shellWord).join(" ")}\n`);
    const [command, ...rest] = program === "kubectl" ? ["kubectl", ...args] : [process.execPath, BIN, ...args];
    return new Promise((resolve) => {
      const child = spawn(command!, rest, { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        options.print(String(chunk));
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        options.print(String(chunk));
      });
      child.on("close", (code) => {
        const result = { title, command: `${program} ${args.join(" ")}`, code: code ?? -1, stdout, stderr };
        results.push(result);
        resolve(result);
      });
    });
  };

  const api = (title: string, what: string, act: () => void): void => {
    options.print(`\n${bold(`# ${title}`)}\n(kubectl is not on PATH: ${what} through the API)\n`);
    act();
  };

  const waitFor = async (condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
    const start = Date.now();
    while (!condition()) {
      if (Date.now() - start > timeoutMs) throw new Error(`the sandbox did not get there in time: ${what}\n${sandbox.logs.slice(-10).join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    options.print(`(${what})\n`);
  };

  const claim = (name: string) => sandbox.server.get("v1", "PersistentVolumeClaim", "default", name);
  const pool = () => sandbox.server.get("kadalu-operator.storage/v1alpha1", "KadaluStorage", "kadalu", "pool1");

  await run("Install the operator and the CSI driver, and wait until they are ready", "kubectl kadalu", ["install", "--wait", "--timeout", "60s"]);
  await run("Add a Replica3 pool on a directory of each of three nodes", "kubectl kadalu", [
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
  ]);
  await run("The pool as the plugin lists it", "kubectl kadalu", ["storage-list"]);

  const manifest = join(sandbox.dir, "pvcs.yaml");
  writeFileSync(manifest, PVCS.map(([name, size]) => stringify(pvc(name, size))).join("---\n"));
  if (options.kubectl) await run("Three PVCs of different sizes from the pool's StorageClass", "kubectl", ["apply", "-f", manifest]);
  else
    api("Three PVCs of different sizes from the pool's StorageClass", "creating them", () =>
      PVCS.forEach(([name, size]) => sandbox.server.seed(pvc(name, size) as never)),
    );
  await waitFor(() => PVCS.every(([name]) => claim(name)?.status?.phase === "Bound"), "the three PVCs are Bound to PVs the CSI driver created");
  if (options.kubectl) await run("They are bound", "kubectl", ["get", "pvc", "-n", "default"]);

  await run("Real usage, read from the pool's stat.db in the provisioner (one exec)", "kubectl kadalu", ["storage-list", "--status"]);
  await waitFor(() => pool()?.status?.usage?.pvCount === 3, "the CSI provisioner wrote the pool's usage into its status");
  if (options.kubectl) await run("Usage without any exec: the pool's status", "kubectl", ["get", "kds", "-n", "kadalu"]);
  else await run("Usage without any exec: the pool's status", "kubectl kadalu", ["storage-list", "--detail", "-o", "yaml"]);

  if (options.kubectl)
    await run("Grow data-small to 1Gi", "kubectl", [
      "patch",
      "pvc",
      "data-small",
      "-n",
      "default",
      "--type",
      "merge",
      "-p",
      '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}',
    ]);
  else
    api("Grow data-small to 1Gi", "patching it", () => {
      const live = claim("data-small")!;
      sandbox.server.objects.commit(
        sandbox.server.registry.byKind("v1", "PersistentVolumeClaim")!,
        live,
        { ...live, spec: { ...live.spec, resources: { requests: { storage: "1Gi" } } } },
        undefined,
        { dryRun: false },
      );
    });
  await waitFor(() => claim("data-small")?.status?.capacity?.storage === "1Gi", "ControllerExpandVolume grew it; the PVC reports 1Gi");
  await run("The pool's usage after the expansion", "kubectl kadalu", ["storage-list", "--status"]);

  await run("Removing the pool is refused while PVCs use it", "kubectl kadalu", ["storage-remove", "pool1", "--yes"]);
  if (options.kubectl) await run("Delete the PVCs", "kubectl", ["delete", "pvc", "-n", "default", ...PVCS.map(([name]) => name)]);
  else
    api("Delete the PVCs", "deleting them", () =>
      PVCS.forEach(([name]) =>
        sandbox.server.objects.delete(sandbox.server.registry.byKind("v1", "PersistentVolumeClaim")!, "default", name, { dryRun: false }),
      ),
    );
  await waitFor(() => sandbox.server.list("v1", "PersistentVolume").length === 0, "their PVs are gone: DeleteVolume removed the data and the stat.db rows");
  await run("Now the pool can go", "kubectl kadalu", ["storage-remove", "pool1", "--yes", "--wait", "--timeout", "60s"]);
  await run("Uninstall (the CRD and kadalu-info stay unless --purge)", "kubectl kadalu", ["uninstall", "--yes"]);
  return results;
}
