/**
 * A kubeconfig whose cluster is a TCP server that counts every connection made to it (and drops each):
 * the proof that refused input never reached the cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { afterAll, beforeAll } from "vitest";
import { join } from "node:path";

export interface CountingServer {
  kubeconfig: string;
  connections(): number;
  stop(): Promise<void>;
}

export async function startCountingServer(): Promise<CountingServer> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "kadalu-counting-"));
  const kubeconfig = join(dir, "kubeconfig");
  const port = (server.address() as { port: number }).port;
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
  return {
    kubeconfig,
    connections: () => connections,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A counting server for the test file that calls this: started before its tests, stopped after. */
export function useCountingServer(): { kubeconfig: () => string; connections: () => number } {
  let server: CountingServer | undefined;
  beforeAll(async () => {
    server = await startCountingServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return { kubeconfig: () => server!.kubeconfig, connections: () => server!.connections() };
}
