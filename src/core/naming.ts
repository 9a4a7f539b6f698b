/** Kubernetes and Kadalu naming rules (RFC 1123 labels, upstream brick host names). */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

export const STORAGE_CLASS_PREFIX = "kadalu.";

export function dns1123LabelError(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_LABEL_MAX) return `must be at most ${DNS1123_LABEL_MAX} characters (has ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return "must consist of lower case letters, digits and '-', and start and end with a letter or digit";
  }
  return undefined;
}

export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > DNS1123_SUBDOMAIN_MAX) {
    return `must be at most ${DNS1123_SUBDOMAIN_MAX} characters (has ${value.length})`;
  }
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return "must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit";
  }
  return undefined;
}

/**
 * Upstream's `get_brick_hostname`: '-' survives, every other non-word character is dropped.
 * For a valid DNS-1123 label this is the identity, which is why pool names are validated first.
 */
export function brickDnsName(pool: string): string {
  return pool
    .replace(/-/g, "_")
    .replace(/[^A-Za-z0-9_]/g, "")
    .replace(/_/g, "-");
}

/** StatefulSet name of brick `index`: `server-<dnsname>-<i>`; its only pod is `<that>-0`. */
export function serverStatefulSetName(pool: string, index: number): string {
  return `server-${brickDnsName(pool)}-${index}`;
}

export function serverPodName(pool: string, index: number): string {
  return `${serverStatefulSetName(pool, index)}-0`;
}

/** Brick host as written to `bricks[i].node`: resolvable through the headless Service named after the pool. */
export function brickHostName(pool: string, index: number): string {
  return `${serverPodName(pool, index)}.${pool}`;
}

export function storageClassName(pool: string): string {
  return `${STORAGE_CLASS_PREFIX}${pool}`;
}

/**
 * StatefulSet names must leave room for the controller-revision-hash label Kubernetes puts on their
 * pods (`<statefulset>-<10 characters>`, a label value of at most 63 characters).
 */
export const STATEFULSET_NAME_MAX = DNS1123_LABEL_MAX - 11;

/**
 * Problems with a pool name as the source of every object name derived from it: the Service `<pool>`
 * (label), the StorageClass `kadalu.<pool>` and the brick StatefulSets `server-<pool>-<i>`.
 */
export function poolNameError(pool: string, brickCount = 1): string | undefined {
  const labelError = dns1123LabelError(pool);
  if (labelError) return labelError;
  const lastStatefulSet = serverStatefulSetName(pool, Math.max(brickCount - 1, 0));
  if (lastStatefulSet.length > STATEFULSET_NAME_MAX) {
    const room = STATEFULSET_NAME_MAX - (lastStatefulSet.length - pool.length);
    return `is too long: brick StatefulSets such as "${lastStatefulSet}" must fit in ${STATEFULSET_NAME_MAX} characters (Kubernetes adds a revision label to their pods), so use at most ${room} characters`;
  }
  return undefined;
}

/**
 * Orders names by code point, as `kubectl` and Go's sort do. Unlike `localeCompare` it needs no ICU
 * collator, whose first use costs a CLI start 8 ms or more.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
