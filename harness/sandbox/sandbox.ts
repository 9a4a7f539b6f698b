/**
 * The local sandbox: the Kubernetes API test server with nodes; a kubelet stand-in that reports Kadalu's
 * pods Ready and, when the operator's and the provisioner's pods start, runs the real operator and the
 * real CSI driver (local-directory pools) in this process; the kadalu-info ConfigMap synced into the
 * driver's info directory as a ConfigMap volume is; a provisioning loop in place of the CSI sidecars; and
 * an exec handler that maps the provisioner pod's /mnt/<pool> to the pool directories.
 * With `gluster` (GlusterFS installed, root), pools are real Gluster volumes instead: glusterd runs in the
 * sandbox's directory, a pool's volume is created once all its brick pods "started", and the CSI driver
 * runs as its own process in a mount namespace whose /etc/hosts resolves the brick hosts, mounting the
 * pools with upstream's client command line, as in a real provisioner pod.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeInfo, isExternal, poolOfKey, type PoolInfo } from "../../src/core/info/codec.js";
import { POOL_LABEL } from "../../src/core/kube-vocabulary.js";
import type { GlusterParts } from "../real/components.js";
import { BRICK_ADDRESS, Glusterd } from "../real/gluster.js";
import { startContained, type Contained } from "../real/namespace.js";
import { Processes, waitUntil } from "../real/processes.js";
import { configFromEnv } from "../../operator/config.js";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import { startCsi, type RunningCsi } from "../../csi/main.js";
import { localDirExec, type ExecHandler } from "../apiserver/exec.js";
import { HEAL_INFO } from "../../src/cli/pools/heals.js";
import { podProcessesExec } from "../helpers/pod-processes.js";
import { boundPort } from "../../src/metrics/registry.js";
import { ApiServer } from "../apiserver/server.js";
import type { KubeObject } from "../apiserver/store.js";
import { CSI_IMAGE_PROGRAMS } from "../helpers/pools.js";
import { syncConfigMapVolume } from "./configmap-volume.js";
import { killProcessesOf, reapAbandoned, recordSandbox, SANDBOX_PREFIX } from "./leftovers.js";
import { startKubelet } from "./kubelet.js";
import { startProvisioningLoop } from "./provisioning-loop.js";

export interface Sandbox {
  /** Where pools live: "local directories" or "real GlusterFS volumes". */
  pools: string;
  server: ApiServer;
  dir: string;
  kubeconfig: string;
  /** The provisioner pod's filesystem: `<this>/mnt/<pool>` is each pool. */
  provisionerRoot: string;
  logs: string[];
  /** Where the running operator and the in-process provisioner serve /metrics (while their pods run). */
  metricsUrl(component: "operator" | "provisioner"): string | undefined;
  stop(): Promise<void>;
}

const NAMESPACE = "kadalu";

function envOf(pod: KubeObject): NodeJS.ProcessEnv {
  return Object.fromEntries(
    (pod.spec?.containers?.[0]?.env ?? [])
      .filter((e: { value?: string }) => e.value !== undefined)
      .map((e: { name: string; value: string }) => [e.name, e.value]),
  );
}

const REPLICAS: Record<string, number> = { Replica1: 1, Replica2: 2, Replica3: 3, Arbiter: 3 };

/** Real Gluster for the sandbox: volumes made when a pool's brick pods start, brick hosts resolved in the driver's namespace. */
class SandboxGluster {
  private readonly started = new Map<string, Set<string>>();
  /** Each created volume's brick directories, in the order of the pool's bricks. */
  private readonly created = new Map<string, string[]>();

  constructor(
    readonly glusterd: Glusterd,
    private readonly server: ApiServer,
    readonly hostsFile: string,
  ) {}

  private infos(): PoolInfo[] {
    const data: Record<string, string> = this.server.get("v1", "ConfigMap", NAMESPACE, "kadalu-info")?.data ?? {};
    return Object.entries(data).flatMap(([key, text]) => {
      const pool = poolOfKey(key);
      return pool ? [decodeInfo(pool, text).info].filter((info): info is PoolInfo => Boolean(info)) : [];
    });
  }

  /** Every brick host kadalu-info names resolves to the bricks' address (the file is bound into the driver's namespace). */
  syncHosts(): void {
    const hosts = this.infos().flatMap((info) => (isExternal(info) ? [] : info.bricks.map((brick) => `${BRICK_ADDRESS} ${brick.node}`)));
    const text = ["127.0.0.1 localhost", ...hosts, ""].join("\n");
    if (!existsSync(this.hostsFile) || readFileSync(this.hostsFile, "utf8") !== text) writeFileSync(this.hostsFile, text);
  }

  async brickStarted(pool: string, pod: string): Promise<void> {
    const started = this.started.get(pool) ?? new Set<string>();
    started.add(pod);
    this.started.set(pool, started);
    const info = this.infos().find((candidate) => candidate.volname === pool);
    if (!info || isExternal(info) || this.created.has(pool) || started.size < info.bricks.length) return;
    this.created.set(pool, []);
    this.syncHosts();
    this.created.set(pool, await this.glusterd.createVolume(pool, info.bricks.length, REPLICAS[info.type] ?? 1));
  }

  /** The pool's last brick pod gone (the pool removed): its volume stops, so no brick outlives the pool. */
  async brickStopped(pool: string, pod: string): Promise<void> {
    const started = this.started.get(pool);
    started?.delete(pod);
    if (started?.size || !this.created.has(pool)) return;
    this.created.delete(pool);
    this.started.delete(pool);
    await this.glusterd.deleteVolume(pool);
  }

  /**
   * Exec in a server pod (server-POOL-INDEX-0): upstream's heal-info.sh answered by the real glfsheal, any
   * other command run on this machine seeing only that brick's glusterfsd, as the pod's PID namespace would.
   */
  execHandler(pool: string, pod: string): ExecHandler {
    const index = Number(pod.slice(`server-${pool}-`.length).split("-")[0]);
    const processes = podProcessesExec(() => {
      const brick = this.created.get(pool)?.[index];
      return brick ? this.glusterd.brickPids(brick) : [];
    });
    return async (context) => {
      if (context.command[0] !== HEAL_INFO) return processes(context);
      if (context.command[1] !== pool) {
        context.stderr.write(`heal-info.sh: this pod serves pool ${pool}\n`);
        return 1;
      }
      context.stdout.write(await this.glusterd.healInfo(pool));
      return 0;
    };
  }
}

export async function startSandbox(nodes = ["kube1", "kube2", "kube3"], options: { gluster?: GlusterParts } = {}): Promise<Sandbox> {
  await reapAbandoned();
  const dir = mkdtempSync(join(tmpdir(), SANDBOX_PREFIX));
  const forget = recordSandbox(dir);
  const processes = new Processes(dir);
  let gluster: SandboxGluster | undefined;
  let contained: Contained | undefined;
  const server = await ApiServer.start();
  for (const name of nodes) {
    server.seed({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
      status: { conditions: [{ type: "Ready", status: "True" }], nodeInfo: { kubeletVersion: "v1.32.0" } },
    });
  }
  const kubeconfig = server.writeKubeconfig(join(dir, "kubeconfig"), { namespace: "default", context: "kadalu-sandbox" });
  const provisionerRoot = join(dir, "provisioner");
  // The provisioner container's filesystem, there before any pool is mounted (exec runs in it).
  mkdirSync(provisionerRoot, { recursive: true });
  const socket = join(dir, "csi", "csi.sock");
  const logs: string[] = [];
  const log =
    (component: string) =>
    (message: string): void =>
      void logs.push(`${component}: ${message}`);
  if (options.gluster) {
    try {
      gluster = new SandboxGluster(
        await Glusterd.start(options.gluster, join(dir, "gluster"), { ownLogs: true }),
        server,
        join(dir, "kadalu-provisioner", "hosts"),
      );
    } catch (error) {
      // A sandbox that cannot start leaves nothing: not its server, not its directory, not its record.
      await processes.stopAll();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
      forget();
      throw error;
    }
  }
  let operator: RunningOperator | undefined;
  let csi: RunningCsi | undefined;
  let stopInfo: (() => Promise<void>) | undefined;
  const infoData = () => server.get("v1", "ConfigMap", NAMESPACE, "kadalu-info")?.data;

  const stopKubelet = startKubelet(server, nodes, {
    async started(pod) {
      try {
        if (pod.metadata.labels?.["app.kubernetes.io/component"] === "operator") {
          const env = envOf(pod);
          operator = await startOperator({
            kubeconfig,
            log: (level, message) => log("operator")(`${level} ${message}`),
            health: false,
            metricsPort: 0,
            config: { ...configFromEnv(env), namespace: NAMESPACE, resyncMs: 5_000, hostCheckTimeoutMs: 500 },
          });
        }
        const pool = pod.metadata.labels?.[POOL_LABEL];
        if (gluster && pool && pod.metadata.labels?.["app.kubernetes.io/component"] === "server") {
          server.onExec(NAMESPACE, pod.metadata.name, "server", gluster.execHandler(pool, pod.metadata.name));
          await gluster.brickStarted(pool, pod.metadata.name);
        }
        if (pod.metadata.name === "kadalu-csi-provisioner-0" && gluster) {
          const infoDir = join(dir, "kadalu-info");
          const sync = syncConfigMapVolume(infoData, infoDir);
          const hosts = setInterval(() => gluster!.syncHosts(), 200);
          stopInfo = async () => {
            clearInterval(hosts);
            await sync();
          };
          contained = startContained(processes, "kadalu-provisioner", dir, {}, process.execPath, [
            fileURLToPath(new URL("../../bin/kadalu-csi", import.meta.url)),
            "--endpoint",
            `unix://${socket}`,
            "--node-id",
            pod.spec.nodeName,
            "--role",
            "provisioner",
            "--info-dir",
            infoDir,
            "--kubeconfig",
            kubeconfig,
          ]);
          const running = contained;
          await waitUntil(`the CSI driver to serve\n${running.process.tail()}`, () => running.process.tail(50).includes("serving on") || undefined, 30_000);
          server.onExec(NAMESPACE, pod.metadata.name, "kadalu-provisioner", running.execHandler(CSI_IMAGE_PROGRAMS));
        } else if (pod.metadata.name === "kadalu-csi-provisioner-0") {
          const infoDir = join(dir, "kadalu-info");
          stopInfo = syncConfigMapVolume(infoData, infoDir);
          csi = await startCsi(
            {
              endpoint: `unix://${socket}`,
              nodeId: pod.spec.nodeName,
              role: "provisioner",
              infoDir,
              mountRoot: join(provisionerRoot, "mnt"),
              poolDirs: new Map(),
              poolRoot: join(provisionerRoot, "mnt"),
              kubeconfig,
              usageDelayMs: 200,
              metricsPort: 0,
            },
            log("csi"),
          );
          server.onExec(NAMESPACE, pod.metadata.name, "kadalu-provisioner", localDirExec(provisionerRoot, CSI_IMAGE_PROGRAMS));
        }
      } catch (error) {
        log("sandbox")(`cannot start ${pod.metadata.name}: ${(error as Error).message}`);
      }
    },
    async stopped(pod) {
      const pool = pod.metadata.labels?.[POOL_LABEL];
      if (gluster && pool && pod.metadata.labels?.["app.kubernetes.io/component"] === "server") {
        await gluster.brickStopped(pool, pod.metadata.name).catch((error: Error) => log("sandbox")(`cannot stop pool ${pool}'s volume: ${error.message}`));
      }
      if (pod.metadata.labels?.["app.kubernetes.io/component"] === "operator") {
        await operator?.stop();
        operator = undefined;
      }
      if (pod.metadata.name === "kadalu-csi-provisioner-0") {
        await stopInfo?.();
        await csi?.stop();
        csi = undefined;
        if (contained) await processes.stop(contained.process);
        contained = undefined;
      }
    },
  });
  const loop = startProvisioningLoop(server, `unix://${socket}`);
  return {
    pools: gluster ? "real GlusterFS volumes" : "local directories",
    server,
    dir,
    kubeconfig,
    provisionerRoot,
    logs,
    metricsUrl(component) {
      const http = component === "operator" ? operator?.metrics : csi?.metrics;
      return http ? `http://127.0.0.1:${boundPort(http)}/metrics` : undefined;
    },
    async stop() {
      loop.stop();
      await stopKubelet();
      await processes.stopAll();
      await gluster?.glusterd.stop();
      await server.stop();
      // The FUSE client outlives the CSI driver that started it (it is a daemon in the driver's namespace).
      await killProcessesOf(dir);
      rmSync(dir, { recursive: true, force: true });
      forget();
    },
  };
}
