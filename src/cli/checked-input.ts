/**
 * Every name a command receives, checked before anything is sent (and before the Kubernetes client is
 * loaded), with the rules the API server would apply: a bad name is a usage error (exit 2), never a
 * request that fails on the cluster. Runs as commander's preAction hook for every command.
 * Every string given (positional or option) is also checked by class: no control or invisible format character.
 */
import type { Command } from "commander";
import { parseDuration } from "../core/duration.js";
import { UsageError } from "../core/errors.js";
import { dns1123LabelError, dns1123SubdomainError, poolNameError } from "../core/naming.js";

type Check = (value: string) => string | undefined;

/** Docker's reference grammar, as far as a registry (host[:port][/path]) and a tag go. */
const REGISTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function absolutePath(value: string): string | undefined {
  return value.startsWith("/") && value.length <= 4096 && !/[\0-\x1f\x7f]/.test(value) ? undefined : "must be an absolute path without control characters";
}

const checks = {
  pool: (value: string) => poolNameError(value),
  label: (value: string) => dns1123LabelError(value),
  subdomain: (value: string) => dns1123SubdomainError(value),
  registry: (value: string) => (REGISTRY.test(value) ? undefined : "is not a registry host[:port][/path]"),
  repository: (value: string) => (REPOSITORY.test(value) ? undefined : "is not a repository path (lower case letters, digits, . _ - and /)"),
  tag: (value: string) => (TAG.test(value) ? undefined : "is not an image tag (letters, digits, _ . -, at most 128, not starting with . or -)"),
  absolutePath,
  hostPath: (value: string) =>
    absolutePath(value) ?? (value.split("/").includes("..") ? 'must not contain ".." segments: give the directory as it is named' : undefined),
} satisfies Record<string, Check>;

/** Per command: which positional argument (by index) and which options hold what kind of name. */
const RULES: Record<string, { args?: Record<number, Check>; options?: Record<string, Check> }> = {
  "storage-remove": { args: { 0: checks.pool } },
  "storage-expand": { args: { 0: checks.pool } },
  "option-set": { args: { 0: checks.pool } },
  "option-reset": { args: { 0: checks.pool } },
  "remove-archived-pv": { args: { 0: checks.pool }, options: { pvc: checks.subdomain } },
  "storage-list": { args: { 0: checks.pool }, options: { name: checks.pool, pool: checks.pool } },
  "snapshot-list": { args: { 0: checks.pool }, options: { pool: checks.pool } },
  healinfo: { args: { 0: checks.pool }, options: { name: checks.pool, pool: checks.pool } },
  top: { args: { 0: checks.pool }, options: { pool: checks.pool } },
  doctor: { args: { 0: checks.pool }, options: { pool: checks.pool } },
  logs: { options: { pod: checks.subdomain, container: checks.label } },
  install: {
    options: {
      imageRegistry: checks.registry,
      imageRepository: checks.repository,
      imageTag: checks.tag,
      serverImageTag: checks.tag,
      imagePullSecret: checks.subdomain,
      kubeletDir: checks.hostPath,
    },
  },
};

const flagOf = (option: string): string => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function refuse(what: string, value: string, problem: string): never {
  throw new UsageError(`${what} "${value}" ${problem}`);
}

/** Flags whose opposites given together leave the intent unclear. */
const OPPOSITES: [string, string][] = [["--wait", "--no-wait"]];

export function checkArgv(args: string[]): void {
  for (const [one, other] of OPPOSITES) {
    const has = (flag: string): boolean => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (has(one) && has(other)) throw new UsageError(`${one} and ${other} contradict each other; give one`);
  }
}

/**
 * Control characters (Cc: newline, ESC, C1) and invisible format characters (Cf: bidi overrides such as
 * U+202E, zero-width U+200B, U+FEFF), and line separators: in a name or path they make what is shown differ
 * from what is used, or break the line it is shown on. No value any command takes needs one.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

function hiddenCharacter(what: string, value: string): void {
  const found = HIDDEN.exec(value)?.[0];
  if (found === undefined) return;
  const code = `U+${found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  const kind = /\p{Cc}/u.test(found) ? "the control character" : "the invisible character";
  refuse(what, value, `contains ${kind} ${code}; type the value without it`);
}

function checkCharacters(command: Command, options: Record<string, unknown>): void {
  const names = command.registeredArguments.map((argument) => argument.name());
  command.args.forEach((value, index) => hiddenCharacter(`<${names[Math.min(index, names.length - 1)] ?? "argument"}>`, value));
  for (const [option, given] of Object.entries(options)) {
    for (const value of Array.isArray(given) ? given : [given]) if (typeof value === "string") hiddenCharacter(flagOf(option), value);
  }
}

export function checkInput(command: Command): void {
  const options = command.optsWithGlobals<Record<string, unknown>>();
  checkCharacters(command, options);
  const namespace = options.namespace;
  if (typeof namespace === "string") {
    const problem = dns1123LabelError(namespace);
    if (problem) refuse("-n/--namespace", namespace, problem);
  }
  if (typeof options.requestTimeout === "string") parseDuration("--request-timeout", options.requestTimeout);
  const rules = RULES[command.name()];
  if (!rules) return;
  for (const [index, check] of Object.entries(rules.args ?? {})) {
    const value = command.args[Number(index)];
    const problem = value === undefined ? undefined : check(value);
    if (problem) refuse("pool name", value!, problem);
  }
  for (const [option, check] of Object.entries(rules.options ?? {})) {
    const given = options[option];
    for (const value of Array.isArray(given) ? given : given === undefined ? [] : [given]) {
      const problem = check(String(value));
      if (problem) refuse(flagOf(option), String(value), problem);
    }
  }
}
