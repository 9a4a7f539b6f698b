/**
 * `doctor`'s diagnosis: small pure checks over what was fetched once (one list per kind, one exec into
 * the provisioner, one heal report per replicated pool). Each finding says how bad it is, what and
 * where, and the next command to run.
 */
import { isExternal, type NativePoolInfo, type PoolInfo } from "../info/codec.js";
import { atRiskList, type HealRisk } from "../heal-entries.js";
import { counted } from "../words.js";
import { DOCTOR_EXIT } from "../exit-codes.js";
import { serverPodName, storageClassName } from "../naming.js";
import type { KadaluStorage } from "../pool/types.js";
import { isReady, replicaGroups, replicated, type PodView } from "../upgrade/switch-over.js";
import { eventsOfPod, lastLines, podFailure, type PodEventView, type PodFailure } from "./pod-failure.js";
import { drainChecks, type DisruptionBudget } from "./drain.js";
import { snapshotCheck, type SnapshotFacts } from "./snapshots.js";

export type Severity = "ok" | "warning" | "critical";

export interface Finding {
  severity: Severity;
  check: string;
  where: string;
  message: string;
  /** The next command to run (absent on ok findings). */
  next?: string;
  /** What the finding rests on, for --verbose. */
  evidence?: string;
}

export interface Workload {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { replicas?: number; template?: { spec?: { containers?: { name: string; image?: string }[] } } };
  status?: { availableReplicas?: number; readyReplicas?: number; desiredNumberScheduled?: number; numberReady?: number };
}

export interface Claim {
  metadata?: { name?: string; namespace?: string };
  spec?: { storageClassName?: string; dataSource?: { kind?: string; name?: string } };
  status?: { phase?: string };
}

export interface ClaimEvent {
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

/** What the provisioner's exec said of each pool's mount and stat.db. */
export interface PoolProbe {
  mount: "ok" | "dead" | "missing";
  statDb: "ok" | "unreadable" | "missing";
  detail?: string;
}

export interface Snapshot {
  namespace: string;
  pluginVersion: string;
  operator?: Workload;
  crdEstablished?: boolean;
  provisioner?: Workload;
  nodeplugin?: Workload;
  pods: PodView[];
  pools: KadaluStorage[];
  infos: PoolInfo[];
  /** Per pool: the provisioner's probe, or why it could not be made. */
  probes: Map<string, PoolProbe> | string;
  /** Per replicated pool: pending heal entries, or why they are unknown. */
  /** Per replicated pool: pending heals, why they could not be read, or why they were not asked (no fault of the pool). */
  heals: Map<string, number | string | { notAsked: string }>;
  /** Per pool with heals pending: the PVCs its entries belong to, where they were found. */
  healRisks?: Map<string, HealRisk>;
  kadaluStorageClasses: string[];
  /** The PodDisruptionBudgets in the Kadalu namespace, or why they could not be read; absent: not asked. */
  budgets?: DisruptionBudget[] | string;
  claims: Claim[];
  events: ClaimEvent[];
  /** The events of the Kadalu namespace (its pods' FailedMount, FailedScheduling, BackOff...). */
  podEvents?: PodEventView[];
  /** The previous instance's last log lines of each crashing container, by `pod/container`. */
  crashLogs?: Map<string, string>;
  /** The snapshot CRDs and controllers found, or why they could not be read; absent: not asked. */
  snapshots?: SnapshotFacts | string;
}

export interface Thresholds {
  warnPercent: number;
  criticalPercent: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { warnPercent: 80, criticalPercent: 90 };

const ok = (check: string, where: string, message: string, evidence?: string): Finding => ({ severity: "ok", check, where, message, evidence });
const tagOf = (image: string | undefined): string | undefined => (image?.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : undefined);
const imageOf = (workload: Workload | undefined, container: string): string | undefined =>
  workload?.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
const podsNamed = (pods: PodView[], prefix: string): PodView[] => pods.filter((pod) => (pod.metadata?.name ?? "").startsWith(prefix));
/** A `kubectl kadalu` command for the namespace doctor looked at (-n only when it is not the default). */
const kadalu = (ns: string, command: string): string => `kubectl kadalu ${command}${ns === "kadalu" ? "" : ` -n ${ns}`}`;
const podLogs = (ns: string, pod: string, container?: string): string => kadalu(ns, `logs ${pod}${container ? ` -c ${container}` : ""}`);
const describePod = (ns: string, pod: string): string => `kubectl -n ${ns} describe pod ${pod}`;

/** A pod's own failure (from its statuses and events), with the words and the next command for a finding. */
interface Explained {
  failure: PodFailure;
  phrase: string;
  next: string;
  evidence?: string;
}

const evidenceOf = (pod: PodView, events: PodEventView[], container: string | undefined, log: string | undefined): string | undefined =>
  [
    ...eventsOfPod(pod, events).map((event) => `${event.type} ${event.reason}: ${event.message}`),
    ...(log ? [`previous log of ${container}:`, ...lastLines(log, 10, 400)] : []),
  ].join("\n") || undefined;

function phraseOf(failure: PodFailure, log: string | undefined, brick: boolean): string {
  if (failure.missingPath && brick)
    return `brick directory ${failure.missingPath} is missing on node ${failure.node ?? "?"} (${failure.reason === "FailedMount" ? "FailedMount" : "the server exits"}): create it there`;
  const tail = log ? lastLines(log) : [];
  return `${failure.reason}: ${failure.detail}${failure.crashed && tail.length ? `; last log lines: ${tail.join(" | ")}` : ""}`;
}

function explain(s: Snapshot, pod: PodView | undefined, brick = false): Explained | undefined {
  const events = s.podEvents ?? [];
  const failure = pod ? podFailure(pod, events) : undefined;
  if (!pod || !failure) return undefined;
  const name = pod.metadata?.name ?? "?";
  const log = failure.container ? s.crashLogs?.get(`${name}/${failure.container}`) : undefined;
  const next = failure.crashed && failure.container ? kadalu(s.namespace, `logs ${name} -c ${failure.container} --previous`) : describePod(s.namespace, name);
  return { failure, phrase: phraseOf(failure, log, brick), next, evidence: evidenceOf(pod, events, failure.container, log) };
}

export function operatorCheck(s: Snapshot): Finding[] {
  const ns = s.namespace;
  if (!s.operator)
    return [
      {
        severity: "critical",
        check: "operator",
        where: `deployment/operator`,
        message: `the Kadalu operator is not installed in namespace "${ns}"`,
        next: kadalu(ns, "install"),
      },
    ];
  const available = s.operator.status?.availableReplicas ?? 0;
  if (available < 1) {
    const operatorPod = podsNamed(s.pods, "operator-")[0];
    const pod = operatorPod?.metadata?.name;
    const scaled = s.operator.spec?.replicas === 0;
    const why = scaled ? undefined : explain(s, operatorPod);
    return [
      {
        severity: "critical",
        check: "operator",
        where: "deployment/operator",
        message: scaled
          ? "the operator is scaled to 0: pools are not reconciled"
          : `the operator is not available: pools are not reconciled${why ? `; pod ${pod}: ${why.phrase}` : ""}`,
        next: scaled
          ? `kubectl -n ${ns} scale deployment operator --replicas=1`
          : why
            ? why.next
            : pod
              ? podLogs(ns, pod)
              : `kubectl -n ${ns} describe deployment operator`,
        ...(why?.evidence ? { evidence: why.evidence } : {}),
      },
    ];
  }
  return [ok("operator", "deployment/operator", `available (version ${tagOf(imageOf(s.operator, "kadalu-operator")) ?? "?"})`)];
}

export function crdCheck(s: Snapshot): Finding[] {
  if (s.crdEstablished) return [ok("crd", "kadalustorages.kadalu-operator.storage", "established")];
  // A missing CRD has nothing to describe: install brings it back.
  if (s.crdEstablished === undefined)
    return [
      {
        severity: "critical",
        check: "crd",
        where: "kadalustorages.kadalu-operator.storage",
        message: "the KadaluStorage CRD is missing",
        next: kadalu(s.namespace, "install"),
      },
    ];
  return [
    {
      severity: "critical",
      check: "crd",
      where: "kadalustorages.kadalu-operator.storage",
      message: "the KadaluStorage CRD is not established",
      next: "kubectl get crd kadalustorages.kadalu-operator.storage -o yaml",
    },
  ];
}

function provisionerCheck(s: Snapshot): Finding {
  const ns = s.namespace;
  if (!s.provisioner)
    return {
      severity: "critical",
      check: "csi-provisioner",
      where: "statefulset/kadalu-csi-provisioner",
      message: "the CSI provisioner is not installed: no PVC of a Kadalu StorageClass is provisioned",
      next: kadalu(ns, "install"),
    };
  if ((s.provisioner.status?.readyReplicas ?? 0) >= 1) return ok("csi-provisioner", "statefulset/kadalu-csi-provisioner", "ready");
  const why = explain(s, podsNamed(s.pods, "kadalu-csi-provisioner-")[0]);
  return {
    severity: "critical",
    check: "csi-provisioner",
    where: "pod/kadalu-csi-provisioner-0",
    message: `the CSI provisioner is not ready: PVCs stay Pending${why ? `; ${why.phrase}` : ""}`,
    next: why?.next ?? describePod(ns, "kadalu-csi-provisioner-0"),
    ...(why?.evidence ? { evidence: why.evidence } : {}),
  };
}

function nodepluginCheck(s: Snapshot): Finding {
  const ns = s.namespace;
  if (!s.nodeplugin)
    return {
      severity: "critical",
      check: "csi-nodeplugin",
      where: "daemonset/kadalu-csi-nodeplugin",
      message: "the CSI nodeplugin is not installed: no Kadalu PV can be mounted",
      next: kadalu(ns, "install"),
    };
  const desired = s.nodeplugin.status?.desiredNumberScheduled ?? 0;
  const readyCount = s.nodeplugin.status?.numberReady ?? 0;
  if (desired > 0 && readyCount >= desired) return ok("csi-nodeplugin", "daemonset/kadalu-csi-nodeplugin", `ready on ${readyCount}/${desired} nodes`);
  const unready = podsNamed(s.pods, "kadalu-csi-nodeplugin-")
    .filter((pod) => !isReady(pod))
    .map((pod) => ({ pod, why: explain(s, pod) }));
  const explained = unready.find(({ why }) => why)?.why;
  const names = unready.map(({ pod, why }) => `${pod.metadata?.name} on ${pod.spec?.nodeName ?? "?"}${why ? ` (${why.phrase})` : ""}`);
  return {
    severity: readyCount === 0 ? "critical" : "warning",
    check: "csi-nodeplugin",
    where: "daemonset/kadalu-csi-nodeplugin",
    message: `ready on ${readyCount}/${desired} nodes${names.length ? `; not ready: ${names.join(", ")}` : ""}: pods there cannot mount Kadalu PVs`,
    next: explained?.next ?? (unready[0] ? describePod(ns, unready[0].pod.metadata?.name ?? "?") : `kubectl -n ${ns} describe daemonset kadalu-csi-nodeplugin`),
    ...(explained?.evidence ? { evidence: explained.evidence } : {}),
  };
}

export function csiCheck(s: Snapshot): Finding[] {
  return [provisionerCheck(s), nodepluginCheck(s)];
}

export function versionCheck(s: Snapshot): Finding[] {
  const versions = new Map<string, string | undefined>([
    ["operator", tagOf(imageOf(s.operator, "kadalu-operator"))],
    ["CSI provisioner", tagOf(imageOf(s.provisioner, "kadalu-provisioner"))],
    ["CSI nodeplugin", tagOf(imageOf(s.nodeplugin, "kadalu-nodeplugin"))],
  ]);
  // Nothing installed has no version to compare: the install checks above say what is missing.
  if ([...versions.values()].every((version) => version === undefined)) return [];
  const differing = [...versions].filter(([, version]) => version !== undefined && version !== s.pluginVersion);
  if (differing.length === 0) return [ok("versions", "plugin, operator, CSI", `all ${s.pluginVersion}`)];
  return [
    {
      severity: "warning",
      check: "versions",
      where: "plugin, operator, CSI",
      message: `this plugin is ${s.pluginVersion}; ${differing.map(([what, version]) => `${what} ${version}`).join(", ")}`,
      next: kadalu(s.namespace, "install --upgrade"),
    },
  ];
}

/** The pool grows by a whole group of units of the kind it has; the reader fills in the nodes. */
function growAdvice(info: NativePoolInfo, ns: string): string {
  const size = replicaGroups(info)[0]?.length ?? 1;
  const brick = info.bricks[0];
  const unit = brick?.pvc_name ? "--pvc NAME" : brick?.brick_device ? "--device NODE:/dev/sdX" : "--path NODE:/DIR";
  return kadalu(ns, `storage-expand ${info.volname} ${Array.from({ length: size }, () => unit).join(" ")}`);
}

function poolStateCheck(pool: KadaluStorage, where: string, ns: string): Finding {
  const state = pool.status?.state;
  if (state === "ready") return ok("pool-state", where, "ready");
  return {
    severity: state === "error" || state === "blocked" ? "critical" : "warning",
    check: "pool-state",
    where,
    message: `state ${state ?? "unknown"}${pool.status?.message ? `: ${pool.status.message}` : ""}`,
    next: `kubectl -n ${pool.metadata.namespace ?? ns} describe kadalustorage ${pool.metadata.name}`,
  };
}

/** Down server pods with a reason of their own get a line each; the quorum line is for those down for no reason they report. */
function brickChecks(s: Snapshot, info: NativePoolInfo, where: string): Finding[] {
  const ns = s.namespace;
  const byName = new Map(s.pods.map((pod) => [pod.metadata?.name ?? "", pod]));
  const bricks = info.bricks.map((brick) => serverPodName(info.volname, brick.brick_index));
  const down = bricks.filter((podName) => !isReady(byName.get(podName)));
  if (!down.length) return [ok("bricks", where, `${bricks.length}/${bricks.length} server pods ready`)];
  const groups = replicaGroups(info);
  const lost = groups.some((group) => group.filter((podName) => down.includes(podName)).length > (replicated(info) ? Math.floor((group.length - 1) / 2) : 0));
  const severity: Severity = lost ? "critical" : "warning";
  const phase = (podName: string): string => byName.get(podName)?.status?.phase ?? "missing";
  const explained = down.map((podName) => ({ podName, why: explain(s, byName.get(podName), true) }));
  const findings: Finding[] = explained.flatMap(({ podName, why }) =>
    why
      ? [
          {
            severity,
            check: "bricks",
            where,
            message: `server pod ${podName} (${phase(podName)}) not ready: ${why.phrase}`,
            next: why.next,
            ...(why.evidence ? { evidence: why.evidence } : {}),
          },
        ]
      : [],
  );
  const unexplained = explained.filter(({ why }) => !why).map(({ podName }) => podName);
  if (!unexplained.length) return findings;
  return [
    ...findings,
    {
      severity,
      check: "bricks",
      where,
      message: `server pod${unexplained.length > 1 ? "s" : ""} ${unexplained.map((podName) => `${podName} (${phase(podName)})`).join(", ")} not ready${lost ? ": a replica set lost its quorum, its files are not writable" : ""}`,
      next: byName.get(unexplained[0]!) ? podLogs(ns, unexplained[0]!) : `kubectl -n ${ns} describe statefulset ${unexplained[0]!.replace(/-0$/, "")}`,
    },
  ];
}

function mountCheck(s: Snapshot, name: string, info: PoolInfo | undefined, where: string): Finding[] {
  const ns = s.namespace;
  if (typeof s.probes === "string") {
    return info?.single_pv_per_pool
      ? []
      : [
          {
            severity: "warning",
            check: "mount",
            where,
            message: `not checked: ${s.probes}`,
            next: `kubectl -n ${ns} get pods -l app.kubernetes.io/name=kadalu-csi-provisioner`,
          },
        ];
  }
  if (!info || info.single_pv_per_pool) return [];
  const probe = s.probes.get(name);
  if (!probe || probe.mount === "missing")
    return [
      {
        severity: "critical",
        check: "mount",
        where,
        message: "the provisioner has not mounted the pool: PVs of it cannot be created",
        next: podLogs(ns, "kadalu-csi-provisioner-0", "kadalu-provisioner"),
      },
    ];
  if (probe.mount === "dead")
    return [
      {
        severity: "critical",
        check: "mount",
        where,
        message: `the provisioner's mount of the pool does not answer (${probe.detail ?? "ENOTCONN"}): its FUSE client died or no brick answers`,
        next: podLogs(ns, "kadalu-csi-provisioner-0", "kadalu-provisioner"),
        evidence: probe.detail,
      },
    ];
  if (probe.statDb !== "ok")
    return [
      {
        severity: "critical",
        check: "stat.db",
        where,
        message: `stat.db is ${probe.statDb}: usage cannot be accounted`,
        next: `kubectl -n ${ns} exec kadalu-csi-provisioner-0 -c kadalu-provisioner -- node /kadalu/bin/kadalu-csi probe /mnt/${name}`,
        evidence: probe.detail,
      },
    ];
  return [ok("mount", where, "mounted, stat.db readable")];
}

function capacityCheck(s: Snapshot, pool: KadaluStorage, info: PoolInfo | undefined, where: string, thresholds: Thresholds): Finding[] {
  const ns = s.namespace;
  const usage = pool.status?.usage;
  if (!usage || !(usage.capacityBytes > 0)) return [];
  const percent = (usage.provisionedBytes / usage.capacityBytes) * 100;
  const severity: Severity = percent >= thresholds.criticalPercent ? "critical" : percent >= thresholds.warnPercent ? "warning" : "ok";
  return [
    {
      severity,
      check: "capacity",
      where,
      message: `${percent.toFixed(1)}% provisioned (${counted(usage.pvCount, "PV")})`,
      ...(severity === "ok"
        ? {}
        : { next: info && !isExternal(info) ? growAdvice(info, pool.metadata.namespace ?? ns) : kadalu(ns, `storage-list ${pool.metadata.name} --status`) }),
    },
  ];
}

function healCheck(s: Snapshot, name: string, where: string): Finding[] {
  const ns = s.namespace;
  const heals = s.heals.get(name);
  const risk = s.healRisks?.get(name);
  const atRisk = risk && risk.pvcs.length > 0 ? `; PVCs at risk: ${atRiskList(risk)}` : "";
  if (typeof heals === "number") {
    return [
      heals > 0
        ? {
            severity: "warning",
            check: "heals",
            where,
            message: `${heals} heal entr${heals === 1 ? "y" : "ies"} pending${atRisk}`,
            next: kadalu(ns, `healinfo ${name}`),
          }
        : ok("heals", where, "no heal pending"),
    ];
  }
  if (typeof heals === "string" && risk) {
    const entries = risk.pvcs.reduce((sum, item) => sum + item.entries, risk.outsidePvs + risk.unresolved);
    return [
      {
        severity: "warning",
        check: "heals",
        where,
        message: `${entries} heal entr${entries === 1 ? "y" : "ies"} pending on the bricks that answered (not every brick gave a count)${atRisk}`,
        next: kadalu(ns, `healinfo ${name}`),
      },
    ];
  }
  if (typeof heals === "string")
    return [{ severity: "warning", check: "heals", where, message: `heals not checked: ${heals}`, next: kadalu(ns, `healinfo ${name}`) }];
  return heals ? [ok("heals", where, `not checked: ${heals.notAsked}`)] : [];
}

export function poolChecks(s: Snapshot, pool: KadaluStorage, thresholds: Thresholds): Finding[] {
  const name = pool.metadata.name;
  const where = `pool/${name}`;
  const info = s.infos.find((candidate) => candidate.volname === name);
  return [
    poolStateCheck(pool, where, s.namespace),
    ...(info && !isExternal(info) ? brickChecks(s, info, where) : []),
    ...mountCheck(s, name, info, where),
    ...capacityCheck(s, pool, info, where, thresholds),
    ...healCheck(s, name, where),
    ...(info && !isExternal(info) && s.budgets !== undefined ? drainChecks(s.namespace, info, s.pods, s.budgets) : []),
  ];
}

/** PVCs of Kadalu StorageClasses that stay Pending, with what their latest warning (else latest event) says. */
export function pendingClaimChecks(s: Snapshot, pool?: string): Finding[] {
  const classes = new Set(s.kadaluStorageClasses.filter((name) => !pool || name === storageClassName(pool)));
  return s.claims
    .filter((claim) => claim.status?.phase === "Pending" && classes.has(claim.spec?.storageClassName ?? ""))
    .map((claim) => {
      const namespace = claim.metadata?.namespace ?? "default";
      const events = s.events
        .filter(
          (event) =>
            event.involvedObject?.kind === "PersistentVolumeClaim" &&
            event.involvedObject.name === claim.metadata?.name &&
            event.involvedObject.namespace === namespace,
        )
        .sort((a, b) => ((a.lastTimestamp ?? a.eventTime ?? "") < (b.lastTimestamp ?? b.eventTime ?? "") ? -1 : 1));
      // A warning says why; the PV controller's "waiting for a volume" repeats after it and says nothing new.
      const latest = events.filter((event) => event.type === "Warning").at(-1) ?? events.at(-1);
      return {
        severity: "warning" as const,
        check: "pvc",
        where: `pvc/${namespace}/${claim.metadata?.name}`,
        message: `Pending (${claim.spec?.storageClassName})${latest ? `: ${latest.reason}: ${latest.message}` : ": no event yet"}`,
        next: `kubectl -n ${namespace} describe pvc ${claim.metadata?.name}`,
        evidence: events.map((event) => `${event.type} ${event.reason}: ${event.message}`).join("\n") || undefined,
      };
    });
}

export function diagnose(s: Snapshot, options: { pool?: string; thresholds?: Thresholds } = {}): Finding[] {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const pools = s.pools.filter((pool) => !options.pool || pool.metadata.name === options.pool);
  const cluster = options.pool ? [] : [...operatorCheck(s), ...crdCheck(s), ...csiCheck(s), ...versionCheck(s), ...snapshotsOf(s)];
  return [...cluster, ...pools.flatMap((pool) => poolChecks(s, pool, thresholds)), ...pendingClaimChecks(s, options.pool)];
}

/** The snapshot finding, with the Kadalu PVCs waiting to be restored from a VolumeSnapshot. */
function snapshotsOf(s: Snapshot): Finding[] {
  const classes = new Set(s.kadaluStorageClasses);
  const restores = s.claims
    .filter(
      (claim) => claim.status?.phase === "Pending" && classes.has(claim.spec?.storageClassName ?? "") && claim.spec?.dataSource?.kind === "VolumeSnapshot",
    )
    .map((claim) => `${claim.metadata?.namespace}/${claim.metadata?.name}`);
  return snapshotCheck(s.namespace, s.snapshots, s.provisioner, restores);
}

export function exitCodeOf(findings: Finding[]): number {
  if (findings.some((finding) => finding.severity === "critical")) return DOCTOR_EXIT.critical;
  if (findings.some((finding) => finding.severity === "warning")) return DOCTOR_EXIT.warning;
  return DOCTOR_EXIT.healthy;
}

/** The provisioner's probe output: `<pool> <mount> <statdb> [detail]` per line. */
export function parseProbe(text: string): Map<string, PoolProbe> {
  const probes = new Map<string, PoolProbe>();
  for (const line of text.split("\n")) {
    const [pool, mount, statDb, ...detail] = line.split("\t");
    if (!pool || !mount || !statDb) continue;
    if (!["ok", "dead", "missing"].includes(mount) || !["ok", "unreadable", "missing"].includes(statDb)) continue;
    probes.set(pool, {
      mount: mount as PoolProbe["mount"],
      statDb: statDb as PoolProbe["statDb"],
      ...(detail.length ? { detail: detail.join(" ").trim() } : {}),
    });
  }
  return probes;
}
