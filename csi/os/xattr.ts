/**
 * Upstream's simple-quota xattrs on a PV directory, set through a native binding (@napi-rs/xattr, which
 * ships prebuilt binaries in its npm packages): no child process on the create path. A filesystem or
 * process that cannot take them (no xattr support, not root for trusted.*) is logged, not fatal.
 */
import { getAttribute, setAttribute } from "@napi-rs/xattr";

export const QUOTA_NAMESPACE = "trusted.glusterfs.namespace";
export const QUOTA_LIMIT = "trusted.gfs.squota.limit";
/** Gluster's virtual xattr naming the bricks that answered: `<POSIX(/brick/path):host:/brick/path/>` each. */
export const PATHINFO = "trusted.glusterfs.pathinfo";

/**
 * How many bricks a Gluster mount reaches now: replicate and distribute ask every brick they are
 * connected to for the pathinfo and list those that answered. Undefined when the mount cannot tell
 * (not a Gluster mount, or no brick answers at all).
 */
export async function bricksReached(root: string): Promise<number | undefined> {
  try {
    const value = await getAttribute(root, PATHINFO);
    return value ? value.toString("utf8").split("<POSIX(").length - 1 : undefined;
  } catch {
    return undefined;
  }
}

export async function setQuota(path: string, sizeBytes: number, log: (message: string) => void): Promise<boolean> {
  try {
    // In this order: simple-quota refuses a limit (EPERM) on a directory that is not yet a namespace.
    await setAttribute(path, QUOTA_NAMESPACE, "true");
    await setAttribute(path, QUOTA_LIMIT, String(sizeBytes));
    return true;
  } catch (error) {
    log(`quota xattrs not set on ${path}: ${(error as Error).message.split("\n")[0]}`);
    return false;
  }
}
