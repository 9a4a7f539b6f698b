import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { diagnose, exitCodeOf, parseProbe, type Finding, type Snapshot } from "../../../src/core/doctor/checks.js";
import { decodeInfo } from "../../../src/core/info/codec.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";

const info = decodeInfo("pool1", readFileSync(new URL("../../fixtures/info/pool1.info", import.meta.url), "utf8")).info!;
const readyPod = (name: string, node = "kube1") => ({
  metadata: { name, namespace: "kadalu" },
  spec: { nodeName: node },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});
const image = (name: string, version = "0.1.0") => ({
  spec: { replicas: 1, template: { spec: { containers: [{ name, image: `ghcr.io/kubectl-kadalu/x:${version}` }] } } },
});

function healthy(): Snapshot {
  const pool: KadaluStorage = {
    apiVersion: "kadalu-operator.storage/v1alpha1",
    kind: "KadaluStorage",
    metadata: { name: "pool1", namespace: "kadalu" },
    spec: { type: "Replica3", storage: [] },
    status: { state: "ready", usage: { capacityBytes: 100, provisionedBytes: 40, pvCount: 4, updatedAt: "2026-12-02T00:00:00Z" } },
  } as KadaluStorage;
  return {
    namespace: "kadalu",
    pluginVersion: "0.1.0",
    operator: { ...image("kadalu-operator"), status: { availableReplicas: 1 } },
    crdEstablished: true,
    provisioner: { ...image("kadalu-provisioner"), status: { readyReplicas: 1 } },
    nodeplugin: { ...image("kadalu-nodeplugin"), status: { desiredNumberScheduled: 3, numberReady: 3 } },
    pods: [
      readyPod("operator-7d9f-abcde"),
      readyPod("kadalu-csi-provisioner-0"),
      ...["kube1", "kube2", "kube3"].map((node, i) => readyPod(`kadalu-csi-nodeplugin-${i}`, node)),
      ...[0, 1, 2].map((i) => readyPod(`server-pool1-${i}-0`, `kube${i + 1}`)),
    ],
    pools: [pool],
    infos: [info],
    probes: new Map([["pool1", { mount: "ok", statDb: "ok" }]]),
    heals: new Map([["pool1", 0]]),
    kadaluStorageClasses: ["kadalu.pool1"],
    claims: [],
    events: [],
  };
}

const bad = (findings: Finding[]) =>
  findings.filter((finding) => finding.severity !== "ok").map(({ severity, check, where, message, next }) => ({ severity, check, where, message, next }));

describe("doctor's checks", () => {
  it("nothing installed (after uninstall --purge): each missing part names install, and no version is claimed", () => {
    const purged: Snapshot = {
      ...healthy(),
      operator: undefined,
      crdEstablished: undefined,
      provisioner: undefined,
      nodeplugin: undefined,
      pods: [],
      pools: [],
      infos: [],
      heals: new Map(),
      probes: new Map(),
      kadaluStorageClasses: [],
    };
    const findings = diagnose(purged);
    expect(findings.map((f) => f.check)).not.toContain("versions");
    expect(findings.find((f) => f.check === "crd")).toMatchObject({
      severity: "critical",
      message: "the KadaluStorage CRD is missing",
      next: "kubectl kadalu install",
    });
  });

  it("a healthy cluster: every check ok, exit 0", () => {
    const findings = diagnose(healthy());
    expect(bad(findings)).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual([
      "operator",
      "crd",
      "csi-provisioner",
      "csi-nodeplugin",
      "versions",
      "pool-state",
      "bricks",
      "mount",
      "capacity",
      "heals",
    ]);
    expect(exitCodeOf(findings)).toBe(0);
  });

  it("the operator scaled to 0 is critical, and says how to scale it back", () => {
    const s = healthy();
    s.operator = { ...s.operator, spec: { ...s.operator!.spec, replicas: 0 }, status: { availableReplicas: 0 } };
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "critical",
        check: "operator",
        where: "deployment/operator",
        message: "the operator is scaled to 0: pools are not reconciled",
        next: "kubectl -n kadalu scale deployment operator --replicas=1",
      },
    ]);
    expect(exitCodeOf(diagnose(s))).toBe(4);
  });

  it("one server pod of a Replica3 pool not ready is a warning naming its logs; two are critical (quorum lost)", () => {
    const s = healthy();
    s.pods.find((p) => p.metadata?.name === "server-pool1-1-0")!.status!.conditions = [{ type: "Ready", status: "False" }];
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "warning",
        check: "bricks",
        where: "pool/pool1",
        message: "server pod server-pool1-1-0 (Running) not ready",
        next: "kubectl kadalu logs server-pool1-1-0",
      },
    ]);
    expect(exitCodeOf(diagnose(s))).toBe(3);
    s.pods = s.pods.filter((p) => p.metadata?.name !== "server-pool1-2-0");
    expect(bad(diagnose(s))[0]).toMatchObject({
      severity: "critical",
      message: "server pods server-pool1-1-0 (Running), server-pool1-2-0 (missing) not ready: a replica set lost its quorum, its files are not writable",
    });
  });

  it("a dead FUSE mount in the provisioner is critical, with the evidence under --verbose", () => {
    const s = healthy();
    s.probes = parseProbe("pool1\tdead\tmissing\tENOTCONN\n");
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "critical",
        check: "mount",
        where: "pool/pool1",
        message: "the provisioner's mount of the pool does not answer (ENOTCONN): its FUSE client died or no brick answers",
        next: "kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner",
      },
    ]);
    expect(diagnose(s).find((f) => f.check === "mount")!.evidence).toBe("ENOTCONN");
  });

  it("capacity: warning at 80%, critical at 90% provisioned, thresholds configurable", () => {
    const s = healthy();
    s.pools[0]!.status!.usage!.provisionedBytes = 85;
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "warning",
        check: "capacity",
        where: "pool/pool1",
        message: "85.0% provisioned (4 PVs)",
        next: "kubectl kadalu storage-expand pool1 --device NODE:/dev/sdX --device NODE:/dev/sdX --device NODE:/dev/sdX",
      },
    ]);
    s.pools[0]!.status!.usage!.provisionedBytes = 95;
    expect(bad(diagnose(s))[0]!.severity).toBe("critical");
    expect(bad(diagnose(s, { thresholds: { warnPercent: 96, criticalPercent: 99 } }))).toEqual([]);
  });

  it("a Pending PVC of a Kadalu StorageClass is a warning with its latest event and the describe command", () => {
    const s = healthy();
    s.claims = [
      { metadata: { name: "data", namespace: "apps" }, spec: { storageClassName: "kadalu.pool1" }, status: { phase: "Pending" } },
      { metadata: { name: "other", namespace: "apps" }, spec: { storageClassName: "standard" }, status: { phase: "Pending" } },
    ];
    s.events = [
      {
        involvedObject: { kind: "PersistentVolumeClaim", name: "data", namespace: "apps" },
        type: "Normal",
        reason: "Provisioning",
        message: "External provisioner is provisioning volume",
        lastTimestamp: "2026-12-02T00:00:01Z",
      },
      {
        involvedObject: { kind: "PersistentVolumeClaim", name: "data", namespace: "apps" },
        type: "Warning",
        reason: "ProvisioningFailed",
        message: "rpc error: code = ResourceExhausted desc = no pool has room",
        lastTimestamp: "2026-12-02T00:00:02Z",
      },
    ];
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "warning",
        check: "pvc",
        where: "pvc/apps/data",
        message: "Pending (kadalu.pool1): ProvisioningFailed: rpc error: code = ResourceExhausted desc = no pool has room",
        next: "kubectl -n apps describe pvc data",
      },
    ]);
    expect(bad(diagnose(s, { pool: "pool2" }))).toEqual([]);
  });

  it("version skew between the plugin and the running images is a warning with the upgrade command", () => {
    const s = healthy();
    s.operator = { ...image("kadalu-operator", "0.0.9"), status: { availableReplicas: 1 } };
    expect(bad(diagnose(s))).toEqual([
      {
        severity: "warning",
        check: "versions",
        where: "plugin, operator, CSI",
        message: "this plugin is 0.1.0; operator 0.0.9",
        next: "kubectl kadalu install --upgrade",
      },
    ]);
  });

  it("heals pending, and a provisioner it could not look from, are warnings", () => {
    const s = healthy();
    s.heals = new Map([["pool1", 7]]);
    s.probes = "no ready CSI provisioner pod to look from";
    expect(bad(diagnose(s)).map((f) => `${f.check}: ${f.message}`)).toEqual([
      "mount: not checked: no ready CSI provisioner pod to look from",
      "heals: 7 heal entries pending",
    ]);
  });

  it("heals pending name the PVCs at risk, also when a brick down gave no count", () => {
    const s = healthy();
    s.heals = new Map([["pool1", 7]]);
    s.healRisks = new Map([
      [
        "pool1",
        {
          pvcs: [
            { pvc: "apps/data", pv: "pvc-1", entries: 4 },
            { pv: "pvc-2", entries: 1 },
          ],
          outsidePvs: 2,
          unresolved: 0,
        },
      ],
    ]);
    expect(bad(diagnose(s)).map((f) => f.message)).toEqual(["7 heal entries pending; PVCs at risk: apps/data (4), pvc-2 (1)"]);
    s.heals = new Map([["pool1", "/kadalu/heal-info.sh in server-pool1-0-0 (exit 0) gave no count for every brick"]]);
    expect(bad(diagnose(s)).map((f) => f.message)).toEqual([
      "7 heal entries pending on the bricks that answered (not every brick gave a count); PVCs at risk: apps/data (4), pvc-2 (1)",
    ]);
  });

  it("reads the provisioner's probe lines, ignoring what it does not know", () => {
    expect([...parseProbe("pool1\tok\tok\npool2\tok\tunreadable\tnot an SQLite file\nnoise\npool3\tweird\tok\n")]).toEqual([
      ["pool1", { mount: "ok", statDb: "ok" }],
      ["pool2", { mount: "ok", statDb: "unreadable", detail: "not an SQLite file" }],
    ]);
  });
});

describe("support bundle contents", async () => {
  const { boundLog, scrubber, tidy } = await import("../../../src/core/doctor/bundle.js");
  it("scrubs the --redact words (longest first) and anything shaped like a bearer token", () => {
    const scrub = scrubber(["gluster1.example.com", "gluster1", ""]);
    expect(scrub("mount gluster1.example.com:/gv0 and gluster1")).toBe("mount [REDACTED]:/gv0 and [REDACTED]");
    expect(scrub("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlMTIz done")).toBe(
      "Authorization: Bearer [REDACTED-TOKEN] done",
    );
  });
  it("keeps a log's newest bytes from a line start, saying how much was left out", () => {
    expect(boundLog("short\n", 100)).toBe("short\n");
    expect(boundLog("aaaa\nbbbb\ncccc\n", 8)).toBe("[... 10 earlier bytes left out (--max-log-bytes 8)]\ncccc\n");
  });
  it("drops managedFields and the last-applied copy, keeps every other annotation", () => {
    expect(
      tidy({
        metadata: { name: "x", managedFields: [{}], annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", keep: "1" } },
        spec: { a: 1 },
      }),
    ).toEqual({ metadata: { name: "x", annotations: { keep: "1" } }, spec: { a: 1 } });
  });

  describe("drain", () => {
    const budget = (status?: Record<string, number>) => ({
      metadata: { name: "server-pool1-group-0", labels: { "kadalu.io/pool": "pool1" } },
      spec: {
        selector: {
          matchExpressions: [
            { key: "statefulset.kubernetes.io/pod-name", operator: "In", values: ["server-pool1-0-0", "server-pool1-1-0", "server-pool1-2-0"] },
          ],
        },
      },
      ...(status ? { status } : {}),
    });
    const drain = (s: Snapshot) =>
      diagnose(s)
        .filter((f) => f.check === "drain")
        .map(({ severity, where, message, next }) => ({ severity, where, message, next }));

    it("a group with one brick down: draining the nodes of the other two is blocked, and doctor says which pod to bring back", () => {
      const s = healthy();
      s.pods.find((p) => p.metadata?.name === "server-pool1-1-0")!.status!.conditions = [{ type: "Ready", status: "False" }];
      s.budgets = [budget({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 })];
      const why =
        "PodDisruptionBudget server-pool1-group-0 allows no disruption: 2/3 brick pods of the group are ready, 2 needed (not ready: server-pool1-1-0)";
      // The pod that is down may go (the group stays at its minimum): kube2 drains.
      expect(drain(s)).toEqual([
        {
          severity: "warning",
          where: "node/kube1",
          message: `kubectl drain kube1 is blocked: it cannot evict server-pool1-0-0 of pool pool1; ${why}`,
          next: "kubectl kadalu logs server-pool1-1-0",
        },
        {
          severity: "warning",
          where: "node/kube3",
          message: `kubectl drain kube3 is blocked: it cannot evict server-pool1-2-0 of pool pool1; ${why}`,
          next: "kubectl kadalu logs server-pool1-1-0",
        },
      ]);
      expect(exitCodeOf(diagnose(s))).toBe(3);
      // A brick evicted by an earlier drain waits Pending for its cordoned node: describe tells why.
      s.pods.find((p) => p.metadata?.name === "server-pool1-1-0")!.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False" }] };
      expect(drain(s).map((finding) => finding.next)).toEqual([
        "kubectl -n kadalu describe pod server-pool1-1-0",
        "kubectl -n kadalu describe pod server-pool1-1-0",
      ]);
    });

    it("a healthy group allows one: ok; no budget at all is a warning naming the upgrade; unreadable budgets say why", () => {
      const s = healthy();
      s.budgets = [budget({ disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 })];
      expect(drain(s)).toEqual([
        {
          severity: "ok",
          where: "pool/pool1",
          message: "1 disruption budget: a drain takes at most what each group survives, and waits for the rest",
          next: undefined,
        },
      ]);
      s.budgets = [];
      expect(drain(s)[0]).toMatchObject({
        severity: "warning",
        message: expect.stringContaining("no PodDisruptionBudget guards the bricks"),
        next: "kubectl kadalu install --upgrade",
      });
      s.budgets = 'cannot list poddisruptionbudgets in namespace "kadalu": forbidden';
      expect(drain(s)[0]).toMatchObject({
        severity: "warning",
        message: 'disruption budgets not checked: cannot list poddisruptionbudgets in namespace "kadalu": forbidden',
      });
    });

    it("a Replica1 pool has no budget, and doctor says a drain takes its files offline", () => {
      const s = healthy();
      s.infos = [{ ...info, type: "Replica1" } as typeof info];
      s.budgets = [];
      expect(drain(s)).toEqual([
        {
          severity: "ok",
          where: "pool/pool1",
          message:
            "no disruption budget (Replica1 keeps one copy): draining node kube1, kube2, kube3 takes the files on those bricks offline until the pods run again",
          next: undefined,
        },
      ]);
    });
  });
});
