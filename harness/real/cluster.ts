/**
 * envtest, for this project: etcd, a real kube-apiserver (RBAC, token auth, service-account signing) and
 * kube-controller-manager on loopback with free ports; admin and per-ServiceAccount kubeconfigs; and a
 * teardown that leaves no process or directory behind, also when the start fails half way.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { Api } from "./api.js";
import type { KubernetesParts } from "./components.js";
import { Processes, waitUntil } from "./processes.js";

/**
 * The controllers the story needs: PV binding and expansion, protection, GC, namespaces, SA tokens, workloads,
 * and disruption (the operator's PodDisruptionBudgets get their status from it; doctor reads it).
 */
export const CONTROLLERS = [
  "persistentvolume-binder",
  "persistentvolume-expander",
  "pv-protection",
  "pvc-protection",
  "garbagecollector",
  "namespace",
  "serviceaccount",
  "serviceaccount-token",
  "statefulset",
  "daemonset",
  "deployment",
  "replicaset",
  "disruption",
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface RealCluster {
  dir: string;
  server: string;
  ca: string;
  /** Admin (system:masters) access, for the harness and the test's assertions. */
  admin: Api;
  adminKubeconfig: string;
  processes: Processes;
  /** Every request the apiserver answered so far, from its audit log (level Metadata). */
  audit(): AuditEvent[];
  /** A kubeconfig holding a fresh token of this ServiceAccount (the TokenRequest API). */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number; message?: string };
  requestURI: string;
}

const AUDIT_POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n";

export function writeTokenKubeconfig(path: string, server: string, caFile: string, token: string, namespace = "default"): string {
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "real", cluster: { server, "certificate-authority": caFile } }],
      users: [{ name: "user", user: { token } }],
      contexts: [{ name: "real", context: { cluster: "real", user: "user", namespace } }],
      "current-context": "real",
    }),
    { mode: 0o600 },
  );
  return path;
}

export async function startRealCluster(
  parts: KubernetesParts,
  options: { controllers?: string[]; apiserverArgs?: string[]; controllerManagerArgs?: string[]; host?: string } = {},
): Promise<RealCluster> {
  const dir = mkdtempSync(join(tmpdir(), "kadalu-real-"));
  const processes = new Processes(dir);
  // Loopback by default; the node tier binds an address its kubelet's network namespace can reach.
  const host = options.host ?? "127.0.0.1";
  const stop = async (): Promise<void> => {
    await processes.stopAll();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const key = join(dir, "sa.key");
    const pub = join(dir, "sa.pub");
    execFileSync("openssl", ["genrsa", "-out", key, "2048"], { stdio: "ignore" });
    execFileSync("openssl", ["rsa", "-in", key, "-pubout", "-out", pub], { stdio: "ignore" });
    const token = randomBytes(24).toString("hex");
    writeFileSync(join(dir, "tokens.csv"), `${token},kadalu-admin,kadalu-admin,system:masters\n`, { mode: 0o600 });
    const etcd = processes.start("etcd", parts.etcd, [
      "--data-dir",
      join(dir, "etcd"),
      "--listen-client-urls",
      `http://127.0.0.1:${etcdClient}`,
      "--advertise-client-urls",
      `http://127.0.0.1:${etcdClient}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${etcdPeer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${etcdPeer}`,
      "--initial-cluster",
      `default=http://127.0.0.1:${etcdPeer}`,
    ]);
    const auditLog = join(dir, "audit.log");
    writeFileSync(join(dir, "audit-policy.yaml"), AUDIT_POLICY);
    const certDir = join(dir, "certs");
    mkdirSync(certDir);
    const apiserver = processes.start("kube-apiserver", parts.bins["kube-apiserver"], [
      "--etcd-servers",
      `http://127.0.0.1:${etcdClient}`,
      "--bind-address",
      host,
      "--secure-port",
      String(apiPort),
      "--cert-dir",
      certDir,
      "--token-auth-file",
      join(dir, "tokens.csv"),
      "--authorization-mode",
      "RBAC",
      "--service-account-issuer",
      "https://kubernetes.default.svc",
      "--service-account-key-file",
      pub,
      "--service-account-signing-key-file",
      key,
      "--service-cluster-ip-range",
      "10.0.0.0/24",
      "--allow-privileged=true",
      "--kubelet-preferred-address-types",
      "InternalIP",
      "--audit-policy-file",
      join(dir, "audit-policy.yaml"),
      "--audit-log-path",
      auditLog,
      "--audit-log-format",
      "json",
      "--audit-log-mode",
      "blocking",
      // OpenShift enforces this one: setting blockOwnerDeletion needs update on the owner's finalizers.
      "--enable-admission-plugins",
      "OwnerReferencesPermissionEnforcement",
      ...(options.apiserverArgs ?? []),
    ]);
    const server = `https://${host}:${apiPort}`;
    const caFile = join(certDir, "apiserver.crt");
    // The file appears before the apiserver has written all of it (its certificate, then the CA's): taken
    // once two reads in a row agree and it ends with a whole certificate.
    let previous: string | undefined;
    const ca = await waitUntil(
      "the apiserver's serving certificate",
      () => {
        let text: string | undefined;
        try {
          text = readFileSync(caFile, "utf8");
        } catch {
          text = undefined;
        }
        const settled = text !== undefined && text === previous && text.trimEnd().endsWith("-----END CERTIFICATE-----");
        previous = text;
        return settled ? text : undefined;
      },
      30_000,
    );
    const admin = new Api(server, token, ca);
    await waitUntil(
      `kube-apiserver /readyz\n${apiserver.tail()}\n${etcd.tail(5)}`,
      async () => (await admin.get<string>("/readyz")) === "ok" || undefined,
      60_000,
      200,
    );
    const adminKubeconfig = writeTokenKubeconfig(join(dir, "admin.kubeconfig"), server, caFile, token);
    processes.start("kube-controller-manager", parts.bins["kube-controller-manager"], [
      "--kubeconfig",
      adminKubeconfig,
      "--leader-elect=false",
      "--secure-port=0",
      `--controllers=${(options.controllers ?? CONTROLLERS).join(",")}`,
      "--service-account-private-key-file",
      key,
      "--root-ca-file",
      caFile,
      "--use-service-account-credentials=false",
      "--concurrent-gc-syncs=5",
      "--pvclaimbinder-sync-period=1s",
      // Later flags win: the bench sets the binder's resync back to the default.
      ...(options.controllerManagerArgs ?? []),
    ]);
    // The namespace controller and the service-account controller are up when "default" has its ServiceAccount.
    await waitUntil(
      "the default ServiceAccount (controller-manager running)",
      () => admin.find("/api/v1/namespaces/default/serviceaccounts/default"),
      60_000,
      200,
    );
    let counter = 0;
    return {
      dir,
      server,
      ca,
      admin,
      adminKubeconfig,
      processes,
      stop,
      audit: () =>
        readFileSync(auditLog, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as AuditEvent),
      async serviceAccountKubeconfig(namespace, name) {
        const review = await admin.post(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 3600 },
        });
        counter += 1;
        return writeTokenKubeconfig(join(dir, `${namespace}-${name}-${counter}.kubeconfig`), server, caFile, review.status.token, namespace);
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
