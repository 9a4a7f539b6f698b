/**
 * The operator's /metrics: pools from the informer's cache (capacity, provisioned bytes and PV count as
 * the provisioner records them in each pool's status, bricks, state), brick pods' containers, and how
 * reconciles go. Everything is read from memory at scrape time: a scrape costs no API request.
 */
import { POOL_STATES, RECONCILE_BUCKETS } from "../src/core/metrics/catalog.js";
import type { KadaluStorageStatus } from "../src/core/pool/types.js";
import { counterOf, gaugeOf, histogramOf, processGauges, type Registry } from "../src/metrics/registry.js";
import type { Gauge } from "prom-client";
import type { Controller } from "./controller.js";

export function operatorMetrics(registry: Registry, controller: Controller, podName: string): void {
  processGauges(registry, podName);
  const pools = (): { labels: { pool: string; namespace: string }; status: KadaluStorageStatus }[] =>
    [...controller.pools.cache.values()].map((pool) => ({
      labels: { pool: pool.metadata.name, namespace: pool.metadata.namespace ?? "" },
      status: pool.status ?? {},
    }));
  const perPool = (name: string, value: (status: KadaluStorageStatus) => number | undefined): void => {
    gaugeOf(registry, name, function collect() {
      this.reset();
      for (const { labels, status } of pools()) {
        const current = value(status);
        if (current !== undefined) this.set(labels, current);
      }
    });
  };
  perPool("kadalu_pool_capacity_bytes", (status) => status.usage?.capacityBytes);
  perPool("kadalu_pool_provisioned_bytes", (status) => status.usage?.provisionedBytes);
  perPool("kadalu_pool_pvs", (status) => status.usage?.pvCount);
  perPool("kadalu_pool_bricks", (status) => status.bricks?.total);
  perPool("kadalu_pool_bricks_ready", (status) => status.bricks?.ready);
  gaugeOf(registry, "kadalu_pool_state", function collect() {
    this.reset();
    for (const { labels, status } of pools()) for (const state of POOL_STATES) this.set({ ...labels, state }, status.state === state ? 1 : 0);
  });
  const containers = (ready: boolean) =>
    function collect(this: Gauge): void {
      this.reset();
      for (const pod of controller.pods.cache.values()) {
        const statuses = pod.status?.containerStatuses ?? [];
        this.set({ name: pod.metadata.name }, ready ? statuses.filter((status) => status.ready).length : (pod.spec?.containers.length ?? statuses.length));
      }
    };
  gaugeOf(registry, "kadalu_total_number_of_containers", containers(false));
  gaugeOf(registry, "kadalu_total_number_of_ready_containers", containers(true));
  gaugeOf(registry, "kadalu_workqueue_depth", function collect() {
    this.set(controller.queue.depth());
  });
  const retries = counterOf(registry, "kadalu_workqueue_retries_total");
  const outcomes = counterOf(registry, "kadalu_reconcile_total");
  const durations = histogramOf(registry, "kadalu_reconcile_duration_seconds", RECONCILE_BUCKETS);
  controller.onReconciled = (key, seconds, failed) => {
    const [namespace = "", pool = key] = key.split("/");
    outcomes.inc({ pool, namespace, outcome: failed ? "error" : "success" });
    durations.observe({ pool, namespace }, seconds);
    if (failed) retries.inc();
  };
}
