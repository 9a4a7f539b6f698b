/**
 * `validatePool`: every rule of upstream's operator (`validate_volume_request`, in its order) plus the CLI's, as an ordered list of checks
 * that each return problems. Shared verbatim by the CLI (before sending) and the operator (into status).
 */
import type { Problem } from "../errors.js";
import { dns1123SubdomainError, poolNameError } from "../naming.js";
import { glusterHostProblem, glusterOptionsProblems, glusterVolnameProblem } from "./gluster-client.js";
import {
  groupSize,
  isPoolType,
  isReclaimPolicy,
  KADALU_FORMATS,
  POOL_TYPES,
  RECLAIM_POLICIES,
  type KadaluStorage,
  type KadaluStorageSpec,
  type StorageUnit,
} from "./types.js";

type Check = (pool: KadaluStorage) => Problem[];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const problem = (field: string, message: string): Problem => ({ field, message });

const checkName: Check = (pool) => {
  const error = poolNameError(pool.metadata.name, pool.spec?.storage?.length ?? 1);
  return error ? [problem("metadata.name", `pool name "${pool.metadata.name}" ${error}`)] : [];
};

const checkType: Check = ({ spec }) => {
  if (!spec?.type) return [problem("spec.type", `pool type is missing; use one of ${POOL_TYPES.join(", ")}`)];
  if (!isPoolType(spec.type)) return [problem("spec.type", `pool type "${spec.type}" is not valid; use one of ${POOL_TYPES.join(", ")}`)];
  return [];
};

const checkScalars: Check = ({ spec }) => {
  const problems: Problem[] = [];
  if (spec.pvReclaimPolicy !== undefined && !isReclaimPolicy(spec.pvReclaimPolicy)) {
    problems.push(problem("spec.pvReclaimPolicy", `reclaim policy "${spec.pvReclaimPolicy}" is not valid; use one of ${RECLAIM_POLICIES.join(", ")}`));
  }
  if (spec.kadalu_format !== undefined && !(KADALU_FORMATS as readonly string[]).includes(spec.kadalu_format)) {
    problems.push(problem("spec.kadalu_format", `kadalu format "${spec.kadalu_format}" is not valid; use native or non-native`));
  }
  if (spec.volume_id !== undefined && !UUID.test(spec.volume_id)) {
    problems.push(problem("spec.volume_id", `volume id "${spec.volume_id}" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`));
  }
  return problems;
};

const checkOptions: Check = ({ spec }) =>
  (spec.options ?? []).flatMap((option, index) =>
    !option?.key || option.value === undefined || option.value === null || option.value === ""
      ? [problem(`spec.options[${index}]`, `option ${index + 1} needs both a key and a value`)]
      : [],
  );

const checkExternal: Check = ({ spec }) => {
  if (spec.type !== "External") {
    return spec.details?.gluster_options ? [problem("spec.details.gluster_options", "gluster options apply only to External pools")] : [];
  }
  const details = spec.details;
  if (!details) return [problem("spec.details", "an External pool needs its Gluster hosts and volume name (details)")];
  const problems: Problem[] = [];
  const hosts = [details.gluster_host, ...(details.gluster_hosts ?? [])].filter((host) => host);
  if (hosts.length === 0) problems.push(problem("spec.details.gluster_hosts", "an External pool needs at least one Gluster host"));
  for (const host of hosts) {
    const bad = glusterHostProblem(host!);
    if (bad) problems.push(problem("spec.details.gluster_hosts", bad));
  }
  if (!details.gluster_volname) problems.push(problem("spec.details.gluster_volname", "an External pool needs the Gluster volume name"));
  else {
    const bad = glusterVolnameProblem(details.gluster_volname);
    if (bad) problems.push(problem("spec.details.gluster_volname", bad));
  }
  for (const bad of glusterOptionsProblems(details.gluster_options ?? "")) problems.push(problem("spec.details.gluster_options", bad));
  if ((spec.storage ?? []).length > 0) problems.push(problem("spec.storage", "an External pool takes no storage units"));
  return problems;
};

function unitProblems(unit: StorageUnit, index: number): Problem[] {
  const field = `spec.storage[${index}]`;
  const label = `storage unit ${index + 1}`;
  const kinds = [unit.device, unit.path, unit.pvc].filter((value) => value).length;
  if (kinds !== 1) return [problem(field, `${label} needs exactly one of device, path or pvc`)];
  if (unit.pvc) {
    const error = dns1123SubdomainError(unit.pvc);
    return error ? [problem(`${field}.pvc`, `${label}: PVC name "${unit.pvc}" ${error}`)] : [];
  }
  const problems: Problem[] = [];
  if (!unit.node) problems.push(problem(`${field}.node`, `${label} needs a node`));
  else if (dns1123SubdomainError(unit.node)) problems.push(problem(`${field}.node`, `${label}: node name "${unit.node}" is not a valid node name`));
  const hostPath = (unit.device ?? unit.path)!;
  if (!hostPath.startsWith("/")) problems.push(problem(field, `${label}: "${hostPath}" must be an absolute path`));
  else if (hostPath.split("/").includes("..")) problems.push(problem(field, `${label}: "${hostPath}" must not contain ".."`));
  // It becomes a hostPath volume, an env value of the brick pod and part of upstream's NODE:PATH syntax.
  else if (/[\0-\x1f\x7f]/.test(hostPath)) problems.push(problem(field, `${label}: the path must not contain control characters`));
  else if (new TextEncoder().encode(hostPath).length > PATH_MAX) problems.push(problem(field, `${label}: the path is longer than ${PATH_MAX} bytes`));
  else if (/[:,]/.test(hostPath)) problems.push(problem(field, `${label}: "${hostPath}" must not contain ":" or "," (they separate nodes, paths and units)`));
  return problems;
}

const PATH_MAX = 4096;

/** `/d//x/./y/` and `/d/x/y` are the same directory: compared normalised. */
export function normalizeHostPath(path: string): string {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  return `${path.startsWith("/") ? "/" : ""}${parts.join("/")}` || ".";
}

function unitKey(unit: StorageUnit): string {
  if (unit.pvc) return `pvc ${unit.pvc}`;
  return `${unit.node}:${normalizeHostPath(unit.device ?? unit.path ?? "")}`;
}

const checkStorageUnits: Check = ({ spec }) => {
  if (spec.type === "External") return [];
  const units = spec.storage ?? [];
  if (units.length === 0) return [problem("spec.storage", "a pool needs at least one storage unit (--device, --path or --pvc)")];
  const problems = units.flatMap(unitProblems);
  const seen = new Map<string, number>();
  units.forEach((unit, index) => {
    const key = unitKey(unit);
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.push(problem(`spec.storage[${index}]`, `storage unit ${index + 1} (${key}) repeats storage unit ${earlier + 1}`));
    else seen.set(key, index);
  });
  return problems;
};

function disperseProblems(spec: KadaluStorageSpec): Problem[] {
  const { data, redundancy } = spec.disperse ?? { data: 0, redundancy: 0 };
  if (!Number.isInteger(data) || !Number.isInteger(redundancy) || data <= 0 || redundancy <= 0) {
    return [problem("spec.disperse", "a Disperse pool needs whole, positive data and redundancy counts (--data N --redundancy N)")];
  }
  if (data + redundancy <= 2 * redundancy) {
    return [problem("spec.disperse", `redundancy ${redundancy} is too high for ${data + redundancy} units: data must exceed redundancy`)];
  }
  if (data % 2 !== 0) return [problem("spec.disperse.data", `disperse data count ${data} must be even for an optimal layout (e.g. --data 2 --redundancy 1)`)];
  return [];
}

const checkGroups: Check = ({ spec }) => {
  if (spec.type === "External" || !isPoolType(spec.type)) return [];
  if (spec.type === "Disperse") {
    const problems = disperseProblems(spec);
    if (problems.length > 0) return problems;
  }
  const units = spec.storage ?? [];
  const size = groupSize(spec.type, spec.disperse);
  if (units.length === 0 || units.length % size === 0) return decommissionProblems(units, size);
  return [problem("spec.storage", `${spec.type} takes storage units in groups of ${size}, got ${units.length}; give a multiple of ${size}`)];
};

function decommissionProblems(units: StorageUnit[], size: number): Problem[] {
  if (size <= 1) return [];
  const problems: Problem[] = [];
  for (let start = 0; start < units.length; start += size) {
    const group = units.slice(start, start + size).map((unit) => unit.decommissioned ?? "");
    if (group.some((value) => value !== group[0])) {
      problems.push(problem("spec.storage", `storage units ${start + 1}-${start + size} form one group and must all share the same decommissioned value`));
    }
  }
  return problems;
}

const checkTiebreaker: Check = ({ spec }) => {
  if (!spec.tiebreaker) return [];
  if (spec.type !== "Replica2") return [problem("spec.tiebreaker", "a tiebreaker applies only to Replica2 pools")];
  const { node, path } = spec.tiebreaker;
  if (!node || !path) return [problem("spec.tiebreaker", "a tiebreaker needs a node and a path (NODE:PATH)")];
  if (glusterHostProblem(node)) return [problem("spec.tiebreaker.node", `tiebreaker host "${node}" is not a host name or address`)];
  if (!path.startsWith("/") || path.split("/").includes("..") || /[\0-\x1f\x7f]/.test(path)) {
    return [problem("spec.tiebreaker.path", `tiebreaker path "${path}" must be absolute, without ".." segments or control characters`)];
  }
  return [];
};

const CHECKS: Check[] = [checkName, checkType, checkScalars, checkOptions, checkExternal, checkStorageUnits, checkGroups, checkTiebreaker];

export function validatePool(pool: KadaluStorage): Problem[] {
  if (!pool.spec || typeof pool.spec !== "object") return [problem("spec", "the pool has no spec")];
  const typeProblems = checkType(pool);
  // Without a known type the layout checks would only add noise.
  if (typeProblems.length > 0) return [...checkName(pool), ...typeProblems, ...checkScalars(pool)];
  return CHECKS.flatMap((check) => check(pool));
}
