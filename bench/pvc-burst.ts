/**
 * A burst of PVCs through the real csi-provisioner: N claims of StorageClass kadalu.pool1 created at once,
 * on the real apiserver tier (etcd, kube-apiserver, kube-controller-manager's PV binder) with the operator,
 * the CSI provisioner pod's containers as the StatefulSet runs them (kadalu-csi, csi-provisioner,
 * csi-resizer) and a real GlusterFS Replica3 volume as the pool. Measured: the time from the first create
 * to all Bound, PVs/s, errors (failed creates, ProvisioningFailed events, claims not Bound in time), then,
 * the claims deleted, the time until every PV is gone (DeleteVolume through the provisioner). And what
 * bounds it: the CPU each part took in the window, the API requests per PV by client, and the longest
 * client-side rate-limit wait each sidecar logged. `pvcBurstScenarios` runs this file under the shared lock;
 * run directly (`tsx bench/pvc-burst.ts N [--flag=value ...] [kcm:--flag=value ...]`), it prints its rows
 * as JSON, with any flags given replacing csi-provisioner's in the installed StatefulSet, or with `kcm:`
 * added to kube-controller-manager's (to compare settings).
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Glusterd as GlusterdType } from "../harness/real/gluster.js";
import { ADD_STORY_POOL, STORY_NODES, type RunningProvisioner } from "../harness/real/kadalu.js";
import type { NodeAgent as NodeAgentType } from "../harness/real/node-agent.js";
import { printRowsIfMain, rowsUnderLock } from "./locked.js";
import type { Row } from "./stats.js";

const NAMESPACE = "burst";
const LABEL = "kadalu-bench=burst";
/** Requests the bench keeps in flight: enough that the clients under test, not this one, set the pace. */
const IN_FLIGHT = 64;
const NODES = STORY_NODES;
const PROVISIONER_STATEFULSET = "/apis/apps/v1/namespaces/kadalu/statefulsets/kadalu-csi-provisioner";

/** Runs this file under the shared lock (60 minutes at most) and returns its rows. */
export function pvcBurstScenarios(count: number): Promise<Row[]> {
  return rowsUnderLock(fileURLToPath(import.meta.url), [String(count)], "PVC burst through the real csi-provisioner", 60 * 60_000);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Polls `progress` every second until it returns "done", or `deadline` (epoch ms) passes, or what it
 * returns stays the same for `stallMs`; false then. A failed poll (a slow list) counts as no change.
 */
async function pollUntil(progress: () => Promise<number | "done">, deadline: number, stallMs = 120_000): Promise<boolean> {
  let last: number | undefined;
  let since = Date.now();
  for (;;) {
    const now = await progress().catch(() => last);
    if (now === "done") return true;
    if (now !== last) [last, since] = [now, Date.now()];
    if (Date.now() > deadline || Date.now() - since > stallMs) return false;
    await sleep(1000);
  }
}

const PARTS: [string, RegExp][] = [
  ["apiserver", /^kube-apiserver/],
  ["etcd", /^etcd$/],
  ["controller-manager", /^kube-controller-manager/],
  ["csi-provisioner", /^csi-provisioner-/],
  ["csi-resizer", /^csi-resizer-/],
  ["kadalu-csi", /^kadalu-csi$/],
  ["operator", /^kadalu-operator$/],
  ["bricks", /^glusterfsd$/],
  ["glusterd+shd", /^glusterd$|^glusterfs$/],
];

/**
 * CPU ticks (user + system, 1/100 s) so far of this run's processes, by part: those whose command line
 * names one of `markers` (the run's directories), and the Gluster FUSE client in the provisioner's mount
 * namespace `fuseNs`. Other processes on the machine are left out.
 */
function cpuTicks(markers: string[], fuseNs: string): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const names = argv.slice(0, 2).map((arg) => basename(arg));
      const fuse = names[0] === "glusterfs" && readlinkSync(`/proc/${pid}/ns/mnt`) === fuseNs;
      const part = fuse
        ? "FUSE client"
        : markers.some((marker) => argv.some((arg) => arg.includes(marker)))
          ? PARTS.find(([, re]) => names.some((name) => re.test(name)))?.[0]
          : undefined;
      if (!part) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks.set(part, (ticks.get(part) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  ticks.set("bench client", Math.round((process.cpuUsage().user + process.cpuUsage().system) / 10_000));
  return ticks;
}

/** The machine's busy and total jiffies over all cores (/proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

interface Window {
  ms: number;
  cpu: Map<string, number>;
  machine: { busy: number; total: number };
  auditLine: number;
}

/** Where the CPU went in a window, busiest first, in % of one core, and how busy the whole machine was. */
function cpuRow(label: string, start: Window, end: Window): Row {
  const seconds = (end.ms - start.ms) / 1000;
  const parts = [...end.cpu]
    .map(([part, ticks]) => [part, (ticks - (start.cpu.get(part) ?? 0)) / 100 / seconds] as const)
    .filter(([, cores]) => cores >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  const busy = (end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total);
  return [label, `${parts.map(([part, cores]) => `${part} ${Math.round(cores * 100)}`).join(", ")}; machine ${Math.round(busy * 100)}% busy (all users)`, "-"];
}

/** A Go duration as client-go logs it ("812.5ms", "1.2s", "1m3.5s"), in seconds. */
function goSeconds(text: string): number {
  let seconds = 0;
  for (const [, value, unit] of text.matchAll(/([\d.]+)(ms|µs|us|ns|h|m|s)/g)) {
    const factor = { h: 3600, m: 60, s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9 }[unit!]!;
    seconds += Number(value) * factor;
  }
  return seconds;
}

/**
 * client-go's rate-limit waits (over 1 s logged at --v=2, at most about one a second) in a log after byte
 * `from`: how many lines, and the longest wait. Older client-go writes "Waited for D due to client-side
 * throttling", newer `"Waited before sending request" delay="D" reason="client-side throttling...`.
 */
function throttled(log: string, from: number): { lines: number; maxSeconds: number } {
  const text = readFileSync(log).subarray(from).toString("utf8");
  const pattern = /Waited for (\S+) due to client-side throttling|Waited before sending request" delay="([^"]+)" reason="client-side throttling/g;
  const waits = [...text.matchAll(pattern)].map((match) => goSeconds(match[1] ?? match[2]!));
  return { lines: waits.length, maxSeconds: waits.reduce((a, b) => Math.max(a, b), 0) };
}

const logSize = (log: string): number => readFileSync(log).length;

/** kadalu-csi's own time in CreateVolume and DeleteVolume so far (its /metrics): calls and seconds, by method. */
async function driverTime(port: number): Promise<Map<string, { calls: number; seconds: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const figures = new Map<string, { calls: number; seconds: number }>();
  for (const [, kind, method, value] of text.matchAll(/^kadalu_csi_operation_duration_seconds_(sum|count)\{method="(\w+)",code="OK"\} (\S+)$/gm)) {
    const entry = figures.get(method!) ?? { calls: 0, seconds: 0 };
    if (kind === "sum") entry.seconds += Number(value);
    else entry.calls += Number(value);
    figures.set(method!, entry);
  }
  return figures;
}

/** The driver's mean time per call of `method` between two readings of driverTime. */
function meanCall(before: Map<string, { calls: number; seconds: number }>, after: Map<string, { calls: number; seconds: number }>, method: string): string {
  const calls = (after.get(method)?.calls ?? 0) - (before.get(method)?.calls ?? 0);
  const seconds = (after.get(method)?.seconds ?? 0) - (before.get(method)?.seconds ?? 0);
  return calls > 0 ? `${method} ${calls} calls, mean ${((seconds / calls) * 1000).toFixed(0)} ms` : `${method} no calls`;
}

interface AuditLine {
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string };
  stageTimestamp?: string;
}

/** The apiserver's audit log (one JSON event a line), from line `from` on. */
function auditFrom(path: string, from: number): AuditLine[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .slice(from)
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);
}

const auditLength = (path: string): number => readFileSync(path, "utf8").split("\n").length - 1;

async function main(args: string[]): Promise<Row[]> {
  const count = Number(args[0] ?? "1000");
  const flags = args.slice(1).filter((arg) => !arg.startsWith("kcm:"));
  const kcmFlags = args.filter((arg) => arg.startsWith("kcm:")).map((arg) => arg.slice(4));
  const label = `${count} PVCs at once through the real csi-provisioner`;
  const { glusterParts, kubernetesParts } = await import("../harness/real/components.js");
  const kube = kubernetesParts();
  if (typeof kube === "string") return [[label, `skipped: ${kube}`, "-"]];
  const gluster = glusterParts();
  if (typeof gluster === "string") return [[label, `skipped: ${gluster}`, "-"]];
  const { startRealCluster } = await import("../harness/real/cluster.js");
  const { Glusterd, BRICK_ADDRESS } = await import("../harness/real/gluster.js");
  const { kadalu, startOperator, startProvisioner } = await import("../harness/real/kadalu.js");
  const { NodeAgent } = await import("../harness/real/node-agent.js");
  const { waitUntil } = await import("../harness/real/processes.js");
  const scratch = mkdtempSync(join(tmpdir(), "kadalu-bench-burst-"));
  // The harness resyncs the PV binder every second (quick tests); at its default a pending claim's
  // "waiting for the external provisioner" Event goes every 15 s, not a thousand a second through the binder's client.
  const cluster = await startRealCluster(kube, { controllerManagerArgs: ["--pvclaimbinder-sync-period=15s", ...kcmFlags] });
  let agent: NodeAgentType | undefined;
  let glusterd: GlusterdType | undefined;
  let provisioner: RunningProvisioner | undefined;
  try {
    agent = await NodeAgent.start(cluster.admin, NODES);
    glusterd = await Glusterd.start(gluster, join(scratch, "gluster"));
    await glusterd.createReplica3("pool1");
    const cli = async (...command: string[]): Promise<void> => {
      const result = await kadalu(cluster.adminKubeconfig, command);
      if (result.code !== 0) throw new Error(`kubectl kadalu ${command[0]}: ${result.stderr.trim()}`);
    };
    await cli("install", "--wait", "--timeout", "90s");
    if (flags.length > 0) await replaceProvisionerFlags(cluster.admin, flags);
    await startOperator(cluster);
    const hosts = Object.fromEntries([0, 1, 2].map((index) => [`server-pool1-${index}-0.pool1`, BRICK_ADDRESS]));
    provisioner = await startProvisioner(cluster, kube, agent, hosts);
    await cli(...ADD_STORY_POOL);
    await cluster.admin.post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
    await waitUntil(
      "the burst namespace's default ServiceAccount",
      () => cluster.admin.find(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`),
      60_000,
      200,
    );

    const pvcs = `/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims`;
    const claim = (name: string, labels: Record<string, string> = {}): object => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, labels },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Mi" } } },
    });
    const ourPvs = async (): Promise<number> =>
      (await cluster.admin.get("/api/v1/persistentvolumes")).items.filter((pv: any) => pv.spec.claimRef?.namespace === NAMESPACE).length;
    // A first claim mounts the pool in the provisioner: the burst then measures the steady state.
    await cluster.admin.post(pvcs, claim("warm-up"));
    await waitUntil(
      `the warm-up claim Bound\n${provisioner.provisioner.tail()}`,
      async () => (await cluster.admin.get(`${pvcs}/warm-up`)).status?.phase === "Bound",
      120_000,
      200,
    );
    await cluster.admin.delete(`${pvcs}/warm-up`);
    await waitUntil("the warm-up PV gone", async () => (await ourPvs()) === 0, 120_000, 200);

    const fuseNs = readlinkSync(`/proc/${provisioner.csi.process.child.pid}/ns/mnt`);
    const markers = [cluster.dir, scratch];
    const auditLog = join(cluster.dir, "audit.log");
    const mark = (): Window => ({ ms: performance.now(), cpu: cpuTicks(markers, fuseNs), machine: machineJiffies(), auditLine: auditLength(auditLog) });
    const logs = { provisioner: provisioner.provisioner.log, controllerManager: join(cluster.dir, "kube-controller-manager.log") };
    const logFrom = { provisioner: logSize(logs.provisioner), controllerManager: logSize(logs.controllerManager) };
    const names = Array.from({ length: count }, (_, index) => `burst-${index}`);
    const deadline = (): number => Date.now() + 60_000 + count * 1000;

    const driverBefore = await driverTime(provisioner.metricsPort);
    const startedAt = Date.now();
    const start = mark();
    let createErrors = 0;
    await inParallel(names, IN_FLIGHT, async (name) => {
      await cluster.admin.post(pvcs, claim(name, { "kadalu-bench": "burst" })).catch(() => (createErrors += 1));
    });
    const createsMs = performance.now() - start.ms;
    let bound = 0;
    let halfMs = 0;
    const allBound = await pollUntil(async () => {
      const items = (await cluster.admin.get(`${pvcs}?labelSelector=${encodeURIComponent(LABEL)}`)).items as any[];
      bound = items.filter((pvc) => pvc.status?.phase === "Bound").length;
      if (!halfMs && bound >= count / 2) halfMs = performance.now() - start.ms;
      return bound === count - createErrors ? "done" : bound;
    }, deadline());
    const boundAt = mark();
    const events = async (namespace: string, reason: string): Promise<number> =>
      ((await cluster.admin.get(`/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`reason=${reason}`)}`)).items as any[]).reduce(
        (sum, event) => sum + (event.count ?? 1),
        0,
      );
    const failed = await events(NAMESPACE, "ProvisioningFailed");
    const notBound = count - createErrors - bound;
    const createWaits = {
      provisioner: throttled(logs.provisioner, logFrom.provisioner),
      controllerManager: throttled(logs.controllerManager, logFrom.controllerManager),
    };
    const createAudit = auditFrom(auditLog, start.auditLine);
    const createRequests = requestsByClient(createAudit);
    const pvsMs = lastPvCreated(createAudit) - startedAt;
    const createLogTo = { provisioner: logSize(logs.provisioner), controllerManager: logSize(logs.controllerManager) };

    const deleteStart = mark();
    let deleteErrors = 0;
    await inParallel(names, IN_FLIGHT, async (name) => {
      await cluster.admin.delete(`${pvcs}/${name}`).catch(() => (deleteErrors += 1));
    });
    let left = 0;
    const allGone = await pollUntil(async () => ((left = await ourPvs()) === 0 ? "done" : left), deadline());
    const goneAt = mark();
    const failedDeletes = await events("default", "VolumeFailedDelete");
    const driverAfter = await driverTime(provisioner.metricsPort);
    const deleteWaits = throttled(logs.provisioner, createLogTo.provisioner);
    const deleteRequests = requestsByClient(auditFrom(auditLog, deleteStart.auditLine));

    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const boundMs = boundAt.ms - start.ms;
    const goneMs = goneAt.ms - deleteStart.ms;
    const perPv = (requests: Map<string, { all: number; events: number }>, client: string): string => {
      const figures = requests.get(client) ?? { all: 0, events: 0 };
      return `${(figures.all / count).toFixed(1)} (${(figures.events / count).toFixed(1)} events)`;
    };
    const waits = (w: { lines: number; maxSeconds: number }): string => (w.lines === 0 ? "none" : `longest ${w.maxSeconds.toFixed(1)} s`);
    return [
      [
        `${label} (1 MiB each, Replica3 on real GlusterFS${[...flags, ...kcmFlags.map((flag) => `controller-manager ${flag}`)].map((flag) => `; ${flag}`).join("")})`,
        "time to all Bound (PVs/s); errors; delete: time until every PV is gone",
        "errors 0 (issue 40)",
      ],
      [
        `  ${count} creates (${IN_FLIGHT} in flight) to all Bound`,
        allBound
          ? `${seconds(boundMs)} (${(count / (boundMs / 1000)).toFixed(1)} PVs/s; half Bound at ${seconds(halfMs)}; every PV created at ${seconds(pvsMs)}; the creates took ${seconds(createsMs)})`
          : `not within ${seconds(boundMs)}: ${bound} Bound`,
        "-",
      ],
      ["  errors", `${createErrors + failed + notBound} (creates refused ${createErrors}, ProvisioningFailed ${failed}, not Bound ${notBound})`, "0"],
      [
        "  delete them all, to every PV gone",
        allGone
          ? `${seconds(goneMs)} (${(count / (goneMs / 1000)).toFixed(1)} PVs/s; deletes refused ${deleteErrors}, VolumeFailedDelete ${failedDeletes})`
          : `not within ${seconds(goneMs)}: ${left} PVs left (VolumeFailedDelete ${failedDeletes})`,
        "-",
      ],
      cpuRow("  CPU to all Bound, % of one core by part", start, boundAt),
      cpuRow("  CPU to every PV gone, % of one core by part", deleteStart, goneAt),
      [
        "  API requests per PV: create (csi-provisioner; controller-manager)",
        `${perPv(createRequests, "csi-provisioner")}; ${perPv(createRequests, "kube-controller-manager")}`,
        "-",
      ],
      [
        "  API requests per PV: delete (csi-provisioner; controller-manager)",
        `${perPv(deleteRequests, "csi-provisioner")}; ${perPv(deleteRequests, "kube-controller-manager")}`,
        "-",
      ],
      [
        "  the driver's own time per call (kadalu-csi /metrics)",
        `${meanCall(driverBefore, driverAfter, "CreateVolume")}; ${meanCall(driverBefore, driverAfter, "DeleteVolume")}`,
        "-",
      ],
      [
        "  client-side rate-limit waits logged: create (csi-provisioner; controller-manager); delete (csi-provisioner)",
        `${waits(createWaits.provisioner)}; ${waits(createWaits.controllerManager)}; ${waits(deleteWaits)}`,
        "-",
      ],
    ];
  } finally {
    await provisioner?.stop();
    await agent?.stop();
    await cluster.stop();
    await glusterd?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** When (epoch ms) the last PV was created, from the audit log: how long the provisioning took, apart from the binding. */
function lastPvCreated(events: AuditLine[]): number {
  return events
    .filter((event) => event.verb === "create" && event.objectRef?.resource === "persistentvolumes" && event.stageTimestamp)
    .reduce((last, event) => Math.max(last, Date.parse(event.stageTimestamp!)), 0);
}

/**
 * Requests other than watches, by client: all of them, and those on Events. The client is the user agent's
 * program name, less the suffix the harness's binary cache adds ("csi-provisioner-10695232-1796537415025").
 */
function requestsByClient(events: AuditLine[]): Map<string, { all: number; events: number }> {
  const byClient = new Map<string, { all: number; events: number }>();
  for (const event of events) {
    if (event.verb === "watch") continue;
    const client = (event.userAgent ?? "").split("/")[0]!.replace(/-\d+-\d+$/, "");
    const figures = byClient.get(client) ?? { all: 0, events: 0 };
    figures.all += 1;
    if (event.objectRef?.resource === "events") figures.events += 1;
    byClient.set(client, figures);
  }
  return byClient;
}

/** Replaces (or adds) these `--name=value` flags in the installed StatefulSet's csi-provisioner container. */
async function replaceProvisionerFlags(
  api: { get(path: string): Promise<any>; call(method: string, path: string, body: unknown): Promise<unknown> },
  flags: string[],
): Promise<void> {
  const statefulSet = await api.get(PROVISIONER_STATEFULSET);
  const container = statefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === "csi-provisioner");
  const name = (flag: string): string => flag.split("=")[0]!;
  container.args = [...container.args.filter((arg: string) => !flags.some((flag) => name(flag) === name(arg))), ...flags];
  await api.call("PUT", PROVISIONER_STATEFULSET, statefulSet);
}

printRowsIfMain(import.meta.url, main);
