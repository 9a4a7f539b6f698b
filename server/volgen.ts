/**
 * Upstream volgen (kadalu/volgen) in TypeScript: its three templates (storage unit, client, self-heal
 * daemon) as graphs, and its post-processing (xlators turned off by options, subvolumes inferred, options
 * merged by xlator type then name), rendered as GlusterFS volfiles. Pure: no I/O. The contract is
 * volgen's own fixtures (test/fixtures/volgen), byte for byte.
 */
import { OPTION_CONFIGS } from "./volgen-options.js";

export interface VolgenNode {
  name: string;
  id?: string;
}

export interface VolgenStorageUnit {
  path: string;
  port?: number;
  /** "arbiter" for a replica set's arbiter brick. */
  type?: string;
  node?: VolgenNode;
  volume?: { name: string; id: string };
}

export interface VolgenDistributeGroup {
  replica_count?: number;
  redundancy_count?: number;
  arbiter_count?: number;
  storage_units: VolgenStorageUnit[];
}

export interface VolgenVolume {
  name: string;
  id: string;
  distribute_groups: VolgenDistributeGroup[];
  tiebreaker?: { node?: string; path?: string; port?: number };
}

/** One `volume ... end-volume` block. */
interface Xlator {
  name: string;
  type: string;
  options: Map<string, string>;
  subvolumes: string;
  parent: string;
}

type VolfileType = "client" | "storage_unit" | "unknown";

const xlator = (name: string, type: string, options: [string, string][] = [], parent = ""): Xlator => ({
  name,
  type,
  options: new Map(options),
  subvolumes: "",
  parent,
});

export function storageUnitGraph(unit: VolgenStorageUnit): Xlator[] {
  const volume = unit.volume?.name ?? "";
  const path = unit.path;
  return [
    xlator(`${volume}-posix`, "storage/posix", [
      ["volume-id", unit.volume?.id ?? ""],
      ["directory", path],
    ]),
    ...(unit.type === "arbiter" ? [xlator(`${volume}-arbiter`, "features/arbiter")] : []),
    xlator(`${volume}-changelog`, "features/changelog", [
      ["changelog-brick", path],
      ["changelog-dir", `${path}/.glusterfs/changelogs`],
      ["capture-del-path", "on"],
    ]),
    xlator(`${volume}-access-control`, "features/access-control", [["super-uid", "0"]]),
    xlator(`${volume}-locks`, "features/locks"),
    xlator(`${volume}-simple-quota`, "features/simple-quota", [
      ["pass-through", "false"],
      ["cmd-from-all-client", "true"],
    ]),
    xlator(`${volume}-upcall`, "features/upcall", [
      ["cache-invalidation", "off"],
      ["cache-invalidation-timeout", "60"],
    ]),
    xlator(`${volume}-io-threads`, "performance/io-threads"),
    xlator(`${volume}-barrier`, "features/barrier", [
      ["barrier", "disable"],
      ["barrier-timeout", "120"],
    ]),
    xlator(`${volume}-index`, "features/index", [
      ["xattrop64-watchlist", "trusted.ec.dirty"],
      ["xattrop-dirty-watchlist", "trusted.afr.dirty"],
      ["xattrop-pending-watchlist", `trusted.afr.${volume}`],
      ["index-base", `${path}/.glusterfs/indices`],
    ]),
    xlator(path, "debug/io-stats", [["unique-id", "/no/such/path"]]),
    xlator(`${volume}-server`, "protocol/server", [
      ["transport-type", "tcp"],
      ["transport.socket.read-fail-log", "false"],
      [`auth.addr.${path}.allow`, "*"],
      ["auth-path", path],
      [`auth.login.${path}.ssl-allow`, "*"],
      // Bricks serve the client volfile themselves (`glusterfs --volfile-server=BRICK --volfile-id=POOL`): no glusterd.
      ["volspec-directory", "/var/lib/kadalu/volfiles"],
      ["listen-port", String(unit.port ?? 0)],
    ]),
  ];
}

const hasTiebreaker = (volume: VolgenVolume): boolean => Boolean(volume.tiebreaker?.path);
const clusterType = (group: VolgenDistributeGroup): "replicate" | "disperse" => ((group.replica_count ?? 0) > 0 ? "replicate" : "disperse");
const isCluster = (group: VolgenDistributeGroup): boolean => (group.replica_count ?? 0) > 0 || (group.redundancy_count ?? 0) > 0;

function clients(volume: VolgenVolume, shd: boolean): Xlator[] {
  return volume.distribute_groups.flatMap((group, groupIndex) =>
    group.storage_units.map((unit, index) => {
      const options: [string, string][] = [
        ["transport.socket.read-fail-log", "false"],
        ["volfile-key", `/${volume.name}`],
        ["remote-subvolume", unit.path],
        ["remote-host", unit.node?.name ?? ""],
      ];
      if ((unit.port ?? 0) !== 0) options.push(["remote-port", String(unit.port)]);
      const parent = shd || isCluster(group) ? `${volume.name}-${clusterType(group)}-${groupIndex}` : `${volume.name}-dht`;
      return xlator(`${volume.name}-client-${groupIndex * group.storage_units.length + index}`, "protocol/client", options, parent);
    }),
  );
}

function tiebreakerClient(volume: VolgenVolume): Xlator[] {
  if (!hasTiebreaker(volume)) return [];
  const tiebreaker = volume.tiebreaker!;
  return [
    xlator(`${volume.id}-ta`, "protocol/client", [
      ["transport.socket.read-fail-log", "false"],
      ["remote-host", tiebreaker.node ?? ""],
      ["remote-port", String(tiebreaker.port ?? 0)],
      ["remote-subvolume", tiebreaker.path!],
    ]),
  ];
}

function clusters(volume: VolgenVolume, shd: boolean): Xlator[] {
  return volume.distribute_groups.flatMap((group, groupIndex) => {
    if (!isCluster(group)) return [];
    const size = group.storage_units.length;
    const type = clusterType(group);
    const options: [string, string][] = [];
    if ((group.redundancy_count ?? 0) > 0) options.push(["redundancy", String(group.redundancy_count)]);
    if ((group.replica_count ?? 0) > 0 && (group.arbiter_count ?? 0) > 0) options.push(["arbiter-count", String(group.arbiter_count)]);
    options.push(["data-self-heal", "on"], ["granular-entry-heal", "on"]);
    if (shd) {
      options.push(
        ["iam-self-heal-daemon", "on"],
        ["self-heal-daemon", "on"],
        ["metadata-self-heal", "on"],
        ["choose-local", "on"],
        ["ensure-durability", "on"],
        ["data-change-log", "on"],
        ["entry-self-heal", "on"],
      );
    } else {
      options.push(["iam-self-heal-daemon", "off"], ["metadata-self-heal", "on"], ["entry-self-heal", "on"], ["read-hash-mode", "5"]);
    }
    const client = (i: number): string => `${volume.name}-client-${groupIndex * size + i}`;
    if (hasTiebreaker(volume)) {
      options.push(
        ["afr-pending-xattr", `${client(0)},${client(1)},${volume.id}-ta`],
        ["thin-arbiter", `${volume.tiebreaker!.node ?? ""}:${volume.tiebreaker!.path}`],
      );
    } else {
      options.push(["afr-pending-xattr", group.storage_units.map((_, i) => client(i)).join(",")]);
    }
    return [xlator(`${volume.name}-${type}-${groupIndex}`, `cluster/${type}`, options, shd ? `${volume.name}-shd` : "")];
  });
}

export function clientGraph(volume: VolgenVolume): Xlator[] {
  const groups = volume.distribute_groups;
  const dht = groups.length > 1 || groups[0]?.storage_units.length === 1;
  return [
    ...clients(volume, false),
    ...tiebreakerClient(volume),
    ...clusters(volume, false),
    ...(dht ? [xlator(`${volume.name}-dht`, "cluster/distribute")] : []),
    xlator(`${volume.name}-utime`, "features/utime", [["noatime", "on"]]),
    xlator(`${volume.name}-write-behind`, "performance/write-behind", [
      ["flush-behind", "on"],
      ["write-behind", "on"],
    ]),
    xlator(`${volume.name}-open-behind`, "performance/open-behind", [["read-after-open", "yes"]]),
    xlator(`${volume.name}-quick-read`, "performance/quick-read"),
    xlator(`${volume.name}-md-cache`, "performance/md-cache"),
    xlator(`${volume.name}-io-threads`, "performance/io-threads"),
    xlator(volume.name, "debug/io-stats", [["volume-id", volume.id]]),
  ];
}

export function shdGraph(volume: VolgenVolume): Xlator[] {
  return [...clients(volume, true), ...clusters(volume, true), xlator(`${volume.name}-shd`, "debug/io-stats", [["volume-id", volume.id]])];
}

/** Options by xlator type or name, as volgen parses `key=value` pairs for one volfile type. */
type ParsedOptions = Map<string, Map<string, string>>;

function volfileType(graph: Xlator[]): VolfileType {
  for (const element of graph) {
    if (element.type === "protocol/client") return "client";
    if (element.type === "protocol/server") return "storage_unit";
  }
  return "unknown";
}

function parseOptions(type: VolfileType, options: Record<string, string>, graph: Xlator[]): ParsedOptions {
  const parsed: ParsedOptions = new Map();
  for (const [key, value] of Object.entries(options)) {
    const config = OPTION_CONFIGS[key];
    let target: string;
    let option: string;
    if (!config) {
      // `xlator-type.option` or `xlator-name.option` (e.g. `/bricks/p/data/brick.log-level`).
      const dot = key.indexOf(".");
      if (dot < 0 || dot === key.length - 1) continue;
      target = key.slice(0, dot);
      option = key.slice(dot + 1);
      if (!graph.some((element) => element.name === target || element.type === target)) continue;
    } else {
      if (config.type && config.type !== type) continue;
      target = config.xlator;
      // No option name: the option turns the xlator on or off.
      option = config.name ?? "xlator_enabled";
    }
    // volgen merges per xlator with Crystal's Hash#merge!: a later option for the same xlator replaces the earlier's.
    parsed.delete(target);
    parsed.set(target, new Map([[option, value]]));
  }
  return parsed;
}

const DISABLED = new Set(["off", "disable", "no", "false"]);

function applyOptions(graph: Xlator[], options: Record<string, string>): Xlator[] {
  const parsed = parseOptions(volfileType(graph), options, graph);
  const enabled = graph.filter((element) => !DISABLED.has(parsed.get(element.type)?.get("xlator_enabled") ?? ""));
  enabled.forEach((element, index) => {
    if (element.type === "protocol/client" || index === 0 || element.subvolumes !== "") return;
    const children = enabled
      .slice(0, index)
      .filter(
        (before) =>
          before.parent === element.name ||
          (element.type === "cluster/replicate" && before.name.endsWith("-ta")) ||
          (element.type === "cluster/distribute" && ["cluster/replicate", "cluster/disperse"].includes(before.type)),
      )
      .map((before) => before.name);
    if (children.length === 0 && enabled[index - 1]!.parent === "") children.push(enabled[index - 1]!.name);
    element.subvolumes = children.join(" ");
  });
  for (const element of enabled) {
    for (const key of [element.type, element.name]) for (const [name, value] of parsed.get(key) ?? []) element.options.set(name, value);
  }
  return enabled;
}

function render(graph: Xlator[]): string {
  return graph
    .map((element) =>
      [
        `volume ${element.name}`,
        `    type ${element.type}`,
        ...[...element.options].filter(([key]) => key !== "xlator_enabled").map(([key, value]) => `    option ${key} ${value}`),
        ...(element.subvolumes ? [`    subvolumes ${element.subvolumes}`] : []),
        "end-volume",
      ].join("\n"),
    )
    .join("\n\n");
}

export const storageUnitVolfile = (unit: VolgenStorageUnit, options: Record<string, string> = {}): string =>
  render(applyOptions(storageUnitGraph(unit), options));
export const clientVolfile = (volume: VolgenVolume, options: Record<string, string> = {}): string => render(applyOptions(clientGraph(volume), options));
export const shdVolfile = (volume: VolgenVolume, options: Record<string, string> = {}): string => render(applyOptions(shdGraph(volume), options));
