/**
 * What goes into each image: Debian packages (with everything they depend on), the files of this
 * repository's build, and how the image starts. The one recipe of each image: `npm run images` builds
 * from it, and nothing else describes the images.
 */

export interface ImageFile {
  /** Relative to the repository. */
  from: string;
  /** Absolute, inside the image. */
  to: string;
}

export interface Recipe {
  name: "kadalu-operator" | "kadalu-csi" | "kadalu-server";
  description: string;
  /** Debian trixie packages; their hard dependencies come along. */
  packages: string[];
  files: ImageFile[];
  /** Paths (inside the image) that the packages bring and this image never uses. */
  prune: string[];
  entrypoint: string[];
  user: string;
  env: Record<string, string>;
  /** Symbolic links made in the image (path: target), as the packages' scripts or other packages would. */
  links?: Record<string, string>;
  /** Directories made in the image. */
  dirs?: string[];
}

export const DEBIAN_SUITE = "trixie";
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";
export const APP_DIR = "/kadalu";

/** Node's own files and glibc's character-set converters: no program of ours reads them. */
const NODE_PRUNE = ["/usr/share/nodejs/corepack", "/usr/bin/corepack", "/usr/lib/x86_64-linux-gnu/gconv"];

const app = (...paths: string[]): ImageFile[] => paths.map((path) => ({ from: path, to: `${APP_DIR}/${path}` }));

export const RECIPES: Recipe[] = [
  {
    name: "kadalu-operator",
    description: "The Kadalu operator: KadaluStorage pools become brick StatefulSets, kadalu-info, StorageClasses and status",
    packages: ["nodejs"],
    files: app("bin/kadalu-operator", "dist/operator.cjs", "LICENSE"),
    prune: NODE_PRUNE,
    entrypoint: ["/usr/bin/node", `${APP_DIR}/bin/kadalu-operator`],
    // The operator only talks to the API server: no root, no file of its own to write.
    user: "65532:65532",
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NODE_ENV: "production" },
  },
  {
    name: "kadalu-csi",
    description: "The Kadalu CSI driver (provisioner and node plugin): subdirectory PVs on GlusterFS pools",
    // glusterfs-client mounts pools; mount (util-linux) binds PVs; xfsprogs and e2fsprogs for block PVs;
    // tar serves stat.db to `kubectl kadalu storage-list --status`.
    packages: ["nodejs", "glusterfs-client", "mount", "util-linux", "xfsprogs", "e2fsprogs", "tar"],
    files: [
      ...app("bin/kadalu-csi", "dist/csi.cjs", "dist/stat-db-worker.cjs", "dist/csi.proto", "LICENSE"),
      // The native modules, built for the image's Node (the same ABI as the build's: checked in the image).
      ...app(
        "node_modules/better-sqlite3/package.json",
        "node_modules/better-sqlite3/lib",
        "node_modules/better-sqlite3/build/Release/better_sqlite3.node",
        "node_modules/bindings",
        "node_modules/file-uri-to-path",
        "node_modules/@napi-rs/xattr",
        "node_modules/@napi-rs/xattr-linux-x64-gnu",
      ),
    ],
    prune: NODE_PRUNE,
    entrypoint: ["/usr/bin/node", `${APP_DIR}/bin/kadalu-csi`],
    // Mounting needs root (the pod is privileged, as upstream's is).
    user: "0:0",
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NODE_ENV: "production" },
  },
  {
    name: "kadalu-server",
    description: "The Kadalu brick server: GlusterFS 11.1 bricks (simple-quota enforces PV sizes) and their self-heal daemon",
    // glusterfs-common holds glusterfsd and every translator (simple-quota included); attr sets the brick's
    // volume id; xfsprogs and mount format and mount device bricks. dash, coreutils and grep run the sampling
    // script `kubectl kadalu top` execs in server pods (src/core/top/proc.ts), as in upstream's image.
    packages: ["nodejs", "glusterfs-common", "attr", "xfsprogs", "mount", "dash", "coreutils", "grep"],
    // heal-info.sh at upstream's path: `kubectl kadalu healinfo` and the upgrade's heal checks run it.
    // @napi-rs/xattr: /metrics reads simple-quota's usage of each PV from the brick without a child process.
    files: [
      ...app("bin/kadalu-server", "dist/server.cjs", "LICENSE", "node_modules/@napi-rs/xattr", "node_modules/@napi-rs/xattr-linux-x64-gnu"),
      { from: "images/files/heal-info.sh", to: `${APP_DIR}/heal-info.sh` },
    ],
    // A brick never runs Python (geo-replication, gluster-eventsapi) nor the geo-replication helpers.
    prune: [
      ...NODE_PRUNE,
      "/usr/lib/python3.13",
      "/usr/lib/python3",
      "/usr/bin/python3.13",
      "/usr/bin/python3",
      "/usr/libexec/glusterfs",
      "/usr/share/zoneinfo/right",
    ],
    // glusterfs-client's link: the self-heal daemon is glusterfsd started as `glusterfs`.
    links: { "/usr/sbin/glusterfs": "glusterfsd" },
    // glusterfsd exits at once ("pidfile open failed") without /run/gluster.
    dirs: ["/run/gluster", "/var/lib/kadalu/volfiles", "/var/log/glusterfs"],
    entrypoint: ["/usr/bin/node", `${APP_DIR}/bin/kadalu-server`],
    // glusterfsd sets trusted.* attributes and mounts device bricks (the pod is privileged, as upstream's is).
    user: "0:0",
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NODE_ENV: "production" },
  },
];

/** npm packages whose files an image carries (for its SBOM): the bundles' sources and the native modules. */
export function npmPackagesOf(recipe: Recipe): string[] {
  const names = new Set<string>();
  for (const file of recipe.files) {
    const match = file.from.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}
