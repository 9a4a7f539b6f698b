/** What each real-tier test file needs, found once: the Kubernetes parts and GlusterFS, or why not. */
import { glusterParts, kubernetesParts, prometheusParts, type GlusterParts, type KubernetesParts, type PrometheusParts } from "./components.js";

const kube = kubernetesParts();
const gluster = glusterParts();
const prom = prometheusParts();

export const kubernetes: KubernetesParts | undefined = typeof kube === "string" ? undefined : kube;
export const glusterfs: GlusterParts | undefined = typeof gluster === "string" ? undefined : gluster;
/** Why Kubernetes tests skip (undefined: they run). */
export const noKubernetes: string | undefined = typeof kube === "string" ? kube : undefined;
/** Why Gluster tests skip. */
export const noGluster: string | undefined = typeof gluster === "string" ? gluster : undefined;
export const prometheus: PrometheusParts | undefined = typeof prom === "string" ? undefined : prom;
/** Why Prometheus tests skip. */
export const noPrometheus: string | undefined = typeof prom === "string" ? prom : undefined;
