/**
 * CSI: 1000 sequential CreateVolume then DeleteVolume on a local-directory pool through the real
 * `kadalu-csi` binary's unix socket (p50, p99, errors; after 50 unmeasured warm-up cycles), then 32
 * concurrent clients.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { csiClient, type CsiClient } from "../test/helpers/csi-client.js";

const BIN = fileURLToPath(new URL("../bin/kadalu-csi", import.meta.url));
const CAPS = [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }];

const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function cycle(client: CsiClient, name: string): Promise<[number, number]> {
  const create = await timed(() => client.controller("CreateVolume", { name, capacity_range: { required_bytes: 1024 ** 2 }, volume_capabilities: CAPS, parameters: {} }));
  const remove = await timed(() => client.controller("DeleteVolume", { volume_id: name }));
  return [create, remove];
}

export async function csiScenarios(): Promise<[string, string, string][]> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-csi-bench-"));
  mkdirSync(join(dir, "pool1"));
  const socket = join(dir, "csi.sock");
  const child = spawn(process.execPath, [BIN, "--endpoint", `unix://${socket}`, "--node-id", "n1", "--role", "provisioner", "--pool-dir", `pool1=${join(dir, "pool1")}`], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve) => child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("serving on") && resolve()));
    child.stdout!.resume();
    const client = csiClient(`unix://${socket}`);
    const creates: number[] = [];
    const deletes: number[] = [];
    let errors = 0;
    // Warm-up: a fresh process JIT-compiles its hot paths first; those cycles are not measured.
    for (let i = 0; i < 50; i += 1) await cycle(client, `pvc-warm-${i}`);
    for (let i = 0; i < 1000; i += 1) {
      try {
        const [c, d] = await cycle(client, `pvc-seq-${i}`);
        creates.push(c);
        deletes.push(d);
      } catch {
        errors += 1;
      }
    }
    const concurrent: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: 32 }, async (_, worker) => {
      const own = csiClient(`unix://${socket}`);
      for (let i = 0; i < 20; i += 1) {
        try {
          concurrent.push(...(await cycle(own, `pvc-c${worker}-${i}`)));
        } catch {
          errors += 1;
        }
      }
      own.close();
    }));
    const elapsed = Date.now() - started;
    client.close();
    return [
      ["CSI CreateVolume, 1000 sequential", `p50 ${percentile(creates, 50).toFixed(2)} ms, p99 ${percentile(creates, 99).toFixed(2)} ms`, "p50 <= 5 ms, p99 <= 20 ms"],
      ["CSI DeleteVolume, 1000 sequential", `p50 ${percentile(deletes, 50).toFixed(2)} ms, p99 ${percentile(deletes, 99).toFixed(2)} ms`, "p50 <= 5 ms, p99 <= 20 ms"],
      ["CSI 32 concurrent clients x 20 create+delete", `p50 ${percentile(concurrent, 50).toFixed(2)} ms, p99 ${percentile(concurrent, 99).toFixed(2)} ms, ${Math.round((1280 * 1000) / elapsed)} calls/s`, "-"],
      ["CSI errors", String(errors), "0"],
    ];
  } finally {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
