/**
 * The brick pod's program (upstream's server/server.py): prepares the brick, writes the volfiles, runs
 * glusterfsd (and the self-heal daemon for replicated and dispersed pools) in the foreground, restarting
 * them when they exit, and regenerates the volfiles when the pool's kadalu-info entry changes (new
 * options): the brick and the self-heal daemon re-read theirs on SIGHUP; clients get the new client
 * volfile from the brick on their next mount.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { prepareBrickDir, mountBrickDevice } from "./brick-dir.js";
import { configFromEnv, INFO_DIR, parsePoolInfo, type ServerConfig } from "./config.js";
import { BRICK_PORT, brickVolfileId, poolVolfiles, VOLFILES_DIR } from "./pool-volfiles.js";
import { Supervised } from "./supervisor.js";
import { closeServer, newRegistry, processGauges, serveMetrics } from "../src/metrics/registry.js";
import { brickMetrics, SERVER_METRICS_PORT } from "./metrics.js";
import { NamespaceHeal } from "./namespace-heal.js";
import { SHD_SOCKET } from "./heal-now.js";

export const RUN_DIR = "/run/gluster";
const WATCH_MS = 10_000;

const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** glusterfsd's command line as upstream's glusterfsd.py builds it. */
export function brickArgs(config: ServerConfig, volfile: string): string[] {
  const { brick } = config;
  const dashed = brick.brickPath.replace(/^\/+|\/+$/g, "").replaceAll("/", "-");
  return [
    "-N",
    "--volfile-id",
    brickVolfileId(brick),
    "-p",
    `${RUN_DIR}/glusterfsd-${dashed}.pid`,
    "-S",
    `${RUN_DIR}/brick.socket`,
    "--brick-name",
    brick.brickPath,
    "-l",
    "-",
    "--xlator-option",
    `*-posix.glusterd-uuid=${brick.nodeId}`,
    "--process-name",
    "brick",
    "--brick-port",
    String(BRICK_PORT),
    "--xlator-option",
    `${brick.pool}-server.listen-port=${BRICK_PORT}`,
    "-f",
    volfile,
  ];
}

/** The self-heal daemon's command line as upstream's shd.py builds it. */
export function selfHealArgs(config: ServerConfig, volfile: string): string[] {
  return [
    "-N",
    "--volfile-id",
    "gluster/glustershd",
    "-p",
    `${RUN_DIR}/glustershd.pid`,
    "-S",
    SHD_SOCKET,
    "-l",
    "-",
    "--xlator-option",
    `*replicate*.node-uuid=${config.brick.nodeId}`,
    "--fs-display-name",
    `kadalu:${config.brick.pool}`,
    "-f",
    volfile,
  ];
}

/** Writes the files whose content changed; returns their names. */
function writeVolfiles(files: Record<string, string>): string[] {
  mkdirSync(VOLFILES_DIR, { recursive: true });
  return Object.entries(files)
    .filter(([name, content]) => {
      const path = join(VOLFILES_DIR, name);
      if (existsSync(path) && readFileSync(path, "utf8") === content) return false;
      // Whole files only: a brick answering a mount reads the client volfile at any moment.
      writeFileSync(`${path}.tmp`, content);
      renameSync(`${path}.tmp`, path);
      return true;
    })
    .map(([name]) => name);
}

/** METRICS_PORT (upstream's server exporter port by default); 0 serves no metrics. */
export function metricsPortOf(env: NodeJS.ProcessEnv): number {
  const text = env.METRICS_PORT ?? String(SERVER_METRICS_PORT);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`METRICS_PORT "${text}" must be a port number (0 for no metrics)`);
  return port;
}

export async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const config = configFromEnv(env, env.KADALU_INFO_DIR || INFO_DIR);
  const { brick } = config;
  const metricsPort = metricsPortOf(env);
  const readInfo = (): string => readFileSync(config.infoFile, "utf8");
  let infoText = readInfo();
  const info = parsePoolInfo(config, infoText);
  let volfiles = poolVolfiles(info, brick);
  mkdirSync(RUN_DIR, { recursive: true });
  if (config.device) mountBrickDevice(config.device, brick.brickPath, log);
  prepareBrickDir(brick.brickPath, brick.pool, brick.volumeId);
  writeVolfiles(volfiles.files);
  log(`kadalu-server: pool ${brick.pool} brick ${brick.brickIndex} ${brick.nodeName}:${brick.brickPath} on port ${BRICK_PORT}`);

  const processes: Supervised[] = [];
  const namespaceHeal = new NamespaceHeal(brick.brickPath, log);
  const brickLog = (line: string): void => {
    log(line);
    namespaceHeal.line(line);
  };
  const glusterfsd = new Supervised("glusterfsd", "glusterfsd", brickArgs(config, join(VOLFILES_DIR, volfiles.brickVolfile)), brickLog);
  processes.push(glusterfsd);
  let shd: Supervised | undefined;
  if (config.selfHeal && volfiles.shdVolfile) {
    shd = new Supervised("shd", "glusterfs", selfHealArgs(config, join(VOLFILES_DIR, volfiles.shdVolfile)), log);
    processes.push(shd);
  }
  const registry = newRegistry();
  // Upstream's server exporter gave the pod's memory and CPU; the pod's name is its host name (HOSTNAME is the node's).
  processGauges(registry, hostname());
  brickMetrics(registry, {
    pool: brick.pool,
    namespace: info.namespace,
    brick: `${brick.nodeName}:${brick.brickPath}`,
    brickPath: brick.brickPath,
    brickPort: BRICK_PORT,
    glusterfsd,
    ...(shd ? { shd } : {}),
  });
  const metrics = metricsPort === 0 ? undefined : await serveMetrics(registry, metricsPort, log);
  if (metrics) log(`kadalu-server: metrics on port ${metricsPort} at /metrics`);
  for (const supervised of processes) supervised.start();

  const watchMs = Number(env.KADALU_WATCH_MS) || WATCH_MS;
  const watch = setInterval(() => {
    try {
      const text = readInfo();
      if (text === infoText) return;
      infoText = text;
      volfiles = poolVolfiles(parsePoolInfo(config, text), brick);
      const changed = writeVolfiles(volfiles.files);
      if (changed.length === 0) return;
      log(`kadalu-server: kadalu-info changed; volfiles written again: ${changed.join(", ")}`);
      if (changed.includes(volfiles.brickVolfile)) glusterfsd.reload();
      if (shd && volfiles.shdVolfile && changed.includes(volfiles.shdVolfile)) shd.reload();
    } catch (error) {
      log(`kadalu-server: kadalu-info not applied: ${(error as Error).message}`);
    }
  }, watchMs);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`kadalu-server: ${signal}: stopping`);
      clearInterval(watch);
      namespaceHeal.stop();
      void Promise.all([closeServer(metrics), ...processes.map((supervised) => supervised.stop())]).then(() => resolve());
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
