/** What commands need from the outside world; tests pass real parts pointed at the test API server. */
import type { Kube } from "../kube/client.js";
import type { GlobalOptions } from "./flags.js";
import type { IOStreams } from "./io.js";
import type { Confirm } from "./prompt.js";
import { parseDuration } from "../core/duration.js";

export interface Deps {
  io: IOStreams;
  env: NodeJS.ProcessEnv;
  /** Loads the Kubernetes client on first use only: commands that stay offline never pay for it. */
  connect: (options: GlobalOptions) => Promise<Kube>;
  confirm: Confirm;
}

/** A `connect` for `env` that imports the Kubernetes client only when first called. */
export function connectWithClient(env: NodeJS.ProcessEnv): Deps["connect"] {
  return async (options) => {
    const { connect } = await import("../kube/client.js");
    const requestTimeoutMs = parseDuration("--request-timeout", options.requestTimeout ?? "30s");
    return connect({ kubeconfig: options.kubeconfig, context: options.context ?? options.kubectlContext, requestTimeoutMs }, env);
  };
}
