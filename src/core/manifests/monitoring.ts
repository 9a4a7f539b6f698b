/**
 * For the Prometheus Operator (`install --service-monitor`): a metrics Service in front of the operator and
 * of the CSI provisioner, a ServiceMonitor scraping both, a PodMonitor scraping every brick pod (the
 * operator makes those, with no Service in front), and the alert rules as a PrometheusRule.
 * Without it, the pods' prometheus.io annotations serve Prometheus' usual pod discovery.
 */
import { ALERT_GROUPS } from "../metrics/alerts.js";
import { meta, PROVISIONER_STATEFULSET, selector } from "./common.js";
import type { KubeObject } from "../kube-vocabulary.js";
import type { InstallOptions } from "./options.js";

export const METRICS_PORT = 8050;
export const MONITORING_API = "monitoring.coreos.com/v1";
const METRICS_LABEL = "kadalu.io/metrics";

/** The pod template annotations of Prometheus' kubernetes-pods discovery convention. */
export const scrapeAnnotations = { "prometheus.io/scrape": "true", "prometheus.io/port": String(METRICS_PORT), "prometheus.io/path": "/metrics" };

function metricsService(options: InstallOptions, name: string, pods: Record<string, string>): KubeObject {
  const metadata = meta(options, name, "metrics");
  metadata.labels = { ...metadata.labels, [METRICS_LABEL]: "true" };
  return { apiVersion: "v1", kind: "Service", metadata, spec: { selector: pods, ports: [{ name: "metrics", port: METRICS_PORT, targetPort: "metrics" }] } };
}

export function monitoringObjects(options: InstallOptions): KubeObject[] {
  return [
    metricsService(options, "kadalu-operator-metrics", selector("kadalu-operator", "operator")),
    metricsService(options, "kadalu-csi-provisioner-metrics", selector(PROVISIONER_STATEFULSET, "csi-driver")),
    {
      apiVersion: MONITORING_API,
      kind: "ServiceMonitor",
      metadata: meta(options, "kadalu", "metrics"),
      spec: {
        selector: { matchLabels: { [METRICS_LABEL]: "true" } },
        namespaceSelector: { matchNames: [options.namespace] },
        endpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
      },
    },
    {
      apiVersion: MONITORING_API,
      kind: "PodMonitor",
      metadata: meta(options, "kadalu-server", "metrics"),
      spec: {
        selector: { matchLabels: selector("server", "server") },
        namespaceSelector: { matchNames: [options.namespace] },
        podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
      },
    },
    { apiVersion: MONITORING_API, kind: "PrometheusRule", metadata: meta(options, "kadalu", "metrics"), spec: { groups: ALERT_GROUPS } },
  ];
}
