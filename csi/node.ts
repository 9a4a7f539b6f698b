/** Node service: mount the pool if needed and bind the PV's directory at the target kubelet gives. */
import { existsSync, lstatSync, statfsSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import type { ExternalPoolInfo, PoolInfo } from "../src/core/info/codec.js";
import { growOnNode, isBlockTarget, publishDevice, publishFilesystem, rawDeviceBytes, unpublishBlock, type Serialize } from "./os/block.js";
import type { Driver, ServiceHandlers } from "./driver.js";
import { grpcError, Status } from "./rpc/grpc-error.js";
import { externalClientProblems } from "../src/core/pool/gluster-client.js";

const READ_ONLY_MODES = ["SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY"];

function required<T>(value: T | undefined | null | "", field: string): T {
  if (value === undefined || value === null || value === "") throw grpcError(Status.INVALID_ARGUMENT, `${field} missing in request`);
  return value;
}

function absolute(path: string, field: string): string {
  if (!isAbsolute(path) || path.includes("\0")) throw grpcError(Status.INVALID_ARGUMENT, `${field} must be an absolute path`);
  return path;
}

/**
 * The pool a volume context names: from kadalu-info, or (External pools) from the context itself. A pool
 * the mounted kadalu-info does not name yet is read through the API: the kubelet refreshes that volume
 * only every minute or two, and the first pod of a new pool would wait that long with FailedMount.
 */
async function poolFromContext(driver: Driver, context: Record<string, string>): Promise<PoolInfo> {
  const name = required(context.hostvol, "volume_context.hostvol");
  if (context.type !== "External" && !driver.pool(name)) await driver.refreshPools();
  const known = driver.pool(name);
  if (known) return known;
  if (context.type === "External" && context.gvolname && context.gserver) {
    // The context comes from a PV object anyone with PV write access can shape: the same rules as storage-add.
    const problems = externalClientProblems(context.gserver, context.gvolname, context.options ?? "");
    if (problems.length > 0) throw grpcError(Status.INVALID_ARGUMENT, `volume_context of External pool ${name}: ${problems.join("; ")}`);
    const external: ExternalPoolInfo = {
      volname: name,
      volume_id: "",
      type: "External",
      pvReclaimPolicy: "delete",
      single_pv_per_pool: context.single_pv_per_pool === "True",
      gluster_hosts: context.gserver,
      gluster_volname: context.gvolname,
      gluster_options: context.options ?? "",
    };
    return external;
  }
  throw grpcError(Status.NOT_FOUND, `pool ${name} is not known on this node (no ${name}.info in ${driver.config.infoDir})`);
}

/**
 * A publish target must lie under the kubelet's pods/ directory (where kubelet asks for volumes), and
 * hold nothing but an empty directory: an existing file there is refused, never replaced.
 */
function podsTarget(driver: Driver, target: string): string {
  const pods = `${driver.config.kubeletDir}/pods/`;
  const normal = resolve(target);
  if (!normal.startsWith(pods)) throw grpcError(Status.INVALID_ARGUMENT, `target_path ${target} is not under the kubelet's pods directory ${pods}`);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(normal);
  } catch (error) {
    // Nothing there yet, or a bind whose FUSE client died (the mounter replaces it).
    if (["ENOENT", "ENOTCONN"].includes((error as NodeJS.ErrnoException).code ?? "")) return normal;
    throw error;
  }
  if (!stat.isDirectory() && !stat.isSymbolicLink())
    throw grpcError(Status.INVALID_ARGUMENT, `target_path ${target} exists and is not a directory; it is left as it is`);
  return normal;
}

/**
 * A raw block target is a file kubelet names under its volumeDevices directory (or pods/): nothing
 * there yet, or an empty regular file; anything else is refused, never replaced.
 */
function deviceTarget(driver: Driver, target: string): string {
  const normal = resolve(target);
  const allowed = [`${driver.config.kubeletDir}/plugins/kubernetes.io/csi/volumeDevices/`, `${driver.config.kubeletDir}/pods/`];
  if (!allowed.some((dir) => normal.startsWith(dir)))
    throw grpcError(Status.INVALID_ARGUMENT, `target_path ${target} is not under the kubelet's ${allowed.join(" or ")}`);
  if (isBlockTarget(normal)) return normal;
  try {
    const stat = lstatSync(normal);
    if (!stat.isFile() || stat.size > 0) throw grpcError(Status.INVALID_ARGUMENT, `target_path ${target} exists and is not an empty file; it is left as it is`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return normal;
}

/** Whether something is at `path`; a dead FUSE mount (ENOTCONN) is something. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return !["ENOENT", "ENOTDIR"].includes((error as NodeJS.ErrnoException).code ?? "");
  }
}

/**
 * The path a node call names, which must be where this driver published the volume: anything else (a
 * relative path, a path that does not exist, any other host path) is NOT_FOUND, as the spec asks.
 */
async function published(driver: Driver, volumeId: string, path: string): Promise<string> {
  if (!isAbsolute(path) || path.includes("\0") || !exists(path)) throw grpcError(Status.NOT_FOUND, `volume ${volumeId} is not found at ${path}`);
  if (!isBlockTarget(path) && !(await driver.mounter.isBound(path))) throw grpcError(Status.NOT_FOUND, `volume ${volumeId} is not published at ${path}`);
  return path;
}

export function nodeService(driver: Driver): ServiceHandlers {
  const locks: Serialize = (key, work) => driver.volumeLocks.run(key, work);
  return {
    NodePublishVolume: async (request: {
      volume_id?: string;
      target_path?: string;
      volume_capability?: { block?: object; access_mode?: { mode?: string } } | null;
      readonly?: boolean;
      volume_context?: Record<string, string>;
    }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const capability = required(request.volume_capability, "volume_capability");
      const context = request.volume_context ?? {};
      const pvtype = context.pvtype ?? "subvol";
      if (Boolean(capability.block) !== (pvtype === "rawblock")) {
        throw grpcError(
          Status.INVALID_ARGUMENT,
          capability.block
            ? `volume ${volumeId} is a ${pvtype} PV: it has a filesystem, not a raw block device (volumeMode Filesystem)`
            : `volume ${volumeId} is a rawblock PV: it is a raw block device (volumeMode Block)`,
        );
      }
      const targetPath = absolute(required(request.target_path, "target_path"), "target_path");
      const target = pvtype === "rawblock" ? deviceTarget(driver, targetPath) : podsTarget(driver, targetPath);
      if (Object.keys(context).length === 0) throw grpcError(Status.INVALID_ARGUMENT, "volume_context missing in request");
      const pool = await poolFromContext(driver, context);
      // Without a path only a single-PV pool's volume is the whole pool; otherwise it would publish the
      // pool root, stat.db and every PV with it.
      if (!context.path && context.single_pv_per_pool !== "True")
        throw grpcError(Status.INVALID_ARGUMENT, "volume_context.path missing: only a single-PV pool's volume is the whole pool");
      // A PV lives under its type's tree: a context (from a PV object) naming stat.db or another tree is refused.
      if (context.path && !resolve("/", context.path).startsWith(`/${pvtype}/`))
        throw grpcError(Status.INVALID_ARGUMENT, `volume path ${context.path} is not under ${pvtype}/ in pool ${pool.volname}`);
      const store = await driver.store(pool);
      const source = resolve(store.root, context.path ?? "");
      if (source !== store.root && !source.startsWith(store.root + sep))
        throw grpcError(Status.INVALID_ARGUMENT, `volume path ${context.path} leaves pool ${pool.volname}`);
      if (!existsSync(source)) throw grpcError(Status.NOT_FOUND, `volume ${volumeId} not found in pool ${pool.volname}`);
      const readonly = Boolean(request.readonly) || READ_ONLY_MODES.includes(capability.access_mode?.mode ?? "");
      const publish =
        pvtype === "rawblock"
          ? () => publishDevice(source, target, readonly, locks)
          : pvtype === "virtblock"
            ? () => publishFilesystem(source, target, readonly)
            : () => driver.mounter.bind(source, target, readonly);
      await driver.volumeLocks.run(`target:${target}`, publish);
      return {};
    },

    NodeUnpublishVolume: async (request: { volume_id?: string; target_path?: string }) => {
      required(request.volume_id, "volume_id");
      const target = absolute(required(request.target_path, "target_path"), "target_path");
      await driver.volumeLocks.run(`target:${target}`, () => (isBlockTarget(target) ? unpublishBlock(target, locks) : driver.mounter.unbind(target)));
      return {};
    },

    NodeGetVolumeStats: async (request: { volume_id?: string; volume_path?: string }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const path = await published(driver, volumeId, required(request.volume_path, "volume_path"));
      const deviceBytes = rawDeviceBytes(path);
      if (deviceBytes !== undefined) return { usage: [{ unit: "BYTES", total: deviceBytes }], volume_condition: { abnormal: false, message: "" } };
      let fs: ReturnType<typeof statfsSync>;
      try {
        fs = statfsSync(path);
      } catch (error) {
        // A FUSE mount whose client died answers ENOTCONN: the volume is there but abnormal.
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        return { usage: [], volume_condition: { abnormal: true, message: `${path}: ${code} (${(error as Error).message})` } };
      }
      return {
        usage: [
          { unit: "BYTES", total: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize },
          { unit: "INODES", total: fs.files, available: fs.ffree, used: fs.files - fs.ffree },
        ],
        volume_condition: { abnormal: false, message: "" },
      };
    },

    NodeExpandVolume: async (request: { volume_id?: string; volume_path?: string; capacity_range?: { required_bytes?: number } | null }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const path = await published(driver, volumeId, required(request.volume_path, "volume_path"));
      // A directory's quota lives on the pool and was raised by the controller; a block PV's file grew there
      // too, and here its loop device (and a virtblock's XFS) grow into it.
      if (isBlockTarget(path)) await driver.volumeLocks.run(`target:${path}`, () => growOnNode(path, Number(request.capacity_range?.required_bytes ?? 0)));
      return { capacity_bytes: Number(request.capacity_range?.required_bytes ?? 0) };
    },

    NodeGetCapabilities: async () => ({
      capabilities: ["GET_VOLUME_STATS", "EXPAND_VOLUME", "VOLUME_CONDITION", "SINGLE_NODE_MULTI_WRITER"].map((type) => ({ rpc: { type } })),
    }),

    NodeGetInfo: async () => ({ node_id: driver.config.nodeId, max_volumes_per_node: 0 }),
  };
}
