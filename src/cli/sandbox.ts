/**
 * The `npm run demo -- --keep` sandbox (kubeconfig context "kadalu-sandbox") runs the operator and the CSI
 * provisioner in its own process, not in containers: there is no container log to read and no server pod to
 * exec into. Commands that need them say so in one line, when what they need is missing, instead of
 * "Unexpected server response: 400" or empty logs. (Tests give the sandbox exec handlers and logs: then
 * these commands work there.)
 */
import { ClusterError } from "../core/errors.js";
import type { Kube } from "../kube/client.js";

export const SANDBOX_CONTEXT = "kadalu-sandbox";

export function inSandbox(kube: Kube): boolean {
  return kube.config.getCurrentContext() === SANDBOX_CONTEXT;
}

/** What the sandbox cannot do: ends the whole command, not one pool's part of it. */
export class SandboxLimit extends ClusterError {}

/** Throws when talking to the sandbox: `what` says what the command needs that the sandbox cannot give. */
export function refuseInSandbox(kube: Kube, command: string, what: string): void {
  if (inSandbox(kube))
    throw new SandboxLimit(`${command} ${what}, and the sandbox (context "${SANDBOX_CONTEXT}") runs no containers; try it on a real cluster`);
}

/** Runs `action`; if it fails in the sandbox, the failure is the sandbox's one line. */
export async function sandboxAware<T>(kube: Kube, command: string, what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    refuseInSandbox(kube, command, what);
    throw error;
  }
}
