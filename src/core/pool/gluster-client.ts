/**
 * What an External pool may hand the Gluster FUSE client, which runs in the privileged CSI pods: host
 * names or addresses, a volume name by Gluster's rules, and client options from a documented list only
 * (`volfile=`, `log-file=` and the like would let a pool point the privileged client at any file).
 */

/** Options of the glusterfs client (`mount -t glusterfs -o ...`) an External pool may set. */
export const GLUSTER_CLIENT_OPTIONS = [
  "log-level",
  "transport",
  "direct-io-mode",
  "attribute-timeout",
  "entry-timeout",
  "negative-timeout",
  "gid-timeout",
  "background-qlen",
  "congestion-threshold",
  "use-readdirp",
  "volfile-max-fetch-attempts",
  "reader-thread-count",
  "lru-limit",
  "invalidate-limit",
  "auto-invalidation",
  "kernel-writeback-cache",
  "fopen-keep-cache",
  "acl",
  "resolve-gids",
] as const;

const VALUE = /^[A-Za-z0-9._-]{1,64}$/;

/** Problems with a comma-separated option list such as `log-level=DEBUG,attribute-timeout=5`; [] when fine. */
export function glusterOptionsProblems(text: string): string[] {
  if (!text) return [];
  return text.split(",").flatMap((option) => {
    const [key, value, extra] = option.split("=");
    if (!key || !(GLUSTER_CLIENT_OPTIONS as readonly string[]).includes(key)) {
      return [`gluster option "${option}" is not one of the client options an External pool may set (${GLUSTER_CLIENT_OPTIONS.join(", ")})`];
    }
    if (extra !== undefined || (value !== undefined && !VALUE.test(value)))
      return [`gluster option "${option}" needs KEY or KEY=VALUE with a plain value (letters, digits, . _ -)`];
    return [];
  });
}

/**
 * A volume file id as the client's --volfile-id takes it: a Gluster volume name (letters, digits, - and
 * _, not starting with -), optionally followed by /-separated parts as upstream accepts (`exports/sp1/s1`);
 * each part starts with a letter, digit or _, so no part is `.` or `..`.
 */
export function glusterVolnameProblem(name: string): string | undefined {
  const part = "[A-Za-z0-9_][A-Za-z0-9_.-]*";
  if (name.length > 255 || !new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_-]*(?:/${part})*$`).test(name)) {
    return `Gluster volume name "${name}" must be letters, digits, - or _ (not starting with -), optionally with /-separated parts`;
  }
  return undefined;
}

/** A host name or an IPv4/IPv6 address, as the client's --volfile-server takes it. */
export function glusterHostProblem(host: string): string | undefined {
  const name = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  const ipv6 = /^\[?[0-9A-Fa-f:.]{2,45}\]?$/;
  return name.test(host) || (host.includes(":") && ipv6.test(host)) ? undefined : `Gluster host "${host}" is not a host name or address`;
}

/** Everything wrong with what an External pool would hand the client: comma-separated hosts, volume, options. */
export function externalClientProblems(hosts: string, volname: string, options: string): string[] {
  const list = hosts.split(",").filter(Boolean);
  return [
    ...(list.length === 0 ? ["no Gluster host"] : list.flatMap((host) => glusterHostProblem(host) ?? [])),
    ...[glusterVolnameProblem(volname)].filter((problem): problem is string => Boolean(problem)),
    ...glusterOptionsProblems(options),
  ];
}
