/**
 * Node service: mount the pool if needed, stage the PV once per node (a directory PV's directory bound, a
 * virtblock's filesystem mounted, at the staging path kubelet gives), and bind it from there at each pod's
 * target. A rawblock PV stages nothing: its file's one loop device per node is shared by its targets.
 */
import { existsSync, lstatSync, statfsSync, statSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import type { ExternalPoolInfo, PoolInfo } from "../src/core/info/codec.js";
import {
  bindStaged,
  growOnNode,
  holdsFile,
  isBlockTarget,
  publishDevice,
  publishFilesystem,
  rawDeviceBytes,
  stageFilesystem,
  unpublishBlock,
  unstageFilesystem,
  type Serialize,
} from "./os/block.js";
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
 * A directory kubelet names under `under` (a publish target under pods/, a staging path under the CSI
 * plugins directory): nothing there yet, or a directory; an existing file there is refused, never replaced.
 */
function directoryUnder(path: string, field: string, under: string, what: string): string {
  const normal = resolve(path);
  if (!normal.startsWith(under)) throw grpcError(Status.INVALID_ARGUMENT, `${field} ${path} is not under the kubelet's ${what} ${under}`);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(normal);
  } catch (error) {
    // Nothing there yet, or a bind whose FUSE client died (the mounter replaces it).
    if (["ENOENT", "ENOTCONN"].includes((error as NodeJS.ErrnoException).code ?? "")) return normal;
    throw error;
  }
  if (!stat.isDirectory() && !stat.isSymbolicLink())
    throw grpcError(Status.INVALID_ARGUMENT, `${field} ${path} exists and is not a directory; it is left as it is`);
  return normal;
}

const podsTarget = (driver: Driver, target: string): string => directoryUnder(target, "target_path", `${driver.config.kubeletDir}/pods/`, "pods directory");

/** Kubelet stages under its CSI plugins directory, the one the nodeplugin mounts with Bidirectional propagation. */
const csiPluginsDir = (driver: Driver): string => `${driver.config.kubeletDir}/plugins/kubernetes.io/csi/`;

function stagingPath(driver: Driver, path: string | undefined): string {
  const absolutePath = absolute(required(path, "staging_target_path"), "staging_target_path");
  return directoryUnder(absolutePath, "staging_target_path", csiPluginsDir(driver), "CSI plugins directory");
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

type Capability = { block?: object; access_mode?: { mode?: string } } | null;

/** The PV's type from its context, which must fit the capability asked (a rawblock PV is a device, the others filesystems). */
function pvTypeFor(volumeId: string, capability: NonNullable<Capability>, context: Record<string, string>): string {
  const pvtype = context.pvtype ?? "subvol";
  if (Boolean(capability.block) !== (pvtype === "rawblock")) {
    throw grpcError(
      Status.INVALID_ARGUMENT,
      capability.block
        ? `volume ${volumeId} is a ${pvtype} PV: it has a filesystem, not a raw block device (volumeMode Filesystem)`
        : `volume ${volumeId} is a rawblock PV: it is a raw block device (volumeMode Block)`,
    );
  }
  return pvtype;
}

/** The PV's directory or file in its pool's mount (mounting the pool first), checked as publish and stage both need. */
async function volumeSource(driver: Driver, volumeId: string, pvtype: string, context: Record<string, string>): Promise<string> {
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
  return source;
}

/** Whether `a` and `b` are one directory (a staging bind, or the mounter's symbolic link, and the PV it shows). */
function sameDirectory(a: string, b: string): boolean {
  try {
    const [one, two] = [statSync(a, { bigint: true }), statSync(b, { bigint: true })];
    return one.dev === two.dev && one.ino === two.ino;
  } catch {
    return false;
  }
}

/**
 * Stages a PV at `staging` (the caller holds its lock); staging it again is a no-op, and another PV there is
 * ALREADY_EXISTS. A directory PV's bind whose FUSE client died is replaced by the mounter.
 */
async function stage(driver: Driver, volumeId: string, pvtype: string, source: string, staging: string, readonly: boolean): Promise<void> {
  const taken = (): never => {
    throw grpcError(Status.ALREADY_EXISTS, `another volume than ${volumeId} is staged at ${staging}`);
  };
  if (pvtype === "rawblock") {
    if (!statSync(source).isFile()) throw grpcError(Status.NOT_FOUND, `volume ${volumeId}: ${source} is not a block PV's file`);
    return;
  }
  if (pvtype === "virtblock") {
    if (!isBlockTarget(staging)) {
      if (await driver.mounter.isBound(staging)) taken();
      await stageFilesystem(source, staging, readonly);
    } else if (!(await holdsFile(staging, source))) taken();
    return;
  }
  if (isBlockTarget(staging) || ((await driver.mounter.isBound(staging)) && driver.mounter.alive(staging) && !sameDirectory(staging, source))) taken();
  await driver.mounter.bind(source, staging, false);
}

export function nodeService(driver: Driver): ServiceHandlers {
  const locks: Serialize = (key, work) => driver.volumeLocks.run(key, work);
  return {
    NodeStageVolume: async (request: {
      volume_id?: string;
      staging_target_path?: string;
      volume_capability?: Capability;
      volume_context?: Record<string, string>;
    }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const staging = stagingPath(driver, request.staging_target_path);
      const capability = required(request.volume_capability, "volume_capability");
      const context = request.volume_context ?? {};
      const pvtype = pvTypeFor(volumeId, capability, context);
      const source = await volumeSource(driver, volumeId, pvtype, context);
      const readonly = READ_ONLY_MODES.includes(capability.access_mode?.mode ?? "");
      await driver.volumeLocks.run(`staging:${staging}`, () => stage(driver, volumeId, pvtype, source, staging, readonly));
      return {};
    },

    NodeUnstageVolume: async (request: { volume_id?: string; staging_target_path?: string }) => {
      required(request.volume_id, "volume_id");
      const staging = stagingPath(driver, request.staging_target_path);
      // Nothing staged there (a rawblock PV, or a volume published before this driver staged) is done already.
      // A virtblock's loop device goes with its filesystem's last mount (autoclear); the directory is kubelet's.
      await driver.volumeLocks.run(`staging:${staging}`, () => (isBlockTarget(staging) ? unstageFilesystem(staging) : driver.mounter.unmount(staging)));
      return {};
    },

    NodePublishVolume: async (request: {
      volume_id?: string;
      target_path?: string;
      staging_target_path?: string;
      volume_capability?: Capability;
      readonly?: boolean;
      volume_context?: Record<string, string>;
    }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const capability = required(request.volume_capability, "volume_capability");
      const context = request.volume_context ?? {};
      const pvtype = pvTypeFor(volumeId, capability, context);
      const targetPath = absolute(required(request.target_path, "target_path"), "target_path");
      const target = pvtype === "rawblock" ? deviceTarget(driver, targetPath) : podsTarget(driver, targetPath);
      const staging = request.staging_target_path ? stagingPath(driver, request.staging_target_path) : undefined;
      const source = await volumeSource(driver, volumeId, pvtype, context);
      const readonly = Boolean(request.readonly) || READ_ONLY_MODES.includes(capability.access_mode?.mode ?? "");
      let publish: () => Promise<void>;
      if (pvtype === "rawblock") publish = () => publishDevice(source, target, readonly, locks);
      else if (!staging)
        // Without a staging path (a caller that does not stage): straight from the pool, as before staging.
        publish = pvtype === "virtblock" ? () => publishFilesystem(source, target, readonly) : () => driver.mounter.bind(source, target, readonly);
      else {
        // Staged again first if it is not (a bind left dead by the previous nodeplugin): a no-op otherwise.
        const staged = (): Promise<void> =>
          driver.volumeLocks.run(`staging:${staging}`, () =>
            stage(driver, volumeId, pvtype, source, staging, READ_ONLY_MODES.includes(capability.access_mode?.mode ?? "")),
          );
        publish = async () => {
          await staged();
          await (pvtype === "virtblock" ? bindStaged(staging, target, readonly) : driver.mounter.bind(staging, target, readonly));
        };
      }
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

    NodeExpandVolume: async (request: {
      volume_id?: string;
      volume_path?: string;
      staging_target_path?: string;
      capacity_range?: { required_bytes?: number } | null;
    }) => {
      const volumeId = required(request.volume_id, "volume_id");
      const path = await published(driver, volumeId, required(request.volume_path, "volume_path"));
      const staging = request.staging_target_path ? stagingPath(driver, request.staging_target_path) : undefined;
      // A directory's quota lives on the pool and was raised by the controller; a block PV's file grew there
      // too, and here its loop device (and a virtblock's XFS, staged or not) grow into it.
      const block = [path, staging].find((where) => where !== undefined && isBlockTarget(where));
      if (block)
        await driver.volumeLocks.run(block === staging ? `staging:${staging}` : `target:${block}`, () =>
          growOnNode(block, Number(request.capacity_range?.required_bytes ?? 0)),
        );
      return { capacity_bytes: Number(request.capacity_range?.required_bytes ?? 0) };
    },

    NodeGetCapabilities: async () => ({
      capabilities: ["STAGE_UNSTAGE_VOLUME", "GET_VOLUME_STATS", "EXPAND_VOLUME", "VOLUME_CONDITION", "SINGLE_NODE_MULTI_WRITER"].map((type) => ({
        rpc: { type },
      })),
    }),

    NodeGetInfo: async () => ({ node_id: driver.config.nodeId, max_volumes_per_node: 0 }),
  };
}
