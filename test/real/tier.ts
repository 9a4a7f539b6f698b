/** What each real-tier test file needs, found once: the Kubernetes parts and GlusterFS, or why not. */
import { glusterParts, kubernetesParts, type GlusterParts, type KubernetesParts } from "./components.js";

const kube = kubernetesParts();
const gluster = glusterParts();

export const kubernetes: KubernetesParts | undefined = typeof kube === "string" ? undefined : kube;
export const glusterfs: GlusterParts | undefined = typeof gluster === "string" ? undefined : gluster;
/** Why Kubernetes tests skip (undefined: they run). */
export const noKubernetes: string | undefined = typeof kube === "string" ? kube : undefined;
/** Why Gluster tests skip. */
export const noGluster: string | undefined = typeof gluster === "string" ? gluster : undefined;
