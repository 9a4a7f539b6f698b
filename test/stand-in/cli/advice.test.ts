/**
 * Every command the project prints as advice runs as printed. The commands are collected from where they
 * are written (doctor's findings over snapshots that trip every check, the alert rules, errors' hints in
 * the sources, the README's code, every command's --help) and each `kubectl kadalu ...` is fed to the
 * CLI's own program, stopped just before its action: an unknown command or option, a missing or extra
 * argument, or a value the CLI refuses fails here. Plain `kubectl ...` advice is checked lightly (a kubectl
 * verb); the sandbox part then runs doctor's advice, kadalu and kubectl alike, against the API test server.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommanderError, type Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram, versionAsked } from "../../../src/cli/main.js";
import { checkArgv } from "../../../src/cli/checked-input.js";
import { normalizeDryRun } from "../../../src/cli/flags.js";
import { diagnose, type Finding, type Snapshot } from "../../../src/core/doctor/checks.js";
import { decodeInfo } from "../../../src/core/info/codec.js";
import { ALERT_GROUPS } from "../../../src/core/metrics/alerts.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";
import { runBin, runProgram, type CliResult } from "../../../harness/helpers/cli.js";
import { captureIO } from "../../../harness/helpers/io.js";
import { installPool1 } from "../../../harness/sandbox/pool1.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");

/** One printed command: where it was found and the text as printed. */
interface Advice {
  from: string;
  text: string;
}

// ---------------------------------------------------------------- parsing as the CLI does

class Parsed extends Error {
  constructor(readonly command: Command) {
    super("parsed");
  }
}

/** The CLI's program with every action replaced by a stop after parsing and input checks: nothing runs. */
async function parseOnly(args: string[]): Promise<{ command?: string; error?: string }> {
  const io = captureIO();
  const program = buildProgram(
    { io, env: {}, connect: () => Promise.reject(new Error("no cluster in a parse")), confirm: () => Promise.reject(new Error("no prompt in a parse")) },
    "kubectl kadalu",
  );
  // After the root's input checks (hooks run in the order added), before any action.
  program.hook("preAction", (_root, action) => {
    throw new Parsed(action);
  });
  if (args.length === 0) return { command: "(help)" };
  try {
    checkArgv(args);
    if (versionAsked(args, program)) return { command: "(version)" };
    await program.parseAsync(normalizeDryRun(args), { from: "user" });
    return { error: "no command was chosen" };
  } catch (error) {
    if (error instanceof Parsed) return { command: error.command.name() };
    if (error instanceof CommanderError && error.exitCode === 0) return { command: "(help)" };
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

// ---------------------------------------------------------------- finding commands in text

/** Sample values for what a printed command leaves to the reader. */
const PLACEHOLDERS: Record<string, string> = {
  POOL: "pool1",
  NAME: "pool1",
  EXISTING_POOL: "pool1",
  POD: "kadalu-csi-provisioner-0",
  CONTAINER: "kadalu-provisioner",
  DIR: "/tmp",
  FILE: "/tmp/kadalu.yaml",
  "NODE:/DIR": "kube1:/data/pool1",
  "NODE:DIR": "kube1:/data/pool1",
  "NODE:/dev/sdX": "kube1:/dev/sdb",
  "NODE:DEV": "kube1:/dev/sdb",
};

/** A `${...}` of the sources, or a `{{ $labels.x }}` of the alerts, becomes a sample of what it holds. */
function sampleFor(expression: string): string {
  if (/flag$/i.test(expression)) return " -n storage"; // a whole flag, space included
  if (/namespace|\bns\b/i.test(expression)) return "kadalu";
  if (/container/i.test(expression)) return "kadalu-provisioner";
  if (/pod/i.test(expression)) return "kadalu-csi-provisioner-0";
  if (/name|pool|volname/i.test(expression)) return "pool1";
  return "SAMPLE"; // no sample: the parse fails and names it
}

/** Replaces every balanced `${...}` (nested templates included) and `{{ ... }}` with a sample. */
function fillTemplates(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("${", i)) {
      let depth = 0;
      let end = i + 1;
      for (; end < text.length; end++) {
        if (text[end] === "{") depth++;
        else if (text[end] === "}" && --depth === 0) break;
      }
      out += sampleFor(text.slice(i + 2, end));
      i = end;
    } else out += text[i];
  }
  return out.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_all, expression: string) => sampleFor(expression));
}

/**
 * The words of the command starting at `start`, as a shell reads them, up to where the command ends:
 * a pipe, redirection, comment, `;`, `&`, a closing `)` or backtick, an unclosed quote (the end of a
 * string literal), or prose punctuation (", " and a full stop).
 */
function commandWords(text: string, start: number): string[] {
  const words: string[] = [];
  let word: string | undefined;
  const flush = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) break;
      word = (word ?? "") + text.slice(i + 1, close);
      i = close;
    } else if (c === " " || c === "\t") flush();
    else if ("|><;&)`\n".includes(c) || (c === "#" && word === undefined) || (c === "\\" && next === "n")) break;
    else if ((c === "," || c === ".") && (next === undefined || /[\s"'`)]/.test(next))) break;
    else word = (word ?? "") + c;
  }
  flush();
  return words;
}

const KADALU = /kubectl kadalu(?= |$)/g;
/** `kubectl-kadalu` (the standalone name) counts only where a command starts: line start, `$ `, `<(`, `$(`. */
const STANDALONE = /(?:^\s*(?:\$\s+)?|[<$]\()kubectl-kadalu(?= |$)/gm;
const PLAIN = /(?:^\s*(?:\$\s+)?|[\s(:])kubectl (?!kadalu)(?=[-a-z])/gm;

/** The `kubectl kadalu` commands in a text, with placeholders filled; `standalone` also takes `kubectl-kadalu ...`. */
function kadaluCommands(text: string, standalone: boolean): string[][] {
  const filled = fillTemplates(text);
  const starts = [...filled.matchAll(KADALU)].map((m) => m.index! + "kubectl kadalu".length);
  if (standalone) starts.push(...[...filled.matchAll(STANDALONE)].map((m) => m.index! + m[0].length));
  return starts.sort((a, b) => a - b).map((start) => commandWords(filled, start).map((word) => PLACEHOLDERS[word] ?? word));
}

/** Plain kubectl commands (not the plugin), for the light check. */
function kubectlCommands(text: string): string[][] {
  const filled = fillTemplates(text);
  return [...filled.matchAll(PLAIN)].map((m) => commandWords(filled, m.index! + m[0].length));
}

// ---------------------------------------------------------------- the sources of advice

/** Doctor's findings over snapshots that trip every check, in the default namespace and in another. */
function doctorFindings(namespace: string): Finding[] {
  const info = decodeInfo("pool1", read("test/fixtures/info/pool1.info")).info!;
  const external = {
    ...info,
    volname: "ext1",
    type: "External",
    kadalu_format: "native",
    gluster_hosts: ["gluster1.example.com"],
    gluster_volname: "gvol0",
    bricks: [],
  } as unknown as typeof info;
  const pod = (name: string, ready: boolean) => ({
    metadata: { name, namespace },
    spec: { nodeName: "kube1" },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
  const workload = (container: string, version: string, status: object, replicas = 1) => ({
    spec: { replicas, template: { spec: { containers: [{ name: container, image: `ghcr.io/kubectl-kadalu/x:${version}` }] } } },
    status,
  });
  const pool = (name: string, state: string): KadaluStorage =>
    ({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name, namespace },
      spec: { type: "Replica3", storage: [] },
      status: { state, message: "x", usage: { capacityBytes: 100, provisionedBytes: 95, pvCount: 4, updatedAt: "2026-12-02T00:00:00Z" } },
    }) as KadaluStorage;
  const base = (): Snapshot => ({
    namespace,
    pluginVersion: "0.1.0",
    crdEstablished: false,
    operator: workload("kadalu-operator", "0.0.9", { availableReplicas: 0 }),
    provisioner: workload("kadalu-provisioner", "0.1.0", { readyReplicas: 0 }),
    nodeplugin: workload("kadalu-nodeplugin", "0.1.0", { desiredNumberScheduled: 3, numberReady: 1 }),
    pods: [pod("operator-7d9f-abcde", false), pod("kadalu-csi-nodeplugin-1", false), pod("server-pool1-0-0", false)],
    pools: [pool("pool1", "error"), pool("ext1", "ready")],
    infos: [info, external],
    probes: new Map([["pool1", { mount: "dead" as const, statDb: "ok" as const }]]),
    heals: new Map<string, number | string>([["pool1", 2]]),
    kadaluStorageClasses: ["kadalu.pool1"],
    events: [],
    claims: [{ metadata: { name: "data", namespace: "default" }, spec: { storageClassName: "kadalu.pool1" }, status: { phase: "Pending" } }],
  });
  const variants: ((s: Snapshot) => void)[] = [
    () => undefined,
    (s) =>
      Object.assign(s, {
        operator: undefined,
        provisioner: undefined,
        nodeplugin: undefined,
        crdEstablished: undefined,
        probes: "the provisioner is not running",
        heals: new Map([["pool1", "no brick pod is ready"]]),
      }),
    (s) =>
      Object.assign(s, {
        operator: workload("kadalu-operator", "0.1.0", { availableReplicas: 0 }, 0),
        nodeplugin: workload("kadalu-nodeplugin", "0.1.0", { desiredNumberScheduled: 0 }),
        pods: [],
        probes: new Map(),
      }),
    (s) => Object.assign(s, { probes: new Map([["pool1", { mount: "ok", statDb: "unreadable" }]]) }),
    // Pods with reasons of their own: a crash loop (logs --previous) and a FailedMount (describe pod).
    (s) =>
      Object.assign(s, {
        pods: [
          {
            ...pod("operator-7d9f-abcde", false),
            status: {
              phase: "Running",
              containerStatuses: [
                { name: "kadalu-operator", restartCount: 2, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1 } } },
              ],
            },
          },
          {
            ...pod("server-pool1-0-0", false),
            status: { phase: "Pending", containerStatuses: [{ name: "server", state: { waiting: { reason: "ContainerCreating" } } }] },
          },
        ],
        podEvents: [
          {
            involvedObject: { kind: "Pod", name: "server-pool1-0-0" },
            type: "Warning",
            reason: "FailedMount",
            message: 'MountVolume.SetUp failed for volume "glusterfsd-mountdir" : hostPath type check failed: /data/pool1 is not a directory',
          },
        ],
      }),
    // Snapshots: no controller; then CRDs but no sidecar in the provisioner.
    (s) => Object.assign(s, { snapshots: { crds: "theirs", missingCrds: [], controllers: [] } }),
    (s) => Object.assign(s, { snapshots: { crds: "ours", missingCrds: [], controllers: ["kadalu/kadalu-snapshot-controller"] } }),
  ];
  return variants.flatMap((vary) => {
    const snapshot = base();
    vary(snapshot);
    return diagnose(snapshot);
  });
}

function doctorAdvice(): Advice[] {
  return ["kadalu", "storage"].flatMap((namespace) =>
    doctorFindings(namespace)
      .filter((f) => f.next)
      .map((f) => ({ from: `doctor ${f.check} (-n ${namespace})`, text: f.next! })),
  );
}

function alertAdvice(): Advice[] {
  return ALERT_GROUPS.flatMap((group) =>
    group.rules.flatMap((rule) => [rule.annotations.summary, rule.annotations.description].map((text) => ({ from: `alert ${rule.alert}`, text }))),
  );
}

const filesUnder = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name));

/** Prose that names the plugin without advising a command (each must still be there: the list cannot rot). */
const NOT_ADVICE = ["(kubectl kadalu completes through kubectl_complete-kadalu)"];

/** String literals of the sources naming a `kubectl kadalu` command: errors' hints, notes, help examples. */
function sourceAdvice(): Advice[] {
  return ["src", "operator", "csi"].flatMap(filesUnder).flatMap((path) =>
    read(path)
      .split("\n")
      .flatMap((line, index) => {
        // Comments, and commands built from parts (checked where they are used), are not printed as written.
        if (/^\s*(\/\/|\/?\*)/.test(line) || !/kubectl kadalu /.test(line) || /kubectl kadalu \$\{/.test(line)) return [];
        const text = NOT_ADVICE.reduce((rest, prose) => rest.replace(prose, ""), line);
        return [{ from: `${path}:${index + 1}`, text }];
      }),
  );
}

/** The README's code blocks (not YAML) and inline code that is a whole command. */
function readmeAdvice(readme: string): Advice[] {
  const advice: Advice[] = [];
  const lines = readme.split("\n");
  let fence: string | undefined;
  lines.forEach((line, index) => {
    const opening = /^```(\w*)/.exec(line);
    if (opening) {
      fence = fence === undefined ? opening[1] || "text" : undefined;
      return;
    }
    const from = `README.md:${index + 1}`;
    if (fence !== undefined) {
      if (fence === "yaml" || fence === "json") return;
      // A trailing backslash continues the command on the next line; a comment is not part of it.
      let text = line;
      for (let next = index; text.endsWith("\\"); next++) text = `${text.slice(0, -1)} ${lines[next + 1]?.trim() ?? ""}`;
      if (index > 0 && lines[index - 1]!.endsWith("\\")) return;
      advice.push({ from, text: text.replace(/(^|\s)#.*$/, "") });
    } else {
      // Inline code: a whole command, not a synopsis (`[-d DIR]`, `<TAB>`).
      for (const span of line.matchAll(/`(kubectl[ -]kadalu(?: [^`]*)?)`/g)) if (!/[[<]/.test(span[1]!)) advice.push({ from, text: span[1]! });
    }
  });
  return advice;
}

/** Every command's whole --help (the examples are added after the options), as the CLI prints it. */
function helpAdvice(): Advice[] {
  const io = captureIO();
  const program = buildProgram(
    { io, env: {}, connect: () => Promise.reject(new Error("no cluster")), confirm: () => Promise.reject(new Error("no prompt")) },
    "kubectl kadalu",
  );
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  return all(program).flatMap((command) => {
    let text = "";
    command.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
    command.outputHelp();
    // Examples are lines that start with the command; the usage line and descriptions are not advice.
    return text
      .split("\n")
      .filter((line) => /^\s*(\$ )?(kubectl[ -]kadalu |source <\(kubectl-kadalu )/.test(line))
      .map((line) => ({ from: `${command.name()} --help`, text: line }));
  });
}

function allAdvice(): Advice[] {
  return [...doctorAdvice(), ...alertAdvice(), ...sourceAdvice(), ...readmeAdvice(read("README.md")), ...helpAdvice()];
}

/** Verbs of kubectl that advice may use; anything else is a typo or an invented command. */
const KUBECTL_VERBS = new Set([
  "get",
  "describe",
  "logs",
  "exec",
  "edit",
  "scale",
  "apply",
  "delete",
  "create",
  "patch",
  "rollout",
  "krew",
  "label",
  "annotate",
  "version",
  "plugin",
  "top",
  "events",
  "wait",
  "explain",
]);

// ---------------------------------------------------------------- the checks

describe("advice parses with the CLI's own parser", () => {
  const advice = allAdvice();
  const kadalu = advice.flatMap((item) =>
    kadaluCommands(item.text, !item.from.startsWith("doctor") && !item.from.startsWith("alert")).map((args) => ({ ...item, args })),
  );

  it("finds advice in every source: doctor, the alerts, errors' hints, the README and every command's --help", () => {
    const from = (prefix: string) => kadalu.filter((item) => item.from.startsWith(prefix)).length;
    expect(from("doctor")).toBeGreaterThan(10);
    expect(from("alert")).toBeGreaterThanOrEqual(6);
    expect(from("src/cli/commands/storage-add.ts")).toBeGreaterThan(0);
    expect(from("README.md")).toBeGreaterThan(30);
    const helped = new Set(kadalu.filter((item) => item.from.endsWith("--help")).map((item) => item.from));
    expect(helped.size).toBeGreaterThanOrEqual(12);
    const sources = ["src", "operator", "csi"].flatMap(filesUnder).map(read).join("\n");
    for (const prose of NOT_ADVICE) expect(sources, prose).toContain(prose);
  });

  it("every `kubectl kadalu ...` parses: a known command, known options, the arguments it takes", async () => {
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const item of kadalu) {
      const key = item.args.join(" ");
      if (seen.has(key)) continue;
      seen.add(key);
      const result = await parseOnly(item.args);
      if (result.error) failures.push(`${item.from}: kubectl kadalu ${key}\n    ${result.error}`);
    }
    expect(failures.join("\n")).toBe("");
    expect(seen.size).toBeGreaterThan(40);
  });

  it("doctor never advises a kadalu command with an argument it does not take", () => {
    const texts = doctorAdvice().map((item) => item.text);
    expect(texts).toContain("kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner");
    expect(texts).toContain("kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner -n storage");
    expect(texts).toContain("kubectl kadalu storage-expand pool1 --device NODE:/dev/sdX --device NODE:/dev/sdX --device NODE:/dev/sdX");
    expect(texts.filter((text) => /storage-add|\.\.\./.test(text))).toEqual([]);
  });

  it("plain kubectl advice names a kubectl verb", () => {
    const plain = advice.flatMap((item) => kubectlCommands(item.text).map((words) => ({ ...item, words })));
    expect(plain.filter((item) => item.from.startsWith("doctor")).length).toBeGreaterThan(5);
    const verbOf = (words: string[]): string | undefined =>
      words.find((word, i) => !word.startsWith("-") && !(i > 0 && ["-n", "--namespace", "--context"].includes(words[i - 1]!)));
    expect(plain.filter((item) => !KUBECTL_VERBS.has(verbOf(item.words) ?? "")).map((item) => `${item.from}: kubectl ${item.words.join(" ")}`)).toEqual([]);
  });

  it("the parse check itself refuses what the CLI refuses", async () => {
    expect((await parseOnly(["logs", "kadalu-csi-provisioner-0", "kadalu-csi-provisioner-1"])).error).toMatch(/too many arguments/);
    expect((await parseOnly(["storage-list", "--version"])).error).toMatch(/--version is not an option/);
    expect((await parseOnly(["storage-list", "--frobnicate"])).error).toMatch(/unknown option/);
    expect((await parseOnly(["storage-ad", "pool1"])).error).toMatch(/unknown command/);
    expect((await parseOnly(["option-set"])).error).toMatch(/missing required argument/);
    expect((await parseOnly(["storage-remove", "Pool_1"])).error).toMatch(/pool name "Pool_1"/);
    expect(await parseOnly(["logs", "--pod", "kadalu-csi-provisioner-0", "-c", "kadalu-provisioner"])).toEqual({ command: "logs" });
  });

  it("finds commands in prose, shell lines and templates as a reader would", () => {
    expect(kadaluCommands("remove them first (kubectl kadalu storage-remove NAME), or pass --force", false)).toEqual([["storage-remove", "pool1"]]);
    expect(kadaluCommands("kubectl kadalu doctor -o json | jq '.findings[]'", false)).toEqual([["doctor", "-o", "json"]]);
    expect(kadaluCommands("kubectl kadalu install -o yaml > kadalu.yaml   # offline", false)).toEqual([["install", "-o", "yaml"]]);
    expect(kadaluCommands("source <(kubectl-kadalu completion bash)       # or zsh", true)).toEqual([["completion", "bash"]]);
    expect(kadaluCommands('`pod "${raw.pod}" is not a Kadalu pod; see: kubectl kadalu logs ${raw.pod} -n ${namespace}`', false)).toEqual([
      ["logs", "kadalu-csi-provisioner-0", "-n", "kadalu"],
    ]);
    expect(kadaluCommands("See kubectl kadalu doctor --pool {{ $labels.pool }}, and the log.", false)).toEqual([["doctor", "--pool", "pool1"]]);
  });
});

describe("the README's install route", () => {
  it("installs the tarball `npm pack` writes for this version, and says the npm package is not published", () => {
    const readme = read("README.md");
    const install = readme.slice(readme.indexOf("## Install"), readme.indexOf("\n## ", readme.indexOf("## Install") + 1));
    const { name, version } = JSON.parse(read("package.json")) as { name: string; version: string };
    expect(install).toContain("npm ci && npm pack");
    expect(install).toContain(`npm install -g ./${name}-${version}.tgz`);
    expect(install).toMatch(/not published yet/);
    expect(readme).not.toMatch(/npm install -g kubectl-kadalu\s/);
  });
});

describe("doctor's advice runs as printed on the sandbox", () => {
  const KDS = "kadalu-operator.storage/v1alpha1";
  let sandbox: Sandbox;
  let home: string;
  const env = (): NodeJS.ProcessEnv => ({ KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1", HOME: home, KUBECACHEDIR: join(home, "cache") });
  const cli = (...args: string[]): Promise<CliResult> => runBin(args, env());
  const until = async (what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> => {
    const start = Date.now();
    while (!condition()) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${sandbox.logs.slice(-10).join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  /** The advice doctor prints now for `check` (not ok), as the user reads it in the NEXT column. */
  const adviceFor = async (check: string): Promise<string> => {
    const report = JSON.parse((await cli("doctor", "-n", "kadalu", "-o", "json")).stdout) as { findings: Finding[] };
    const finding = report.findings.find((f) => f.check === check && f.severity !== "ok");
    if (!finding?.next) throw new Error(`doctor gave no advice for ${check}: ${JSON.stringify(report.findings)}`);
    return finding.next;
  };
  /** Runs the one command a piece of advice names, as a user copies it: kadalu through the built CLI, else kubectl. */
  const runAdvice = (next: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
    const kadalu = kadaluCommands(next, false);
    if (kadalu.length === 1) return runBin(kadalu[0]!, { ...env(), ...extraEnv });
    const plain = kubectlCommands(next);
    expect(plain, next).toHaveLength(1);
    return runProgram("kubectl", plain[0]!, { ...env(), ...extraEnv });
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "kadalu-advice-"));
    sandbox = await startSandbox();
    await installPool1(sandbox, cli, [["data", "1Gi"]]);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("a brick pod not ready: its logs, as advised", async () => {
    const pod = sandbox.server.get("v1", "Pod", "kadalu", "server-pool1-1-0")!;
    const container = pod.spec.containers[0].name as string;
    sandbox.server.setPodLogs("kadalu", "server-pool1-1-0", container, "brick pool1-1 says hello\n");
    sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", { ...pod.status, conditions: [{ type: "Ready", status: "False" }] });
    try {
      const next = await adviceFor("bricks");
      expect(next).toBe("kubectl kadalu logs server-pool1-1-0");
      const logs = await runAdvice(next);
      expect(logs.stderr).toBe("");
      expect(logs.stdout).toBe(`==> server-pool1-1-0/${container} <==\nbrick pool1-1 says hello\n\n`);
      expect(logs.code).toBe(0);
    } finally {
      sandbox.server.setStatus("v1", "Pod", "kadalu", "server-pool1-1-0", pod.status);
    }
  });

  it("a pool the operator refuses: kubectl describes it, as advised", async () => {
    // Replica3 over two units: the operator says why in the pool's status.
    sandbox.server.seed({
      apiVersion: KDS,
      kind: "KadaluStorage",
      metadata: { name: "pool9", namespace: "kadalu" },
      spec: {
        type: "Replica3",
        storage: [
          { node: "kube1", path: "/data/pool9" },
          { node: "kube2", path: "/data/pool9" },
        ],
      },
    } as never);
    await until("the operator's verdict on pool9", () => sandbox.server.get(KDS, "KadaluStorage", "kadalu", "pool9")?.status?.state === "error");
    const next = await adviceFor("pool-state");
    expect(next).toBe("kubectl -n kadalu describe kadalustorage pool9");
    const describe = await runAdvice(next);
    expect(describe.stderr).toBe("");
    expect(describe.stdout).toMatch(/^Name:\s+pool9\nNamespace:\s+kadalu\n/);
    expect(describe.code).toBe(0);
    expect((await runProgram("kubectl", ["-n", "kadalu", "delete", "kds", "pool9", "--wait=false"], env())).code).toBe(0);
  });

  it("a PVC Pending: kubectl describes it, as advised", async () => {
    sandbox.server.seed({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "too-big", namespace: "default" },
      spec: { storageClassName: "kadalu.pool1", accessModes: ["ReadWriteMany"], resources: { requests: { storage: "100Ti" } } },
      status: { phase: "Pending" },
    } as never);
    const next = await adviceFor("pvc");
    expect(next).toBe("kubectl -n default describe pvc too-big");
    const describe = await runAdvice(next);
    expect(describe.stdout).toMatch(/^Name:\s+too-big\nNamespace:\s+default\nStorageClass:\s+kadalu\.pool1\nStatus:\s+Pending\n/);
    expect(describe.code).toBe(0);
    expect((await runProgram("kubectl", ["-n", "default", "delete", "pvc", "too-big"], env())).code).toBe(0);
  });

  it("a full pool: grown as advised with storage-expand, the operator runs the new bricks", async () => {
    const pool = sandbox.server.get(KDS, "KadaluStorage", "kadalu", "pool1")!;
    const usage = pool.status.usage;
    sandbox.server.setStatus(KDS, "KadaluStorage", "kadalu", "pool1", {
      ...pool.status,
      usage: { ...usage, provisionedBytes: Math.ceil(usage.capacityBytes * 0.95) },
    });
    const next = await adviceFor("capacity");
    expect(next).toBe("kubectl kadalu storage-expand pool1 --path NODE:/DIR --path NODE:/DIR --path NODE:/DIR");
    // The user fills in a directory on each node, and answers the prompt (--yes here: no terminal).
    let node = 0;
    const filled = next.replace(/NODE:\/DIR/g, () => `kube${(node += 1)}:/data/pool1-more`);
    const expand = await runAdvice(`${filled} --yes`);
    expect(expand.stdout).toBe("kadalustorage.kadalu-operator.storage/pool1 expanded to 6 storage units\n");
    expect(expand.code).toBe(0);
    await until("the operator to run the new group's brick pods", () =>
      [3, 4, 5].every((i) => sandbox.server.get("v1", "Pod", "kadalu", `server-pool1-${i}-0`)?.status?.phase === "Running"),
    );
    await until("pool1 ready again", () => sandbox.server.get(KDS, "KadaluStorage", "kadalu", "pool1")?.status?.state === "ready");
    const doctor = await cli("doctor", "-n", "kadalu", "--pool", "pool1");
    expect(doctor.stdout).toMatch(/^ok\s+bricks\s+pool\/pool1\s+6\/6 server pods ready$/m);
  }, 60_000);

  it("the provisioner's mount missing: its logs, as advised", async () => {
    sandbox.server.setPodLogs("kadalu", "kadalu-csi-provisioner-0", "kadalu-provisioner", "mount of pool1 failed: test\n");
    const statDb = join(sandbox.provisionerRoot, "mnt", "pool1", "stat.db");
    copyFileSync(statDb, join(home, "stat.db"));
    rmSync(statDb);
    try {
      const next = await adviceFor("mount");
      expect(next).toBe("kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner");
      const logs = await runAdvice(next);
      expect(logs.stdout).toBe("==> kadalu-csi-provisioner-0/kadalu-provisioner <==\nmount of pool1 failed: test\n\n");
      expect(logs.code).toBe(0);
    } finally {
      copyFileSync(join(home, "stat.db"), statDb);
    }
  });

  it("stat.db unreadable: the driver's own probe, run in the provisioner with kubectl exec as advised", async () => {
    const statDb = join(sandbox.provisionerRoot, "mnt", "pool1", "stat.db");
    copyFileSync(statDb, join(home, "stat.db"));
    writeFileSync(statDb, "not a database, not even close to one\n".repeat(200));
    try {
      const next = await adviceFor("stat.db");
      expect(next).toBe("kubectl -n kadalu exec kadalu-csi-provisioner-0 -c kadalu-provisioner -- node /kadalu/bin/kadalu-csi probe /mnt/pool1");
      const probe = await runAdvice(next);
      expect(probe.stdout).toMatch(/^pool1\tok\tunreadable\b/);
      expect(probe.code).toBe(0);
    } finally {
      copyFileSync(join(home, "stat.db"), statDb);
    }
  });
});
