/**
 * kubectl's plugin completion protocol (`kubectl kadalu __complete <words>`, also what
 * `kubectl_complete-kadalu` runs): one candidate per line with an optional tab and description, the
 * last line `:<directive>`. Cluster lookups (pools, nodes, PVCs) get a short timeout and give nothing
 * when the cluster does not answer.
 */
import type { Command, Option } from "commander";
import { POOL_TYPES, RECLAIM_POLICIES, STORAGE_UNIT_KINDS, KADALU_FORMATS } from "../core/pool/types.js";
import { PLATFORMS, PULL_POLICIES } from "../core/manifests/options.js";
import { decodeKadaluInfo, INFO_CONFIGMAP } from "../core/info/codec.js";
import { DOCUMENTED_OPTIONS } from "../core/pool/options.js";
import type { Deps } from "./deps.js";
import type { GlobalOptions } from "./flags.js";

/** Cobra's directives, which kubectl's completion scripts understand. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

type Candidate = string | [value: string, description: string];
type Lookup = (deps: Deps, global: GlobalOptions) => Promise<Candidate[]>;

const POOL_NAME_COMMANDS = [
  "storage-list",
  "storage-expand",
  "storage-replace",
  "storage-remove",
  "option-set",
  "option-reset",
  "remove-archived-pv",
  "healinfo",
  "top",
  "doctor",
];

const LOOKUP_TIMEOUT_MS = 2000;

async function withTimeout<T>(work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS)));
  try {
    return await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const pools: Lookup = async (deps, global) => {
  const kube = await deps.connect(global);
  const { pools: infos } = decodeKadaluInfo(await kube.readConfigMapData(global.namespace, INFO_CONFIGMAP));
  return infos.map((info) => [info.volname, info.type]);
};
const nodes: Lookup = async (deps, global) => (await (await deps.connect(global)).listNodeNames()).map((node) => `${node}:`);
const pvcs: Lookup = async (deps, global) => (await deps.connect(global)).listPvcNames(global.namespace);
/** The option keys a pool has set, with their values: what option-reset can remove. */
const setOptions =
  (pool: string): Lookup =>
  async (deps, global) =>
    ((await (await deps.connect(global)).getPool(global.namespace, pool))?.spec.options ?? []).map((option): Candidate => [option.key, option.value]);

/** option-set POOL KEY VALUE ...: documented keys, then on/off; option-reset POOL KEY ...: the keys set. */
function optionWords(command: string, pool: string, typed: number): Candidate[] | Lookup {
  if (command === "option-reset") return setOptions(pool);
  return typed % 2 === 0 ? [...DOCUMENTED_OPTIONS] : ["on", "off"];
}

/** Values of flags that take one, by flag name (the command decides where the same name differs). */
function flagValues(command: string, flag: string): Candidate[] | Lookup | undefined {
  if (flag === "--type") return command === "install" ? [...PLATFORMS] : [...POOL_TYPES];
  const fixed: Record<string, readonly string[]> = {
    "--pv-reclaim-policy": RECLAIM_POLICIES,
    "--storage-unit-type": STORAGE_UNIT_KINDS,
    "--kadalu-format": KADALU_FORMATS,
    "--image-pull-policy": PULL_POLICIES,
  };
  if (fixed[flag]) return [...fixed[flag]!];
  if (flag === "--device" || flag === "--path") return nodes;
  if (flag === "--pvc" && ["storage-add", "storage-expand", "storage-replace"].includes(command)) return pvcs;
  if (flag === "--name" || flag === "--pool") return pools;
  return undefined;
}

function longName(option: Option): string {
  return option.long ?? option.short ?? "";
}

function findOption(options: readonly Option[], word: string): Option | undefined {
  return options.find((option) => option.long === word || option.short === word);
}

/** The positional words already typed (flags and their values skipped). */
function positionals(words: string[], options: readonly Option[]): string[] {
  const found: string[] = [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    if (!word.startsWith("-")) found.push(word);
    else if (!word.includes("=") && (findOption(options, word)?.required || findOption(options, word)?.optional)) index += 1;
  }
  return found;
}

/** The connection flags among the words, so lookups use the cluster the user is typing against. */
function connectionOf(words: string[]): GlobalOptions {
  const value = (...flags: string[]): string | undefined => {
    const index = words.findIndex((word) => flags.includes(word));
    const inline = words.find((word) => flags.some((flag) => word.startsWith(`${flag}=`)));
    return inline ? inline.slice(inline.indexOf("=") + 1) : index >= 0 ? words[index + 1] : undefined;
  };
  return { kubeconfig: value("--kubeconfig"), context: value("--context", "--kubectl-context"), namespace: value("-n", "--namespace") ?? "kadalu" };
}

// eslint-disable-next-line complexity -- one branch per completion context (flag value, flag, command, pool, option, shell), as kubectl's __complete
export async function complete(program: Command, words: string[], deps: Deps): Promise<string> {
  const partial = words[words.length - 1] ?? "";
  const previous = words[words.length - 2];
  const sub = program.commands.find((command) => words.slice(0, -1).includes(command.name()));
  const global = connectionOf(words.slice(0, -1));
  let candidates: Candidate[] = [];
  let directive: number = DIRECTIVE.noFileComp;
  const visible = (options: readonly Option[]): Option[] => options.filter((option) => !option.hidden);
  const options = [...visible(sub?.options ?? []), ...visible(program.options)];
  const valueFlag = previous?.startsWith("-") ? findOption(options, previous) : undefined;
  if (valueFlag?.required || valueFlag?.optional) {
    // A flag with choices (-o above all) completes exactly the choices its command accepts.
    const values = valueFlag.argChoices ? [...valueFlag.argChoices] : flagValues(sub?.name() ?? "", longName(valueFlag));
    if (typeof values === "function") candidates = (await withTimeout(values(deps, global))) ?? [];
    else if (values) candidates = values;
    else directive = DIRECTIVE.default;
    if (longName(valueFlag) === "--device" || longName(valueFlag) === "--path") directive |= DIRECTIVE.noSpace;
  } else if (partial.startsWith("-")) {
    candidates = options.flatMap((option) =>
      [option.long, option.short].filter((flag): flag is string => Boolean(flag)).map((flag): Candidate => [flag, option.description]),
    );
  } else if (!sub) {
    candidates = program.commands
      .filter((command) => !command.name().startsWith("__"))
      .map((command) => [command.name(), command.summary() || command.description()]);
  } else if (POOL_NAME_COMMANDS.includes(sub.name()) && positionals(words.slice(words.indexOf(sub.name()) + 1, -1), options).length === 0) {
    candidates = (await withTimeout(pools(deps, global))) ?? [];
  } else if (sub.name() === "option-set" || sub.name() === "option-reset") {
    const [pool, ...typed] = positionals(words.slice(words.indexOf(sub.name()) + 1, -1), options);
    const values = optionWords(sub.name(), pool!, typed.length);
    candidates = typeof values === "function" ? ((await withTimeout(values(deps, global))) ?? []) : values;
  } else if (sub.name() === "completion") {
    candidates = ["bash", "zsh", "fish"];
  }
  const lines = candidates
    .map((candidate): [string, string] => (typeof candidate === "string" ? [candidate, ""] : candidate))
    .filter(([value]) => value.startsWith(partial))
    .map(([value, description]) => (description ? `${value}\t${description.split("\n")[0]}` : value));
  return `${[...lines, `:${directive}`].join("\n")}\n`;
}

/** Shell scripts for the standalone `kubectl-kadalu`; each asks `kubectl-kadalu __complete` for candidates. */
export function completionScript(shell: "bash" | "zsh" | "fish"): string {
  const run = "kubectl-kadalu __complete";
  if (shell === "fish") {
    return `# kubectl-kadalu completion for fish: kubectl-kadalu completion fish > ~/.config/fish/completions/kubectl-kadalu.fish
function __kubectl_kadalu_complete
    set -l words (commandline -opc)[2..-1] (commandline -ct)
    ${run} $words 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-kadalu -f -a '(__kubectl_kadalu_complete)'
`;
  }
  const body = `_kubectl_kadalu() {
    local cur words out directive
    cur="\${COMP_WORDS[COMP_CWORD]}"
    words=("\${COMP_WORDS[@]:1:COMP_CWORD}")
    out=$(${run} "\${words[@]}" 2>/dev/null) || return
    directive=\${out##*:}
    out=\${out%:*}
    COMPREPLY=($(compgen -W "$(printf '%s\\n' "$out" | cut -f1)" -- "$cur"))
    if (( (directive & 2) != 0 )); then compopt -o nospace 2>/dev/null; fi
    if (( (directive & 4) == 0 )) && [[ \${#COMPREPLY[@]} -eq 0 ]]; then COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _kubectl_kadalu kubectl-kadalu`;
  if (shell === "bash") return `# kubectl-kadalu completion for bash: source <(kubectl-kadalu completion bash)\n${body}\n`;
  // zsh's own completion (bash's script through bashcompinit fails: zsh reads \${a[@]:1:N} as modifiers).
  // Colons in candidates are escaped: _describe splits a candidate from its description at the first one.
  return `#compdef kubectl-kadalu
# kubectl-kadalu completion for zsh: source <(kubectl-kadalu completion zsh), or save it as _kubectl-kadalu in $fpath
_kubectl_kadalu() {
    local out directive line
    local -a lines candidates
    out=$(${run} "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("\${(@f)out}")
    directive=\${lines[-1]#:}
    for line in "\${(@)lines[1,-2]}"; do
        if [[ $line == *$'\\t'* ]]; then
            candidates+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
        else
            candidates+=("\${line//:/\\\\:}")
        fi
    done
    if (( \${#candidates} > 0 )); then
        if (( (directive & 2) != 0 )); then _describe kubectl-kadalu candidates -S ''; else _describe kubectl-kadalu candidates; fi
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
if [[ "\${funcstack[1]}" == "_kubectl-kadalu" ]]; then
    _kubectl_kadalu "$@"
else
    # compdef comes with zsh's completion system: start it if the shell has not.
    (( \${+functions[compdef]} )) || { autoload -Uz compinit && compinit; }
    compdef _kubectl_kadalu kubectl-kadalu
fi
`;
}
