/** A node's block devices, asked of its nodeplugin pod (`kadalu-csi devices`): for storage-devices and storage-add. */
import { parseDeviceReport, type BlockDevice } from "../../core/devices.js";
import { NODEPLUGIN_DAEMONSET } from "../../core/manifests/common.js";
import { isReady, type PodView } from "../../core/upgrade/switch-over.js";
import type { Kube } from "../../kube/client.js";

export const NODEPLUGIN_SELECTOR = `app.kubernetes.io/name=${NODEPLUGIN_DAEMONSET}`;
export const NODEPLUGIN_CONTAINER = "kadalu-nodeplugin";
const DEVICES_TOOL = ["node", "/kadalu/bin/kadalu-csi", "devices"];

/** Node -> the name of its ready nodeplugin pod. */
export function nodepluginPods(pods: PodView[]): Map<string, string> {
  const byNode = new Map<string, string>();
  for (const pod of pods) if (isReady(pod) && pod.spec?.nodeName && pod.metadata?.name) byNode.set(pod.spec.nodeName, pod.metadata.name);
  return byNode;
}

/** The node's devices, or why they could not be read. */
export async function askNode(kube: Kube, namespace: string, pod: string): Promise<BlockDevice[] | string> {
  try {
    const result = await kube.exec(namespace, pod, NODEPLUGIN_CONTAINER, DEVICES_TOOL);
    if (result.exitCode !== 0) return `kadalu-csi devices in ${pod} failed (exit ${result.exitCode}): ${result.stderr.toString().trim() || "no message"}`;
    return parseDeviceReport(result.stdout.toString("utf8"));
  } catch (error) {
    return `cannot ask ${pod}: ${(error as Error).message}`;
  }
}
