/**
 * A describe block's real Gluster pool and CSI driver: started in a temporary directory before its tests,
 * stopped and removed after them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { csiClient, type CsiClient } from "../helpers/csi-client.js";
import { startGlusterCsi, type GlusterCsi } from "./gluster-csi.js";
import { glusterfs } from "./tier.js";

export interface GlusterCsiSuite {
  readonly pool: GlusterCsi;
  readonly client: CsiClient;
}

export function glusterCsiSuite(name: string, options: { kubeletDir?: string } = {}): GlusterCsiSuite {
  let dir: string | undefined;
  let pool: GlusterCsi | undefined;
  let client: CsiClient | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `kadalu-${name}-`));
    pool = await startGlusterCsi(glusterfs!, dir, options);
    client = csiClient(`unix://${pool.socket}`);
  });
  afterAll(async () => {
    client?.close();
    await pool?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get pool() {
      return pool!;
    },
    // Calls go to the client of the moment, so a suite can take `client` apart before the pool is started.
    client: {
      identity: (method, request) => client!.identity(method, request),
      controller: (method, request) => client!.controller(method, request),
      node: (method, request) => client!.node(method, request),
      raw: (path) => client!.raw(path),
      close: () => client?.close(),
    },
  };
}
