/**
 * kadalu-csi: the CSI driver in role provisioner (controller service next to the external-provisioner
 * and resizer) or nodeplugin (node service on every node). On a laptop:
 *   kadalu-csi --endpoint unix:///tmp/csi.sock --node-id n1 --role provisioner --pool-dir pool1=/tmp/p1
 */
import type { Server } from "@grpc/grpc-js";
import type { Server as HttpServer } from "node:http";
import { hostname } from "node:os";
import { parseArgs as parseFlags } from "node:util";
import { readFlags } from "../src/core/daemon-flags.js";
import { CSI_DRIVER_NAME } from "../src/core/kube-vocabulary.js";
import { UsageError } from "../src/core/errors.js";
import { closeServer, newRegistry, serveMetrics } from "../src/metrics/registry.js";
import { csiMetrics } from "./jobs/metrics.js";
import { INFO_CONFIGMAP, type PoolInfo } from "../src/core/info/codec.js";
import { PLUGIN_VERSION } from "../src/core/version.js";
import { dns1123LabelError } from "../src/core/naming.js";
import { Driver, type DriverConfig } from "./driver.js";
import { ClientLogFollower, DEFAULT_CLIENT_LOG_MAX_BYTES } from "./jobs/client-log.js";
import { GLUSTER_LOG, GlusterMounter, LocalDirMounter, type Mounter } from "./os/mounter.js";
import { serve, shutdown } from "./server.js";
import { UsageReporter } from "./jobs/usage-reporter.js";
import { DEFAULT_CRAWLER } from "./jobs/quota-crawler.js";
import { GlusterQuotaOverSsh, SECRET_DIR, sshQuotaConfig } from "./os/external-quota.js";
import { republishDead } from "./jobs/republish.js";
import { DEFAULT_RELOAD, type ReloadOptions } from "./jobs/volfile-reload.js";

export interface CsiOptions {
  endpoint: string;
  nodeId: string;
  role: "provisioner" | "nodeplugin";
  infoDir: string;
  mountRoot: string;
  poolDirs: Map<string, string>;
  /** Every pool is a directory under this one (`<root>/<pool>`): the sandbox, a laptop. */
  poolRoot?: string;
  kubeconfig?: string;
  usageDelayMs?: number;
  /** The kubelet's directory: NodePublishVolume targets must lie under its pods/ (default /var/lib/kubelet). */
  kubeletDir?: string;
  /** How often the provisioner checks that every multi-PV pool is mounted and alive (the nodeplugin: whether a mounted pool grew). */
  remountMs?: number;
  /** How long a pool's stat.db stays open (and locked) after its last request (--stat-db-hold-ms). */
  statDbHoldMs?: number;
  /** The size past which the Gluster clients' log is truncated, once passed on (--gluster-log-max-bytes). */
  glusterLogMaxBytes?: number;
  /** PVs per second the provisioner's quota crawler visits (--quota-crawl-rate; 0: no crawler). */
  quotaCrawlRate?: number;
  /** Where the optional glusterquota-ssh-secret is mounted (--quota-secret-dir, default /etc/secret-volume). */
  quotaSecretDir?: string;
  /** The SSH port of External pools' Gluster hosts (--quota-ssh-port, default 22 as upstream). */
  quotaSshPort?: number;
  /** Where /metrics is served (--metrics-port; absent: not served; 0 here: any free port, while the flag's 0 means none). */
  metricsPort?: number;
  /** How mounted clients are told to fetch a grown pool's volfile (default every 5 s for at most 3 min; Gluster mounts only). */
  volfileReload?: ReloadOptions;
}

const text = { type: "string" } as const;
/** Every flag takes a value; the last one given wins, except --pool-dir, which repeats. */
const FLAGS = {
  endpoint: text,
  "node-id": text,
  role: text,
  "info-dir": text,
  "mount-root": text,
  "pool-dir": { type: "string", multiple: true },
  "pool-root": text,
  kubeconfig: text,
  "kubelet-dir": text,
  "stat-db-hold-ms": text,
  "gluster-log-max-bytes": text,
  "quota-crawl-rate": text,
  "quota-secret-dir": text,
  "quota-ssh-port": text,
  "metrics-port": text,
} as const;

export function parseArgs(args: string[], env: NodeJS.ProcessEnv): CsiOptions {
  const { values } = readFlags(() => parseFlags({ args, options: FLAGS, strict: true, allowPositionals: false }), Object.keys(FLAGS));
  const one = (name: Exclude<keyof typeof FLAGS, "pool-dir">, fallback?: string): string | undefined => values[name] ?? fallback;
  const role = one("role", env.CSI_ROLE ?? "nodeplugin");
  if (role !== "provisioner" && role !== "nodeplugin") throw new UsageError(`--role must be provisioner or nodeplugin, not "${role}"`);
  const poolDirs = new Map(
    (values["pool-dir"] ?? []).map((pair) => {
      const [pool, dir] = pair.split(/=(.*)/s);
      if (!pool || !dir?.startsWith("/")) throw new UsageError(`--pool-dir "${pair}" must be POOL=/absolute/dir`);
      return [pool, dir] as [string, string];
    }),
  );
  const endpoint = one("endpoint", env.CSI_ENDPOINT);
  if (!endpoint) throw new UsageError("--endpoint (or CSI_ENDPOINT) is required, e.g. unix:///plugin/csi.sock");
  return {
    endpoint: endpoint.replace(/^unix:\/\/(?!\/)/, "unix:///"),
    nodeId: one("node-id", env.NODE_ID ?? "")!,
    role,
    infoDir: one("info-dir", "/var/lib/gluster")!,
    mountRoot: one("mount-root", "/mnt")!,
    poolDirs,
    poolRoot: one("pool-root"),
    kubeconfig: one("kubeconfig"),
    kubeletDir: one("kubelet-dir", env.KUBELET_DIR ?? "/var/lib/kubelet")!.replace(/\/+$/, ""),
    statDbHoldMs: holdMs(one("stat-db-hold-ms")),
    glusterLogMaxBytes: logBytes(one("gluster-log-max-bytes")),
    quotaCrawlRate: crawlRate(one("quota-crawl-rate")),
    quotaSecretDir: one("quota-secret-dir", SECRET_DIR),
    quotaSshPort: sshPort(one("quota-ssh-port")),
    metricsPort: metricsPort(one("metrics-port", env.METRICS_PORT)),
  };
}

function logBytes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4,12}$/.test(value)) throw new UsageError(`--gluster-log-max-bytes must be a number of bytes (at least 1000), not "${value}"`);
  return Number(value);
}

function metricsPort(value: string | undefined): number | undefined {
  if (value === undefined || value === "0") return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`--metrics-port must be a TCP port (0: no metrics), not "${value}"`);
  return Number(value);
}

function sshPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`--quota-ssh-port must be a TCP port, not "${value}"`);
  return Number(value);
}

function crawlRate(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CRAWLER.ratePerSecond;
  if (!/^\d{1,5}$/.test(value)) throw new UsageError(`--quota-crawl-rate must be a number of PVs per second (0 turns the crawler off), not "${value}"`);
  return Number(value);
}

function holdMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new UsageError(`--stat-db-hold-ms must be a number of milliseconds, not "${value}"`);
  return Number(value);
}

/** A pool given only as a directory: a one-brick native pool. */
function localPool(name: string): PoolInfo {
  return {
    namespace: "kadalu",
    kadalu_version: PLUGIN_VERSION,
    volname: name,
    volume_id: "",
    single_pv_per_pool: false,
    type: "Replica1",
    pvReclaimPolicy: "delete",
    bricks: [],
    disperse: { data: 0, redundancy: 0 },
    options: {},
  };
}

export interface RunningCsi {
  driver: Driver;
  server: Server;
  usage?: UsageReporter;
  metrics?: HttpServer;
  stop(): Promise<void>;
}

/**
 * What the driver does through the API in a cluster: both roles read kadalu-info there when the mounted
 * copy lags (a new pool); the provisioner also reports usage. A nodeplugin that cannot reach the API
 * (an install from before its Role) keeps to the mounted copy.
 */
async function apiAccess(options: CsiOptions, log: (message: string) => void): Promise<{ usage?: UsageReporter; infoSource?: Driver["infoSource"] }> {
  if (!options.kubeconfig && !process.env.KUBERNETES_SERVICE_HOST) return {};
  const { connect } = await import("../src/kube/client.js");
  let kube: Awaited<ReturnType<typeof connect>>;
  try {
    kube = await connect({ kubeconfig: options.kubeconfig });
  } catch (error) {
    if (options.role === "provisioner") throw error;
    log(`kadalu-info is read from its mounted volume only: ${(error as Error).message}`);
    return {};
  }
  const usage = options.role === "provisioner" ? new UsageReporter(kube, log, options.usageDelayMs) : undefined;
  const namespace = process.env.KADALU_NAMESPACE ?? "kadalu";
  if (dns1123LabelError(namespace)) return { usage };
  const path = `/api/v1/namespaces/${namespace}/configmaps/${INFO_CONFIGMAP}`;
  return {
    usage,
    infoSource: async () => (await kube.call(`cannot read ${INFO_CONFIGMAP}`, () => kube.getPath<{ data?: Record<string, string> }>(path)))?.data ?? undefined,
  };
}

function driverConfig(options: CsiOptions, local: boolean): DriverConfig {
  return {
    name: CSI_DRIVER_NAME,
    version: PLUGIN_VERSION,
    nodeId: options.nodeId,
    role: options.role,
    infoDir: options.infoDir,
    localPools: [...options.poolDirs.keys()].map(localPool),
    kubeletDir: options.kubeletDir ?? "/var/lib/kubelet",
    statDbHoldMs: options.statDbHoldMs,
    quotaCrawler:
      options.role === "provisioner" && options.quotaCrawlRate !== 0
        ? { ...DEFAULT_CRAWLER, ratePerSecond: options.quotaCrawlRate ?? DEFAULT_CRAWLER.ratePerSecond }
        : undefined,
    volfileReload: options.volfileReload ?? (local ? undefined : DEFAULT_RELOAD),
  };
}

async function startMetrics(
  options: CsiOptions,
  driver: Driver,
  log: (message: string) => void,
): Promise<{ metrics?: HttpServer; observe?: (method: string, code: string, seconds: number) => void }> {
  if (options.metricsPort === undefined) return {};
  const registry = newRegistry();
  const { observe } = csiMetrics(registry, driver, process.env.HOSTNAME ?? hostname());
  return { metrics: await serveMetrics(registry, options.metricsPort, log), observe };
}

export async function startCsi(options: CsiOptions, log: (message: string) => void): Promise<RunningCsi> {
  const local = options.poolDirs.size > 0 || Boolean(options.poolRoot);
  const mounter: Mounter = local ? new LocalDirMounter(options.poolDirs, options.poolRoot) : new GlusterMounter(options.mountRoot, options.role);
  const { usage, infoSource } = await apiAccess(options, log);
  const driver = new Driver(driverConfig(options, local), mounter, log, (pool, value, volumeId) => usage?.report(pool, value, volumeId));
  driver.infoSource = infoSource;
  const quota = options.role === "provisioner" ? sshQuotaConfig(process.env, options.quotaSecretDir, options.quotaSshPort) : undefined;
  if (quota) {
    driver.externalQuota = new GlusterQuotaOverSsh(quota, log);
    log(
      `External pools: PV quotas set over SSH as ${quota.username}${quota.knownHosts === undefined ? " (host keys not checked: no ssh-known-hosts in the secret)" : ""}`,
    );
  }
  const { metrics, observe } = await startMetrics(options, driver, log);
  const server = await serve(driver, options.endpoint, observe);
  log(`kadalu-csi ${PLUGIN_VERSION} (${options.role}) serving on ${options.endpoint}`);
  // What the pools' FUSE clients log goes to this process's log (kubectl logs), bounded on disk.
  const clientLog = local ? undefined : new ClientLogFollower(GLUSTER_LOG, log, options.glusterLogMaxBytes ?? DEFAULT_CLIENT_LOG_MAX_BYTES).start();
  // The provisioner keeps every multi-PV pool mounted (new pools, and mounts whose client died, too).
  let mounting: Promise<void> | undefined;
  // Pools are read through the API first: a new pool is mounted (and its usage reported, which
  // `storage-add --wait` waits for) without waiting for the kubelet to refresh the kadalu-info volume.
  const mountAll = (): void => {
    mounting ??= driver
      .refreshPools()
      .then(() => driver.mountAll())
      .then(() => reloadChanged())
      .finally(() => (mounting = undefined));
  };
  // A grown pool's mounted clients fetch its new volfile; the nodeplugin learns of it from its kadalu-info files.
  const reloadChanged = (): void => {
    try {
      driver.reloadChanged();
    } catch (error) {
      log(`volfile reload not checked: ${(error as Error).message}`);
    }
  };
  // The nodeplugin binds again what its predecessor published and took along into death.
  if (options.role === "nodeplugin" && !local) void republishDead(driver, log).catch((error: Error) => log(`republish: ${error.message}`));
  const remount = options.role === "provisioner" ? setInterval(mountAll, options.remountMs ?? 10_000) : undefined;
  remount?.unref();
  if (remount) mountAll();
  const reload = options.role === "nodeplugin" ? setInterval(reloadChanged, options.remountMs ?? 10_000) : undefined;
  reload?.unref();
  return {
    driver,
    server,
    usage,
    metrics,
    async stop() {
      clearInterval(remount);
      clearInterval(reload);
      await closeServer(metrics);
      await mounting;
      clientLog?.stop();
      await usage?.flush();
      await shutdown(server);
      await driver.close();
    },
  };
}

export async function main(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const options = parseArgs(args, env);
  const log = (message: string): void => void process.stdout.write(`${new Date().toISOString()} ${message}\n`);
  const running = await startCsi(options, log);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => void running.stop().then(() => process.exit(0)));
  }
}
