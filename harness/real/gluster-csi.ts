/**
 * A real GlusterFS Replica3 pool served to the CSI driver binary: glusterd and its volume, the pool's
 * `<pool>.info` as the operator writes it, and the driver (role provisioner) in a mount namespace whose
 * hosts file resolves the brick hosts that info names. For csi-sanity, the mount tests and the bench.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildNativeInfo, encodeInfo, type NativePoolInfo } from "../../src/core/info/codec.js";
import type { ReclaimPolicy } from "../../src/core/pool/types.js";
import { SERVER_DEFAULTS } from "../../src/core/pool/options.js";
import type { GlusterParts } from "./components.js";
import { BRICK_ADDRESS, Glusterd } from "./gluster.js";
import { BIN } from "./kadalu.js";
import { startContained, type Contained } from "./namespace.js";
import { Processes, waitUntil } from "./processes.js";

export interface GlusterCsi {
  gluster: Glusterd;
  bricks: string[];
  csi: Contained;
  socket: string;
  /** Rewrites the pool's info with another pvReclaimPolicy, as the operator does when the pool's spec changes. */
  setReclaimPolicy(policy: ReclaimPolicy): void;
  stop(): Promise<void>;
}

function writePoolInfo(infoDir: string, pool: string, pvReclaimPolicy: ReclaimPolicy, type: "Replica3" | "Disperse" = "Replica3"): NativePoolInfo {
  const info = buildNativeInfo(
    {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: pool, namespace: "kadalu" },
      spec: {
        type,
        storage: ["kube1", "kube2", "kube3"].map((node) => ({ node, path: `/data/${pool}` })),
        pvReclaimPolicy,
        ...(type === "Disperse" ? { disperse: { data: 2, redundancy: 1 } } : {}),
      },
    },
    { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "00000000-0000-4000-8000-000000000003" },
  );
  writeFileSync(join(infoDir, `${pool}.info`), encodeInfo(info));
  return info;
}

/** How the driver is started: by default the repository's binary in a mount namespace (startContained). */
export type StartDriver = (processes: Processes, dir: string, hosts: Record<string, string>, args: string[]) => Contained;

const repositoryBinary: StartDriver = (processes, dir, hosts, args) => startContained(processes, "csi", dir, hosts, process.execPath, [BIN.csi, ...args]);

export async function startGlusterCsi(
  parts: GlusterParts,
  dir: string,
  options: { pool?: string; kubeletDir?: string; start?: StartDriver; type?: "Replica3" | "Disperse" } = {},
): Promise<GlusterCsi> {
  const pool = options.pool ?? "pool1";
  const processes = new Processes(dir);
  const gluster = await Glusterd.start(parts, join(dir, "gluster"));
  try {
    const bricks = options.type === "Disperse" ? await gluster.createDisperse(pool, 3, 1) : await gluster.createReplica3(pool);
    // Configured as kadalu-server configures a pool's volume: its performance translators off.
    for (const { key, value } of SERVER_DEFAULTS) await gluster.cli(["volume", "set", pool, key, value]);
    const infoDir = join(dir, "info");
    mkdirSync(infoDir, { recursive: true });
    const info = writePoolInfo(infoDir, pool, "delete", options.type);
    const socket = join(dir, "csi.sock");
    const csi = (options.start ?? repositoryBinary)(processes, dir, Object.fromEntries(info.bricks.map((brick) => [brick.node, BRICK_ADDRESS])), [
      "--endpoint",
      `unix://${socket}`,
      "--node-id",
      "kube1",
      "--role",
      "provisioner",
      "--info-dir",
      infoDir,
      ...(options.kubeletDir ? ["--kubelet-dir", options.kubeletDir] : []),
    ]);
    await waitUntil(`the driver to serve\n${csi.process.tail()}`, () => csi.process.tail(5000).includes("serving on") || undefined, 30_000);
    return {
      gluster,
      bricks,
      csi,
      socket,
      setReclaimPolicy: (policy) => void writePoolInfo(infoDir, pool, policy, options.type),
      async stop() {
        await processes.stopAll();
        await gluster.stop();
      },
    };
  } catch (error) {
    await processes.stopAll();
    await gluster.stop();
    throw error;
  }
}
