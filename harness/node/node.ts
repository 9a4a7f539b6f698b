/**
 * A real single-node cluster on this machine: the real tier's etcd, kube-apiserver and controller-manager
 * plus kube-scheduler on the host end of a veth pair; containerd (runc, cgroupfs, its own root, state and
 * socket) and the kubelet in a network namespace of their own, entered with `nsenter --net` so they share
 * the host's mount namespace; pods on a CNI bridge inside that namespace. `stop` takes it all down in the
 * order the kubelet needs and puts the host back as it was (see host.ts), also when the start failed.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTROLLERS, startRealCluster, type RealCluster } from "../real/cluster.js";
import { Processes, waitUntil, type Started } from "../real/processes.js";
import type { NodeParts } from "./components.js";
import { cniConfig, containerdConfig, corefile, kubeletConfig, POD_SUBNET } from "./configs.js";
import { FIXED_PATHS, hostState, mountPoints, processesNaming, removeCgroup, topLevelCgroups, unmountUnder, writeSysctls, type HostState } from "./host.js";
import { buildPauseImage, PAUSE_IMAGE, PAUSE_REPOSITORY } from "./images.js";
import { SERVICE_CA, ServiceCaPublisher } from "./service-ca.js";

export const NODE_NAME = "kadalu-node";
/** Every node's directory starts so (mkdtemp). */
export const NODE_DIR_PREFIX = join(tmpdir(), "kadalu-node-");

export interface NodeTimings {
  /** Nothing to the control plane answering. */
  controlPlaneMs: number;
  /** Nothing to the Node object Ready. */
  nodeReadyMs: number;
  /** The kubelet's start to the Node object Ready. */
  kubeletToReadyMs: number;
}

export interface RealNode {
  dir: string;
  cluster: RealCluster;
  netns: string;
  nodeIp: string;
  /** The kubelet's root directory (install's --kubelet-dir). */
  kubeletDir: string;
  /** containerd's socket, for `ctr --address`. */
  containerdSocket: string;
  before: HostState;
  timings: NodeTimings;
  /** `ctr` against this node's containerd, in the CRI's namespace; its stdout. */
  ctr(args: string[]): string;
  /** Imports an OCI archive (an index naming only its tag) as REPOSITORY:TAG. */
  importImage(archive: string, repository: string): void;
  /** Takes everything down; the errors of steps that failed (each step runs regardless). Idempotent. */
  stop(): Promise<string[]>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A /30 the host does not use: the host end gets .1 (the apiserver binds it), the node end .2. */
function freeLinkNet(ip: string): { hostIp: string; nodeIp: string } {
  const used = execFileSync(ip, ["-o", "addr"], { encoding: "utf8" });
  for (let attempt = 0; attempt < 64; attempt++) {
    const third = Math.floor(Math.random() * 256);
    const fourth = Math.floor(Math.random() * 64) * 4;
    const prefix = `10.199.${third}.`;
    if (!used.includes(prefix)) return { hostIp: `${prefix}${fourth + 1}`, nodeIp: `${prefix}${fourth + 2}` };
  }
  throw new Error("no free 10.199.x.y/30 for the node's veth pair");
}

function nodeReady(node: any): boolean {
  return (node?.status?.conditions ?? []).some((condition: any) => condition.type === "Ready" && condition.status === "True");
}

export async function startNode(parts: NodeParts): Promise<RealNode> {
  const t0 = Date.now();
  const dir = mkdtempSync(NODE_DIR_PREFIX);
  const before = hostState(dir);
  const id = randomBytes(3).toString("hex");
  const netns = `kadalu-node-${id}`;
  const hostVeth = `kn${id}h`;
  const processes = new Processes(dir);
  const socket = join(dir, "containerd", "containerd.sock");
  const inNetns = (command: string, args: string[]): [string, string[]] => [parts.nsenter, [`--net=/run/netns/${netns}`, "--", command, ...args]];
  const run = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? "")
        .trim()
        .replace(/\s+/g, " ");
      throw new Error(`${command} ${args.slice(-3).join(" ")}: ${stderr || (error as Error).message}`);
    }
  };
  const ctr = (args: string[]): string => run(parts.ctr, ["--address", socket, "--namespace", "k8s.io", ...args]);
  let cluster: RealCluster | undefined;
  let kubelet: Started | undefined;
  let containerd: Started | undefined;
  let stopped: Promise<string[]> | undefined;
  let publisher: ServiceCaPublisher | undefined;

  const teardown = async (): Promise<string[]> => {
    const errors: string[] = [];
    const step = async (what: string, action: () => unknown): Promise<void> => {
      try {
        await action();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message.split("\n")[0]}`);
      }
    };
    await step("stopping the service CA publisher", () => publisher?.stop());
    if (cluster && kubelet) await step("deleting the workloads and pods", () => deleteWorkloads(cluster!));
    if (kubelet) await step("stopping the kubelet", () => processes.stop(kubelet!, 15_000));
    if (containerd) {
      await step("killing containerd's tasks", async () => {
        const tasks = ctr(["tasks", "ls", "-q"]).split("\n").filter(Boolean);
        for (const task of tasks) ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", task]);
        // The CRI deletes the tasks it sees exit, so a task may be gone before we delete it.
        const deleted = (task: string): boolean => {
          try {
            return ctr(["tasks", "delete", task]) !== undefined;
          } catch (error) {
            if (/not found/.test((error as Error).message)) return true;
            throw error;
          }
        };
        for (const task of tasks) await waitUntil(`task ${task} to stop`, () => deleted(task), 10_000, 200);
        const containers = ctr(["containers", "ls", "-q"]).split("\n").filter(Boolean);
        if (containers.length > 0) ctr(["containers", "rm", ...containers]);
      });
      await step("stopping containerd", () => processes.stop(containerd!, 10_000));
    }
    // Shims outlive containerd by design, and a killed shim leaves its container: kill what is left in the pods' cgroups.
    await step("killing leftover shims and containers", async () => {
      for (let round = 0; round < 20; round++) {
        const pids = [...processesNaming(socket), ...podCgroupProcesses(before)].map((line) => Number(line.split(" ")[0]));
        if (pids.length === 0) return;
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone already
          }
        }
        await sleep(100);
      }
      throw new Error(`still running: ${[...processesNaming(socket), ...podCgroupProcesses(before)].join("; ")}`);
    });
    // For a failure's post-mortem: the components' logs, before their directories go.
    const keep = process.env.KADALU_NODE_LOGS;
    if (keep)
      await step(`keeping the logs in ${keep}`, () =>
        run("sh", ["-c", 'mkdir -p "$1" && cp "$2"/*.log "$3"/*.log "$1"/', "sh", keep, dir, cluster?.dir ?? dir]),
      );
    await step("stopping the control plane", () => cluster?.stop());
    await step("stopping the rest", () => processes.stopAll());
    // Ours and containerd's pod namespaces (cni-UUID), never another program's made meanwhile.
    const newNetns = (existsSync("/run/netns") ? run("ls", ["/run/netns"]).split("\n").filter(Boolean) : []).filter(
      (name) => !before.netns.includes(name) && (name === netns || name.startsWith("cni-")),
    );
    const places = [
      dir,
      ...FIXED_PATHS.filter((path) => path !== "/run/netns"),
      ...newNetns.filter((name) => name !== netns).map((name) => `/run/netns/${name}`),
    ];
    for (const error of unmountUnder(places)) errors.push(error);
    for (const name of newNetns) {
      if (name === netns) await step(`deleting the network namespace ${netns}`, () => run(parts.ip, ["netns", "delete", netns]));
      else await step(`removing the pod network namespace ${name}`, () => rmSync(`/run/netns/${name}`, { force: true }));
    }
    // `ip netns add` made /run/netns a mount point of its own; put it back when it was not there and is empty.
    if (!before.paths.includes("/run/netns") && existsSync("/run/netns") && run("ls", ["-A", "/run/netns"]).trim() === "") {
      await step("unmounting /run/netns", () => {
        while (mountPoints().includes("/run/netns")) run("umount", ["/run/netns"]);
        rmSync("/run/netns", { recursive: true });
      });
    }
    for (const cgroup of newPodCgroups(before)) errors.push(...removeCgroup(cgroup));
    await step("restoring the kubelet's sysctls", () => writeSysctls(before.sysctls));
    for (const path of [...FIXED_PATHS.filter((path) => !before.paths.includes(path) && path !== "/run/netns"), dir]) {
      await step(`removing ${path}`, () => {
        if (!existsSync(path)) return;
        // containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its state dir: remove that only.
        if (path === "/run/containerd" && run("ls", ["-A", path]).trim() !== "s")
          throw new Error("/run/containerd holds more than shim sockets: another containerd runs here");
        const mounted = mountPoints().filter((point) => point === path || point.startsWith(`${path}/`));
        if (mounted.length > 0) throw new Error(`still mounted: ${mounted.join(", ")}`);
        rmSync(path, { recursive: true, force: true });
      });
    }
    return errors;
  };
  const stop = (): Promise<string[]> => (stopped ??= teardown());

  try {
    const { hostIp, nodeIp } = freeLinkNet(parts.ip);
    run(parts.ip, ["netns", "add", netns]);
    run(parts.ip, ["link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    run(parts.ip, ["addr", "add", `${hostIp}/30`, "dev", hostVeth]);
    run(parts.ip, ["link", "set", hostVeth, "up"]);
    for (const args of [
      ["link", "set", "lo", "up"],
      ["addr", "add", `${nodeIp}/30`, "dev", "eth0"],
      ["link", "set", "eth0", "up"],
      ["route", "add", "default", "via", hostIp],
    ]) {
      run(parts.ip, ["-n", netns, ...args]);
    }

    // nodelifecycle lifts the not-ready taint the node registers with once it is Ready; the endpoint controllers
    // give Services (brick pods by name through CoreDNS) their addresses; root-ca-cert-publisher
    // writes the kube-root-ca.crt ConfigMap every ServiceAccount token volume projects; disruption keeps the
    // brick groups' PodDisruptionBudgets' status, which the Eviction API (kubectl drain) goes by.
    cluster = await startRealCluster(parts.kube, {
      host: hostIp,
      controllers: [...CONTROLLERS, "nodelifecycle", "root-ca-cert-publisher", "endpoint", "endpointslice", "disruption"],
    });
    cluster.processes.start("kube-scheduler", parts.scheduler, ["--kubeconfig", cluster.adminKubeconfig, "--leader-elect=false", "--secure-port=0"]);
    const controlPlaneMs = Date.now() - t0;
    publisher = new ServiceCaPublisher(cluster);

    mkdirSync(join(dir, "cni", "net.d"), { recursive: true });
    writeFileSync(join(dir, "cni", "net.d", "10-kadalu-node.conflist"), cniConfig(dir, id));
    writeFileSync(join(dir, "containerd.toml"), containerdConfig(dir, socket));
    containerd = processes.start("containerd", ...inNetns(parts.containerd, ["--config", join(dir, "containerd.toml")]));
    await whileRunning(
      containerd,
      `containerd to answer on ${socket}`,
      () => {
        try {
          return ctr(["version"]) || undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
    const imageDir = join(dir, "images");
    mkdirSync(imageDir);
    ctr(["images", "import", "--base-name", PAUSE_REPOSITORY, buildPauseImage(parts.gcc, imageDir)]);

    const kubeletDir = join(dir, "kubelet");
    mkdirSync(kubeletDir);
    writeFileSync(join(dir, "kubelet.yaml"), kubeletConfig(nodeIp));
    const kubeletStart = Date.now();
    kubelet = processes.start(
      "kubelet",
      ...inNetns(parts.kubelet, [
        "--config",
        join(dir, "kubelet.yaml"),
        "--kubeconfig",
        cluster.adminKubeconfig,
        "--root-dir",
        kubeletDir,
        "--container-runtime-endpoint",
        `unix://${socket}`,
        "--pod-infra-container-image",
        PAUSE_IMAGE,
        "--node-ip",
        nodeIp,
        "--hostname-override",
        NODE_NAME,
        "--v=1",
      ]),
    );
    const admin = cluster.admin;
    await whileRunning(
      kubelet,
      `node ${NODE_NAME} Ready`,
      async () => nodeReady(await admin.find(`/api/v1/nodes/${NODE_NAME}`)) || undefined,
      120_000,
      200,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- kubelet ---\n${kubelet!.tail(30)}\n--- containerd ---\n${containerd!.tail(10)}`);
    });
    const readyAt = Date.now();
    // kube-proxy (iptables, in the node's namespace) gives pods the kubernetes Service: in-cluster clients
    // (the operator, the sidecars) reach the apiserver through it. The conntrack flags leave host-wide sysctls alone.
    const proxy = processes.start(
      "kube-proxy",
      ...inNetns(parts.proxy, [
        "--kubeconfig",
        cluster.adminKubeconfig,
        "--hostname-override",
        NODE_NAME,
        "--proxy-mode",
        "iptables",
        "--cluster-cidr",
        POD_SUBNET,
        "--conntrack-max-per-core",
        "0",
        "--conntrack-tcp-timeout-established",
        "0",
        "--conntrack-tcp-timeout-close-wait",
        "0",
        "--metrics-bind-address",
        "127.0.0.1:10249",
        "--healthz-bind-address",
        "127.0.0.1:10256",
      ]),
    );
    await whileRunning(
      proxy,
      "kube-proxy's rule for the kubernetes Service",
      () => {
        try {
          return (
            run(parts.nsenter, [`--net=/run/netns/${netns}`, "--", "iptables", "-t", "nat", "-S", "KUBE-SERVICES"]).includes("default/kubernetes") || undefined
          );
        } catch {
          return undefined;
        }
      },
      60_000,
      200,
    );
    writeFileSync(join(dir, "Corefile"), corefile(nodeIp, cluster.adminKubeconfig));
    const dns = processes.start("coredns", ...inNetns(parts.coredns, ["-conf", join(dir, "Corefile")]));
    await whileRunning(dns, "CoreDNS to answer", () => dns.tail(20).includes("CoreDNS-") || undefined, 30_000, 100);
    for (const name of ["kube-root-ca.crt", SERVICE_CA]) {
      await waitUntil(`the ${name} ConfigMap in default`, () => admin.find(`/api/v1/namespaces/default/configmaps/${name}`), 30_000, 200);
    }
    return {
      dir,
      cluster,
      netns,
      nodeIp,
      kubeletDir,
      containerdSocket: socket,
      before,
      timings: { controlPlaneMs, nodeReadyMs: readyAt - t0, kubeletToReadyMs: readyAt - kubeletStart },
      ctr,
      importImage: (archive, repository) => void ctr(["images", "import", "--base-name", repository, archive]),
      stop,
    };
  } catch (error) {
    const errors = await stop();
    if (errors.length > 0) (error as Error).message += `\nteardown: ${errors.join("; ")}`;
    throw error;
  }
}

/**
 * Polls `check` while `started` runs; fails at once with its last log lines when it exits first (a plain
 * waitUntil would take a crashed component's silence for "not yet" until its deadline).
 */
async function whileRunning<T>(
  started: Started,
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs: number,
): Promise<T> {
  const gone = (): boolean => started.child.exitCode !== null || started.child.signalCode !== null;
  const result = await waitUntil(
    what,
    async () => (gone() ? { exited: true as const } : ((value) => (value === undefined || value === false ? undefined : { value }))(await check())),
    timeoutMs,
    intervalMs,
  );
  if ("exited" in result)
    throw new Error(
      `${started.name === "kubelet" ? "the kubelet" : started.name} exited (${started.child.exitCode ?? started.child.signalCode}):\n${started.tail(20)}`,
    );
  return result.value;
}

/**
 * The kubelet's pod cgroups (kubepods, in every hierarchy) that were not there before: only these, never
 * another program's cgroup made meanwhile.
 */
function newPodCgroups(before: HostState): string[] {
  return topLevelCgroups().filter((path) => path.endsWith("/kubepods") && !before.cgroups.includes(path));
}

/** Processes in the kubelet's pod cgroups (kubepods) of every hierarchy, as "PID kubepods". */
function podCgroupProcesses(before: HostState): string[] {
  const pids = new Set<string>();
  const walk = (path: string): void => {
    try {
      for (const pid of readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(pid);
      for (const entry of execFileSync("find", [path, "-mindepth", "1", "-maxdepth", "1", "-type", "d"], { encoding: "utf8" }).split("\n").filter(Boolean))
        walk(entry);
    } catch {
      // removed meanwhile
    }
  };
  for (const cgroup of newPodCgroups(before)) walk(cgroup);
  return [...pids].map((pid) => `${pid} pod cgroup`);
}

/**
 * Deletes what makes pods (orphaning them, so the order below holds), then the app pods (the kubelet
 * unpublishes their volumes while the CSI node plugin still runs), then the DaemonSets' pods.
 */
async function deleteWorkloads(cluster: RealCluster): Promise<void> {
  const admin = cluster.admin;
  for (const kind of ["deployments", "statefulsets", "replicasets", "daemonsets"]) {
    for (const item of (await admin.get(`/apis/apps/v1/${kind}`)).items) {
      await admin
        .delete(`/apis/apps/v1/namespaces/${item.metadata.namespace}/${kind}/${item.metadata.name}`, { propagationPolicy: "Orphan" })
        .catch(() => undefined);
    }
  }
  const ofDaemonSet = (pod: any): boolean => (pod.metadata.ownerReferences ?? []).some((owner: any) => owner.kind === "DaemonSet");
  for (const group of [(pod: any) => !ofDaemonSet(pod), ofDaemonSet]) {
    const pods = (await admin.get("/api/v1/pods")).items.filter(group);
    for (const pod of pods) await admin.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`).catch(() => undefined);
    const names = new Set(pods.map((pod: any) => pod.metadata.uid));
    await waitUntil(
      `${pods.length} pods to be gone`,
      async () => (await admin.get("/api/v1/pods")).items.every((pod: any) => !names.has(pod.metadata.uid)) || undefined,
      90_000,
      250,
    );
  }
}
