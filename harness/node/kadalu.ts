/**
 * Kadalu on a real node: the project's images and the CSI sidecars imported into the node's containerd,
 * `kubectl kadalu install --wait`, an External GlusterFS server the pods reach like a real one (glusterd in
 * the node's network namespace, its bricks on the node's IP), and app pods from the CSI image (it has a shell).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_IMAGES, SIDECARS } from "../../src/core/manifests/options.js";
import { RECIPES } from "../../images/recipes.js";
import { IMAGES_DIR } from "../images/tier.js";
import { binary, k8sBinDir, type GlusterParts } from "../real/components.js";
import { Glusterd } from "../real/gluster.js";
import { kadalu, type CliResult } from "../real/kadalu.js";
import { waitUntil } from "../real/processes.js";
import type { NodeParts } from "./components.js";
import { buildBinaryImage } from "./images.js";
import { startNode, type RealNode } from "./node.js";

/** The tag `npm run images` and the built CLI's install give our images: the package's version. */
const TAG = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version as string;
/** An image of ours with a shell and coreutils, for app pods. */
export const APP_IMAGE = `${PROJECT_IMAGES.registry}/${PROJECT_IMAGES.repository}/kadalu-csi:${TAG}`;

/** Imports the project's images and the sidecars under the names the manifests pin. */
export function importKadaluImages(node: RealNode, parts: NodeParts): void {
  for (const recipe of RECIPES)
    node.importImage(join(IMAGES_DIR, `${recipe.name}.oci.tar`), `${PROJECT_IMAGES.registry}/${PROJECT_IMAGES.repository}/${recipe.name}`);
  // The sidecars under the names the manifests pin (registry.k8s.io/sig-storage/NAME:TAG), from the static builds.
  const binaries: Record<keyof typeof SIDECARS, string> = {
    provisioner: parts.kube.bins["csi-provisioner"],
    resizer: parts.kube.bins["csi-resizer"],
    registrar: parts.registrar,
    snapshotter: binary("csi-snapshotter", k8sBinDir()),
    snapshotController: binary("snapshot-controller", k8sBinDir()),
  };
  for (const [sidecar, reference] of Object.entries(SIDECARS)) {
    const [repository, tag] = reference.split(":") as [string, string];
    const name = repository.split("/").pop()!;
    node.importImage(buildBinaryImage(binaries[sidecar as keyof typeof SIDECARS], name, tag, join(node.dir, "images")), `registry.k8s.io/${repository}`);
  }
}

export function installKadalu(node: RealNode): Promise<CliResult> {
  return kadalu(node.cluster.adminKubeconfig, ["install", "--wait", "--timeout", "4m", "--kubelet-dir", node.kubeletDir]);
}

/**
 * A node with Kadalu installed from the project's images and brick directories made under `<node dir>/bricks`,
 * then `then` (a pool to add, say); the node is stopped again when any of it fails.
 */
export async function startKadaluNode(
  parts: NodeParts,
  brickDirs: string[],
  then?: (node: RealNode, bricks: string) => Promise<void>,
): Promise<{ node: RealNode; bricks: string }> {
  const node = await startNode(parts);
  try {
    importKadaluImages(node, parts);
    const install = await installKadalu(node);
    if (install.code !== 0 || /^error:/m.test(install.stderr)) throw new Error(`install --wait exited ${install.code}: ${install.stderr}`);
    const bricks = join(node.dir, "bricks");
    for (const dir of brickDirs) mkdirSync(join(bricks, dir), { recursive: true });
    await then?.(node, bricks);
    return { node, bricks };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

export interface ExternalServer {
  gluster: Glusterd;
  /** HOST:/VOLUME, as storage-add --external takes it. */
  external: string;
  stop(): Promise<void>;
}

/** A started GlusterFS volume `volume` (one brick) served from the node's network namespace on its IP. */
export async function startExternalServer(node: RealNode, parts: GlusterParts, volume: string): Promise<ExternalServer> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-node-gluster-"));
  let gluster: Glusterd | undefined;
  const stop = async (): Promise<void> => {
    await gluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    gluster = await Glusterd.start(parts, dir, { ownLogs: true, netns: `/run/netns/${node.netns}`, address: node.nodeIp });
    await gluster.createVolume(volume, 1, 1);
    return { gluster, external: `${node.nodeIp}:/${volume}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

type Json = Record<string, unknown>;

/** What every app pod's script may use: `fs`, `cp` (child_process), and `hold()` to keep running. */
const PRELUDE = 'const fs = require("node:fs"); const cp = require("node:child_process"); const hold = () => setInterval(() => {}, 1 << 30);';

/**
 * An app pod of APP_IMAGE running the Node.js `script` (the image has node and util-linux but no shell)
 * with the PVC `claim` at /data (with `propagation`, mounts the kubelet stacks on it later reach the pod),
 * or as the device /dev/xvda with `block`.
 */
export function appPod(name: string, claim: string, script: string, options: { block?: boolean; propagation?: "HostToContainer" } = {}): Json {
  const mount = { name: "data", mountPath: "/data", ...(options.propagation ? { mountPropagation: options.propagation } : {}) };
  const volume = options.block ? { volumeDevices: [{ name: "data", devicePath: "/dev/xvda" }] } : { volumeMounts: [mount] };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      containers: [{ name: "app", image: APP_IMAGE, imagePullPolicy: "Never", command: ["/usr/bin/node", "-e", `${PRELUDE} ${script}`], ...volume }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }],
      terminationGracePeriodSeconds: 1,
    },
  };
}

export function pvc(name: string, storageClass: string, size: string, options: { block?: boolean; mode?: string } = {}): Json {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name },
    spec: {
      storageClassName: storageClass,
      accessModes: [options.mode ?? "ReadWriteMany"],
      resources: { requests: { storage: size } },
      ...(options.block ? { volumeMode: "Block" } : {}),
    },
  };
}

/** Waits for pod `name` in default to run; says its state and events when it does not. */
export async function waitRunning(node: RealNode, name: string, timeoutMs = 120_000): Promise<any> {
  const admin = node.cluster.admin;
  try {
    return await waitUntil(
      `pod ${name} Running`,
      async () => {
        const pod = await admin.get(`/api/v1/namespaces/default/pods/${name}`);
        return pod.status.phase === "Running" ? pod : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (error) {
    const pod = await admin.find(`/api/v1/namespaces/default/pods/${name}`);
    const events = (await admin.get(`/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`)).items.map(
      (event: any) => `${event.reason}: ${event.message}`,
    );
    throw new Error(
      `${(error as Error).message}\nstatus: ${JSON.stringify(pod?.status?.containerStatuses ?? pod?.status?.conditions)}\nevents:\n${events.join("\n")}`,
    );
  }
}

/** The log lines of pod `name` in default. */
export async function podLog(node: RealNode, name: string): Promise<string[]> {
  const text = await node.cluster.admin.get<string>(`/api/v1/namespaces/default/pods/${name}/log`);
  return String(text ?? "")
    .split("\n")
    .filter(Boolean);
}

/** Waits until pod `name`'s log lines satisfy `check`; says its log, container state and events when they do not. */
export async function waitLog<T>(node: RealNode, name: string, what: string, check: (lines: string[]) => T | undefined, timeoutMs = 30_000): Promise<T> {
  try {
    return await waitUntil(what, async () => check(await podLog(node, name)), timeoutMs, 250);
  } catch (error) {
    const admin = node.cluster.admin;
    const log = await podLog(node, name).catch((failed: Error) => [failed.message]);
    const previous = await admin.get<string>(`/api/v1/namespaces/default/pods/${name}/log?previous=true`).catch(() => "");
    const pod = await admin.find(`/api/v1/namespaces/default/pods/${name}`);
    const events = (await admin.get(`/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`)).items.map(
      (event: any) => `${event.reason}: ${event.message}`,
    );
    throw new Error(
      `${(error as Error).message}\nlog: ${log.join("\n")}\nprevious log: ${previous}\nstatus: ${JSON.stringify(pod?.status?.containerStatuses)}\nevents:\n${events.join("\n")}`,
    );
  }
}

export async function deletePod(node: RealNode, name: string): Promise<void> {
  const admin = node.cluster.admin;
  await admin.delete(`/api/v1/namespaces/default/pods/${name}`);
  try {
    await waitUntil(`pod ${name} gone`, async () => (await admin.find(`/api/v1/namespaces/default/pods/${name}`)) === undefined || undefined, 90_000, 250);
  } catch (error) {
    const events = (await admin.get(`/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`)).items.map(
      (event: any) => `${event.reason}: ${event.message}`,
    );
    throw new Error(`${(error as Error).message}\nevents:\n${events.slice(-8).join("\n")}`);
  }
}

/** A pod script writing a line to /data/FILE every 100 ms, logging "TIME ok N" or "TIME CODE" per attempt (a hang shows as a gap). */
export function writerScript(file: string): string {
  return [
    `let n = 0;`,
    `setInterval(() => { try { fs.appendFileSync("/data/${file}", n + "\\n"); console.log(Date.now() + " ok " + n++); } catch (e) { console.log(Date.now() + " " + e.code); } }, 100);`,
  ].join(" ");
}

export interface IoWindow {
  /** The writer's attempts since the moment given, as [time, "ok" or CODE, N]. */
  attempts: string[][];
  failures: string[][];
  /** First failure to the first write that succeeded after the last failure; 0 without failures. */
  windowMs: number;
}

/** The writer's attempts since `since`, once at least 10 writes in a row succeeded after the last failure. */
export function ioWindow(lines: string[], since: number): IoWindow | undefined {
  const attempts = lines.map((line) => line.split(" ")).filter(([time]) => Number(time) >= since);
  const lastFailure = attempts.length - 1 - [...attempts].reverse().findIndex(([, what]) => what !== "ok");
  const oks = lastFailure === attempts.length ? attempts.length : attempts.length - 1 - lastFailure;
  if (oks < 10) return undefined;
  const failures = attempts.filter(([, what]) => what !== "ok");
  const windowMs = failures.length === 0 ? 0 : Number(attempts[lastFailure + 1]![0]) - Number(failures[0]![0]);
  return { attempts, failures, windowMs };
}

/** The nodeplugin pods in the kadalu namespace. */
export async function nodepluginPods(node: RealNode): Promise<any[]> {
  return (await node.cluster.admin.get("/api/v1/namespaces/kadalu/pods")).items.filter((pod: any) => pod.metadata.name.startsWith("kadalu-csi-nodeplugin-"));
}

/** Deletes the nodeplugin pod and waits for the DaemonSet's next one to be ready; when it was deleted. */
export async function restartNodeplugin(node: RealNode): Promise<number> {
  const [old] = await nodepluginPods(node);
  const deletedAt = Date.now();
  await node.cluster.admin.delete(`/api/v1/namespaces/kadalu/pods/${old.metadata.name}`);
  await waitUntil(
    "a new nodeplugin pod ready",
    async () =>
      (await nodepluginPods(node)).some(
        (pod: any) =>
          pod.metadata.name !== old.metadata.name &&
          pod.status.phase === "Running" &&
          (pod.status.containerStatuses ?? []).every((status: any) => status.ready),
      ) || undefined,
    120_000,
    250,
  );
  return deletedAt;
}
