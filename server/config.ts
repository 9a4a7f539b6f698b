/**
 * What a brick pod is told, as our operator's StatefulSet tells it (operator/objects.ts): its pool and
 * brick identity in the environment, the pool's kadalu-info entry in /var/lib/gluster/POOL.info.
 * Everything is validated before it becomes a path or an argument of glusterfsd.
 */
import { hostname } from "node:os";
import { decodeInfo, isExternal, type NativePoolInfo } from "../src/core/info/codec.js";
import { dns1123LabelError, dns1123SubdomainError } from "../src/core/naming.js";
import type { BrickIdentity } from "./pool-volfiles.js";

export const INFO_DIR = "/var/lib/gluster";

export interface ServerConfig {
  brick: BrickIdentity;
  /** The device to format (xfs) and mount below the brick path; "" for a directory brick. */
  device: string;
  /** The self-heal daemon runs (SHD_REQUIRED=1, set by the operator for replicated and dispersed pools). */
  selfHeal: boolean;
  verbose: boolean;
  infoFile: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A brick path becomes a volfile's xlator name and option values: no spaces, no `..`, absolute.
const SAFE_PATH = /^(\/[A-Za-z0-9._-]+)+$/;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function configFromEnv(env: NodeJS.ProcessEnv, infoDir = INFO_DIR): ServerConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set: the brick pod's environment comes from the operator's StatefulSet`);
    return value;
  };
  const pool = need("VOLUME");
  const poolProblem = dns1123LabelError(pool);
  if (poolProblem) throw new Error(`VOLUME "${pool}" ${poolProblem}`);
  const volumeId = need("VOLUME_ID");
  if (!UUID.test(volumeId)) throw new Error(`VOLUME_ID "${volumeId}" must be a UUID`);
  const brickPath = need("BRICK_PATH");
  if (!SAFE_PATH.test(brickPath) || brickPath.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`BRICK_PATH "${brickPath}" must be an absolute path of letters, digits, '.', '_' and '-' without . or .. parts`);
  }
  const brickIndex = Number(env.BRICK_INDEX ?? "0");
  if (!Number.isInteger(brickIndex) || brickIndex < 0) throw new Error(`BRICK_INDEX "${env.BRICK_INDEX}" must be a whole number`);
  const nodeId = need("NODEID");
  if (!SAFE_ID.test(nodeId)) throw new Error(`NODEID "${nodeId}" must be letters, digits, '.', '_' and '-'`);
  const nodeName = env.HOSTNAME || hostname();
  const nodeProblem = dns1123SubdomainError(nodeName);
  if (nodeProblem) throw new Error(`HOSTNAME "${nodeName}" ${nodeProblem}`);
  const device = env.BRICK_DEVICE ?? "";
  if (device && !SAFE_PATH.test(device) && !/^[A-Za-z0-9._-]+$/.test(device)) throw new Error(`BRICK_DEVICE "${device}" must be a device path`);
  return {
    brick: { pool, volumeId, brickPath, brickIndex, nodeId, nodeName },
    device,
    selfHeal: env.SHD_REQUIRED === "1",
    verbose: env.VERBOSE === "yes",
    infoFile: `${infoDir}/${pool}.info`,
  };
}

/** The pool's kadalu-info entry, checked to be this brick's pool. */
export function parsePoolInfo(config: ServerConfig, text: string): NativePoolInfo {
  const { info, problems } = decodeInfo(config.brick.pool, text);
  if (!info) throw new Error(`${config.infoFile}: ${problems.map((problem) => `${problem.key} ${problem.message}`).join("; ")}`);
  if (isExternal(info)) throw new Error(`${config.infoFile}: pool ${info.volname} is External: it has no bricks to serve`);
  if (info.volume_id !== config.brick.volumeId) {
    throw new Error(`${config.infoFile}: pool ${info.volname} has volume id ${info.volume_id}, this pod was started with VOLUME_ID ${config.brick.volumeId}`);
  }
  return info;
}
