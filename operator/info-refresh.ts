/**
 * Has the kubelet refresh kadalu-info in the pods that read it now, not at its next periodic sync of the
 * pod (one to two minutes later). Any change to a pod makes the kubelet sync it, and a sync mounts the
 * pod's ConfigMap volumes again from the kubelet's watched copy: an annotation is the smallest change.
 * A grown or changed pool's brick pods then write their volfiles again within seconds, and the CSI pods
 * (whose FUSE clients fetch the new graph from those bricks) see the new bricks as soon.
 *
 * Only the pods a change concerns are touched: the changed pool's brick pods and the CSI driver's pods,
 * never the other pools' bricks. A refresh that fails is logged: the periodic sync still comes.
 */
import type { Kube } from "../src/kube/client.js";
import { POOL_LABEL } from "../src/core/kube-vocabulary.js";

export const INFO_VERSION_ANNOTATION = "kadalu.io/info-version";
const CSI_SELECTOR = "app.kubernetes.io/part-of=kadalu,app.kubernetes.io/component=csi-driver";
const PARALLEL = 8;

interface PodLike {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  status?: { phase?: string };
}

/** The pool a brick pod serves: its label, or (upstream's pods carry none) its name, `server-POOL-N-0`. */
export function poolOfBrickPod(pod: PodLike): string | undefined {
  return pod.metadata?.labels?.[POOL_LABEL] ?? /^server-(.+)-\d+-0$/.exec(pod.metadata?.name ?? "")?.[1];
}

export class InfoRefresh {
  /** Pools whose change waits for the refresh under way to end. */
  private pending = new Map<string, string>();
  private running?: Promise<void>;

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    /** The brick pods the operator watches (its pod informer's cache). */
    private readonly brickPods: () => Iterable<PodLike>,
    private readonly log: (message: string) => void,
  ) {}

  /** kadalu-info now holds `pool`'s entry at `version` (the ConfigMap's resourceVersion). Never throws, never waits. */
  changed(pool: string, version: string): void {
    this.pending.set(pool, version);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves once every refresh asked so far is done (tests, and a stopping operator). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = new Map(this.pending);
      this.pending.clear();
      const version = [...batch.values()].at(-1)!;
      try {
        const csi = await this.kube.getPath<{ items: PodLike[] }>(`/api/v1/namespaces/${this.namespace}/pods`, { labelSelector: CSI_SELECTOR });
        const bricks = [...this.brickPods()].filter((pod) => batch.has(poolOfBrickPod(pod) ?? ""));
        await this.annotate([...bricks, ...(csi?.items ?? [])], version);
      } catch (error) {
        this.log(`kadalu-info refresh of ${[...batch.keys()].join(", ")}'s pods not asked: ${(error as Error).message}`);
      }
    }
  }

  private async annotate(pods: PodLike[], version: string): Promise<void> {
    const due = pods.filter(
      (pod) =>
        pod.metadata?.name &&
        !pod.metadata.deletionTimestamp &&
        pod.status?.phase === "Running" &&
        pod.metadata.annotations?.[INFO_VERSION_ANNOTATION] !== version,
    );
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length) {
        const name = due[next++]!.metadata!.name!;
        await this.kube
          .mergePatch(
            `/api/v1/namespaces/${this.namespace}/pods/${name}`,
            { metadata: { annotations: { [INFO_VERSION_ANNOTATION]: version } } },
            `cannot annotate pod ${name}`,
          )
          .catch((error: Error) => this.log(`kadalu-info refresh not asked of pod ${name}: ${error.message}`));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }
}
