/**
 * The parts of @kubernetes/client-node this edge uses (kubeconfig and its auth providers, watch, exec,
 * log), imported from their own modules: the package's index also evaluates every generated API and
 * model class at load (~200 ms of each start). Requests go through RawClient instead of the typed APIs.
 */
export { KubeConfig } from "@kubernetes/client-node/dist/config.js";
export { Exec } from "@kubernetes/client-node/dist/exec.js";
export { Log } from "@kubernetes/client-node/dist/log.js";
export { Watch } from "@kubernetes/client-node/dist/watch.js";
