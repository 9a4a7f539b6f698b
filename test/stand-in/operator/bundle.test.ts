/**
 * The operator as it ships: bin/kadalu-operator (the esbuild bundle, with its lean and lazily loaded
 * client-node parts) in a process of its own against the API test server. The other operator tests run
 * the sources in-process; this one catches what only bundling can break (a watch that cannot start).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";

const BIN = fileURLToPath(new URL("../../../bin/kadalu-operator", import.meta.url));
const API = "kadalu-operator.storage/v1alpha1";
let cluster: TestCluster | undefined;
let operator: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterEach(async () => {
  if (operator && operator.exitCode === null) {
    const exited = new Promise((resolve) => operator!.once("exit", resolve));
    operator.kill("SIGTERM");
    await exited;
  }
  operator = undefined;
  await cluster?.stop();
  cluster = undefined;
});

describe("the bundled operator binary", () => {
  it("watches, writes kadalu-info and reports a pool's status; a second pool is seen through the same watch", async () => {
    cluster = await startCluster();
    let output = "";
    operator = spawn(process.execPath, [BIN, "--kubeconfig", cluster.kubeconfig, "--health-port", String(await freePort()), "--metrics-port", "0"], {
      env: { ...process.env, KADALU_NAMESPACE: "kadalu", KADALU_VERSION: "1.2.0", RESYNC_SECONDS: "600" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    operator.stdout!.on("data", (chunk) => (output += chunk));
    operator.stderr!.on("data", (chunk) => (output += chunk));
    const server = cluster.server;
    const until = async (what: string, check: () => boolean): Promise<void> => {
      for (const start = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 50))) {
        if (Date.now() - start > 20_000) throw new Error(`timed out waiting for ${what}; operator said:\n${output}`);
      }
    };
    const status = (name: string) => server.get(API, "KadaluStorage", "kadalu", name)?.status;
    const info = () => server.get("v1", "ConfigMap", "kadalu", "kadalu-info")?.data ?? {};
    await until("the operator to watch", () => output.includes("watching KadaluStorage"));
    server.seed({
      apiVersion: API,
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", device: "/dev/vdc" }] },
    });
    await until("pool1's status", () => status("pool1")?.state === "initializing");
    server.seed({
      apiVersion: API,
      kind: "KadaluStorage",
      metadata: { name: "pool2", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", device: "/dev/vdd" }] },
    });
    await until("pool2's status", () => status("pool2")?.state === "initializing");
    expect(
      Object.keys(info())
        .filter((key) => key.endsWith(".info"))
        .sort(),
    ).toEqual(["pool1.info", "pool2.info"]);
    expect(output).not.toMatch(/watch of .* failed/);
  }, 60_000);
});
