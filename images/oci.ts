/**
 * OCI image archives (`oci-archive:` for skopeo and podman) from directory trees, reproducibly: layers
 * are tarred by GNU tar in name order with every time set to SOURCE_DATE_EPOCH and numeric root
 * ownership, gzipped without a name or time, and every JSON document is written with sorted keys.
 * The same trees and epoch give the same bytes, so the same digest.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

export interface ImageConfig {
  entrypoint: string[];
  user: string;
  env: Record<string, string>;
  workingDir: string;
  labels: Record<string, string>;
}

export interface Layer {
  /** The directory whose contents become the layer (its paths relative to it). */
  dir: string;
  /** Paths under `dir` left out. */
  exclude?: string[];
  comment: string;
}

export interface BuiltImage {
  archive: string;
  /** The manifest's digest: what a registry reports for the pushed image. */
  digest: string;
  /** Uncompressed size of all layers. */
  size: number;
  layers: { digest: string; diffId: string; size: number; uncompressed: number }[];
}

const sha256 = (data: Buffer | string): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** JSON with keys in order at every level: the same document is always the same bytes. */
export function canonicalJson(value: unknown): string {
  const sort = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sort);
    if (item && typeof item === "object")
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((key) => [key, sort((item as Record<string, unknown>)[key])]),
      );
    return item;
  };
  return JSON.stringify(sort(value));
}

function tarDirectory(dir: string, epoch: number, exclude: string[] = []): Buffer {
  return execFileSync(
    "tar",
    [
      "--create",
      "--file=-",
      "--directory",
      dir,
      "--sort=name",
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      `--mtime=@${epoch}`,
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--no-acls",
      "--no-selinux",
      "--xattrs",
      ...exclude.map((path) => `--exclude=./${path}`),
      ".",
    ],
    { maxBuffer: 2 * 1024 ** 3 },
  );
}

/** Writes `<name>.oci.tar` into `outDir`: the layers in order, the config, the manifest, the index. */
export function writeImage(outDir: string, name: string, tag: string, layers: Layer[], config: ImageConfig, epoch: number): BuiltImage {
  const created = new Date(epoch * 1000).toISOString();
  const layout = mkdtempSync(join(tmpdir(), "kadalu-oci-"));
  try {
    const blobs = join(layout, "blobs", "sha256");
    mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer | string): { digest: string; size: number } => {
      const digest = sha256(data);
      writeFileSync(join(blobs, digest.slice("sha256:".length)), data);
      return { digest, size: Buffer.byteLength(data) };
    };
    const built = layers.map((layer) => {
      const tar = tarDirectory(layer.dir, epoch, layer.exclude);
      // Node's gzip header carries no name and a zero time: the bytes depend on the input only.
      const { digest, size } = blob(gzipSync(tar, { level: 9 }));
      return { digest, size, diffId: sha256(tar), uncompressed: tar.length };
    });
    const configJson = canonicalJson({
      architecture: "amd64",
      os: "linux",
      created,
      config: {
        Entrypoint: config.entrypoint,
        Env: Object.entries(config.env).map(([key, value]) => `${key}=${value}`),
        User: config.user,
        WorkingDir: config.workingDir,
        Labels: config.labels,
      },
      rootfs: { type: "layers", diff_ids: built.map((layer) => layer.diffId) },
      history: layers.map((layer) => ({ created, created_by: "npm run images", comment: layer.comment })),
    });
    const configBlob = blob(configJson);
    const manifest = canonicalJson({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configBlob.digest, size: configBlob.size },
      layers: built.map((layer) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer.digest, size: layer.size })),
      annotations: { "org.opencontainers.image.created": created, "org.opencontainers.image.title": name, "org.opencontainers.image.version": tag },
    });
    const manifestBlob = blob(manifest);
    writeFileSync(join(layout, "oci-layout"), canonicalJson({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(layout, "index.json"),
      canonicalJson({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: manifestBlob.digest,
            size: manifestBlob.size,
            annotations: { "org.opencontainers.image.ref.name": tag },
          },
        ],
      }),
    );
    const archive = join(outDir, `${name}.oci.tar`);
    utimesSync(layout, epoch, epoch);
    writeFileSync(archive, tarDirectory(layout, epoch));
    return { archive, digest: manifestBlob.digest, size: built.reduce((sum, layer) => sum + layer.uncompressed, 0), layers: built };
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

export interface UnpackedImage {
  root: string;
  config: ImageConfig;
  digest: string;
}

/** The root filesystem of an image archive, unpacked from its own layers into `root`, and its config. */
export function unpackImage(archive: string, root: string): UnpackedImage {
  const layout = mkdtempSync(join(tmpdir(), "kadalu-oci-read-"));
  try {
    execFileSync("tar", ["--extract", "--file", archive, "--directory", layout]);
    const read = (digest: string): Buffer => readFileSync(join(layout, "blobs", "sha256", digest.slice("sha256:".length)));
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    const digest: string = index.manifests[0].digest;
    const manifest = JSON.parse(read(digest).toString("utf8"));
    const config = JSON.parse(read(manifest.config.digest).toString("utf8")).config;
    mkdirSync(root, { recursive: true });
    for (const layer of manifest.layers) {
      execFileSync("tar", ["--extract", "--file=-", "--directory", root, "--numeric-owner", "--same-permissions", "--xattrs"], {
        input: gunzipSync(read(layer.digest)),
        maxBuffer: 2 * 1024 ** 3,
      });
    }
    const env = Object.fromEntries((config.Env as string[]).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
    return { root, digest, config: { entrypoint: config.Entrypoint, user: config.User, env, workingDir: config.WorkingDir, labels: config.Labels ?? {} } };
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}
