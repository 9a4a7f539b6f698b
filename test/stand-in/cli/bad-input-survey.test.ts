/**
 * The wider survey: every kind of bad value in every place a command takes it (pool names, namespaces,
 * durations, storage units, pool layouts, Gluster options, image flags, unknown commands and flags).
 * Each one must be refused like the hand-written cases in bad-input.test.ts: exit 2, one `error:` line
 * on stderr, nothing on stdout, and no connection to the cluster (a TCP server counts them).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../../harness/helpers/cli.js";
import { useCountingServer } from "../../../harness/helpers/counting-server.js";

const { kubeconfig: counted, connections } = useCountingServer();

/** Names Kubernetes would refuse as a pool (a DNS-1123 label), or that are worse: paths, shell, control characters. */
const BAD_NAMES = [
  "",
  " ",
  "UPPER",
  "Pool1",
  "a_b",
  "-lead",
  "trail-",
  "a.b",
  "a/b",
  "../x",
  "..",
  ".",
  "a b",
  "x".repeat(64),
  "a\nb",
  "a\tb",
  "a\rb",
  "a\x1bb",
  "é",
  "pööl",
  "a;rm -rf /",
  "$(id)",
  "`id`",
  "a*",
  "a?",
  "a\\b",
  "a:b",
  "a,b",
  "a@b",
  "a%2fb",
];
const NAME_COMMANDS: ((name: string) => string[])[] = [
  (name) => ["storage-remove", name, "--yes"],
  (name) => ["option-set", name, "performance.io-cache", "on"],
  (name) => ["option-reset", name],
  (name) => ["remove-archived-pv", name],
  (name) => ["storage-list", "--name", name],
  (name) => ["healinfo", "--name", name],
  (name) => ["healinfo", name],
  (name) => ["top", "--pool", name],
  (name) => ["doctor", name],
  (name) => ["storage-add", name, "--path", "kube1:/data"],
  (name) => ["storage-expand", name, "--path", "kube1:/data"],
  (name) => ["storage-replace", name, "kube1:/data", "--path", "kube2:/data"],
];

const BAD_NAMESPACES = ["", "Kadalu", "a.b", "a_b", "-x", "x-", "x".repeat(64), "a\nb", "a/b", "kadalu system"];
const NAMESPACED_COMMANDS: string[][] = [
  ["storage-list"],
  ["storage-list", "--status"],
  ["storage-add", "pool1", "--path", "kube1:/data"],
  ["storage-remove", "pool1", "--yes"],
  ["storage-expand", "pool1", "--path", "kube1:/data"],
  ["storage-replace", "pool1", "kube1:/data", "--path", "kube2:/data"],
  ["option-set", "pool1", "performance.io-cache", "on"],
  ["option-reset", "pool1"],
  ["remove-archived-pv", "pool1"],
  ["healinfo"],
  ["logs"],
  ["install"],
  ["uninstall", "--yes"],
  ["version"],
];

const BAD_DURATIONS = ["soon", "-1s", "0x", "1.5.5s", "600h", "10", "1 m", "", "1h\n", "9".repeat(30) + "s"];
const DURATION_COMMANDS: ((value: string) => string[])[] = [
  (value) => ["storage-add", "pool1", "--path", "kube1:/data", "--wait", "--timeout", value],
  (value) => ["storage-remove", "pool1", "--yes", "--wait", "--timeout", value],
  (value) => ["storage-expand", "pool1", "--path", "kube1:/data", "--wait", "--timeout", value],
  (value) => ["storage-replace", "pool1", "kube1:/data", "--path", "kube2:/data", "--wait", "--timeout", value],
  (value) => ["install", "--timeout", value],
  (value) => ["storage-list", "--request-timeout", value],
];

/** Storage units as `--device`, `--path` and `--pvc` take them, each broken one way. */
const BAD_UNITS: [flag: string, value: string][] = [
  ["--device", "kube1"],
  ["--device", ":/dev/sdb"],
  ["--device", "kube1:"],
  ["--device", "kube1:dev/sdb"],
  ["--device", "kube1:/dev/sd\nb"],
  ["--device", "kube1:/dev/sdb,x"],
  ["--device", "Kube_1:/dev/sdb"],
  ["--device", "kube1:/dev/sdb:x"],
  ["--device", `kube1:/${"d".repeat(4100)}`],
  ["--device", "kube 1:/dev/sdb"],
  ["--path", "kube1"],
  ["--path", "kube1:"],
  ["--path", "kube1:data"],
  ["--path", ":/data"],
  ["--path", "kube1:/da\tta"],
  ["--path", "kube1:/data,y"],
  ["--path", "-kube1:/data"],
  ["--path", "kube1:/data\x7f"],
  ["--path", "kube1:/a:b"],
  ["--pvc", ""],
  ["--pvc", "PVC1"],
  ["--pvc", "a/b"],
  ["--pvc", "pvc_1"],
  ["--pvc", "x".repeat(254)],
  ["--pvc", "pvc\n1"],
];

/** Pool layouts that cannot be built, and flags that do not fit the pool. */
const BAD_LAYOUTS: string[][] = [
  ["--type", "Replica4", "--path", "kube1:/a"],
  ["--type", "Replica3", "--path", "kube1:/a", "--path", "kube2:/b"],
  ["--type", "Replica2", "--path", "kube1:/a"],
  ["--type", "Replica3", "--path", "kube1:/a", "--path", "kube1:/a", "--path", "kube1:/a"],
  ["--type", "Disperse", "--path", "kube1:/a", "--path", "kube2:/b"],
  ["--type", "Disperse", "--data", "2", "--redundancy", "2", "--path", "kube1:/a", "--path", "kube2:/b", "--path", "kube3:/c", "--path", "kube4:/d"],
  ["--type", "External", "--path", "kube1:/a"],
  ["--external", "g1"],
  ["--external", "g1:"],
  ["--external", ":/gv0"],
  ["--external", "g1:/gv 0"],
  ["--external", "g1:/gv0\nx"],
  ["--external", "g1:/gv0", "--gluster-options", "log-file=/tmp/x"],
  ["--external", "g1:/gv0", "--gluster-options", "volfile-server=evil --foo"],
  ["--external", "g1:/gv0", "--path", "kube1:/a"],
  ["--type", "Replica1", "--path", "kube1:/a", "--path", "kube1:/a/"],
  ["--path", "kube1:/a", "--pv-reclaim-policy", "destroy"],
  ["--path", "kube1:/a", "--kadalu-format", "upstream"],
  ["--path", "kube1:/a", "--volume-id", "not-a-uuid"],
  [],
];

const BAD_OPTIONS: string[][] = [
  ["option-set", "pool1"],
  ["option-set", "pool1", "performance.io-cache"],
  ["option-set", "pool1", "performance.io-cache", "maybe"],
  ["option-set", "pool1", "no.such-option", "on"],
  ["option-set", "pool1", "performance.io-cache", "on", "performance.io-cache"],
  ["option-set", "pool1", "x y", "on", "--force"],
  ["option-set", "pool1", "x.y", "", "--force"],
  ["option-set", "pool1", "x.y", "a b", "--force"],
  ["option-set", "pool1", "x\ny", "on", "--force"],
  ["option-reset", "pool1", "x y"],
  ["option-reset", "pool1", "performance.io-cache", "--all"],
];

const BAD_INSTALL: string[][] = [
  ["--image-registry", ""],
  ["--image-registry", "http://r"],
  ["--image-registry", "r/"],
  ["--image-registry", "r r"],
  ["--image-registry", "r:99999999"],
  ["--image-repository", "Team"],
  ["--image-repository", "/x"],
  ["--image-repository", "x//y"],
  ["--image-tag", ""],
  ["--image-tag", ".x"],
  ["--image-tag", "a:b"],
  ["--image-tag", "t".repeat(129)],
  ["--server-image-tag", "-x"],
  ["--image-pull-secret", "A"],
  ["--image-pull-secret", "a_b"],
  ["--kubelet-dir", ""],
  ["--kubelet-dir", "relative"],
  ["--kubelet-dir", "/var/lib/kubelet\n"],
  ["--type", "minikube"],
  ["-o", "toml"],
  ["--dry-run=maybe"],
  ["--dry-run=server", "-o", "json"],
];

const BAD_COMMANDS: string[][] = [
  ["storage-ad", "pool1"],
  ["storage-list", "--bogus"],
  ["storage-remove"],
  ["option-reset"],
  ["remove-archived-pv"],
  ["logs", "--pod"],
  ["healinfo", "pool1", "extra"],
  ["healinfo", "pool1", "--pool", "pool2"],
  ["top", "pool1", "--name", "pool1"],
  ["logs", "a", "--pod", "b"],
  ["version", "--version"],
  ["completion", "tcsh"],
  ["completion"],
  ["--request-timeout"],
  ["install", "--nope"],
  ["storage-list", "-o", "xml"],
];

/**
 * Characters no name, path or value needs, by class: controls (Cc, C0 and C1), invisible format characters
 * (Cf: bidi overrides and isolates, zero-width, BOM, soft hyphen) and line separators. Each is put in every
 * string slot of every command; the error shows it escaped, as the user would have to retype it.
 */
const HIDDEN: [char: string, escaped: string][] = [
  ["\u202e", "\\u202e"],
  ["\u202a", "\\u202a"],
  ["\u2066", "\\u2066"],
  ["\u200b", "\\u200b"],
  ["\u200d", "\\u200d"],
  ["\ufeff", "\\ufeff"],
  ["\u00ad", "\\xad"],
  ["\u2028", "\\u2028"],
  ["\x85", "\\x85"],
  ["\x9b", "\\x9b"],
  ["\x1b", "\\x1b"],
  ["\x00", "\\x00"],
];
const STRING_SLOTS: ((c: string) => string[])[] = [
  (c) => ["storage-add", `pool${c}1`, "--path", "kube1:/a"],
  (c) => ["storage-add", "pool1", "--path", `kube1:/a${c}b`],
  (c) => ["storage-add", "pool1", "--path", `kube${c}1:/a`],
  (c) => ["storage-add", "pool1", "--device", `kube1:/dev/sd${c}b`],
  (c) => ["storage-add", "pool1", "--pvc", `brick${c}1`],
  (c) => ["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/a", "--path", "kube2:/a", "--tiebreaker", `tie:/t${c}`],
  (c) => ["storage-add", "pool1", "--external", `g1:/gv${c}0`],
  (c) => ["storage-add", "pool1", "--external", "g1:/gv0", "--gluster-options", `log-level=DEBUG${c}`],
  (c) => ["storage-add", "pool1", "--storage-unit-type", "path", "replica", "2", `n1:/a${c}`, "n2:/a"],
  (c) => ["storage-add", "pool1", "--path", "kube1:/a", "--volume-id", `4f2c8a52-b4a1-11ee-9c1c-0242ac110002${c}`],
  (c) => ["storage-add", "pool1", "--path", "kube1:/a", "--timeout", `5m${c}`, "--wait"],
  (c) => ["storage-remove", `pool${c}1`, "--yes"],
  (c) => ["option-set", `pool${c}1`, "performance.io-cache", "on"],
  (c) => ["option-set", "pool1", `performance.io-cache${c}`, "on"],
  (c) => ["option-set", "pool1", "performance.io-cache", `on${c}`],
  (c) => ["option-set", "pool1", "x.y", `v${c}`, "--force"],
  (c) => ["option-reset", `pool${c}1`, "--all"],
  (c) => ["option-reset", "pool1", `performance.io-cache${c}`],
  (c) => ["remove-archived-pv", `pool${c}1`],
  (c) => ["remove-archived-pv", "pool1", "--pvc", `archived-pvc-1${c}`],
  (c) => ["storage-list", "--name", `pool${c}1`],
  (c) => ["healinfo", "--name", `pool${c}1`],
  (c) => ["top", "--pool", `pool${c}1`],
  (c) => ["doctor", "--pool", `pool${c}1`],
  (c) => ["logs", "--pod", `pod${c}1`],
  (c) => ["logs", "--pod", "pod1", "--container", `c${c}1`],
  (c) => ["logs", "--since", `1h${c}`],
  (c) => ["support-bundle", "--redact", `secret${c}`],
  (c) => ["support-bundle", "-d", `/tmp/out${c}`],
  (c) => ["install", "--kubelet-dir", `/var/lib/kubelet${c}`],
  (c) => ["install", "--image-registry", `mirror${c}.example.com`],
  (c) => ["install", "--image-tag", `1.0${c}`],
  (c) => ["install", "--image-pull-secret", `regcred${c}`],
  (c) => ["storage-list", "-n", `kadalu${c}`],
  (c) => ["storage-list", "--context", `lab${c}`],
  (c) => ["storage-list", "--request-timeout", `5s${c}`],
];

/** ".." where the cluster takes a path, "/" where it takes a name, a key given twice. */
const TRAVERSALS: string[][] = [
  ["storage-add", "pool1", "--path", "kube1:/data/../etc"],
  ["storage-add", "pool1", "--path", "kube1:/.."],
  ["storage-add", "pool1", "--device", "kube1:/dev/../sda"],
  ["storage-add", "pool1", "--path", "kube1/x:/data"],
  ["storage-add", "pool1", "--storage-unit-type", "path", "replica", "2", "n1:/a/../b", "n2:/a"],
  ["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/a", "--path", "kube2:/a", "--tiebreaker", "tie:/../etc"],
  ["storage-add", "pool1", "--external", "g1:/gv0/../x"],
  ["storage-add", "pool1", "--pvc", "../brick"],
  ["remove-archived-pv", "pool1", "--pvc", "archived-pvc-1/../../etc"],
  ["remove-archived-pv", "pool1", "--pvc", "archived-../x"],
  ["remove-archived-pv", "pool1", "--pvc", "archived-pvc-1/"],
  ["remove-archived-pv", "pool1", "--pvc", "archived-a..b"],
  ["install", "--kubelet-dir", "/var/lib/../kubelet"],
  ["install", "--kubelet-dir", "/var/lib/kubelet/.."],
  ["top", "--pool", "a/b"],
  ["doctor", "--pool", ".."],
  ["logs", "--container", "../c", "--pod", "p"],
  ["option-set", "pool1", "performance.io-cache", "on", "performance.io-cache", "off"],
  ["option-set", "pool1", "x.y", "1", "a.b", "2", "x.y", "1", "--force"],
];

const CASES: [string, string[]][] = [
  ...NAME_COMMANDS.flatMap((command) => BAD_NAMES.map((name): [string, string[]] => ["pool name", command(name)])),
  ...NAMESPACED_COMMANDS.flatMap((command) => BAD_NAMESPACES.map((namespace): [string, string[]] => ["namespace", [...command, "-n", namespace]])),
  ...DURATION_COMMANDS.flatMap((command) => BAD_DURATIONS.map((value): [string, string[]] => ["duration", command(value)])),
  ...BAD_UNITS.flatMap(([flag, value]): [string, string[]][] => [
    ["storage unit", ["storage-add", "pool1", flag, value]],
    ["storage unit", ["storage-expand", "pool1", flag, value]],
    ["storage unit", ["storage-replace", "pool1", "kube1:/data", flag, value]],
  ]),
  ...BAD_LAYOUTS.map((args): [string, string[]] => ["layout", ["storage-add", "pool1", ...args]]),
  ...BAD_OPTIONS.map((args): [string, string[]] => ["options", args]),
  ...BAD_INSTALL.map((args): [string, string[]] => ["install", ["install", ...args]]),
  ...BAD_COMMANDS.map((args): [string, string[]] => ["command", args]),
  ...TRAVERSALS.map((args): [string, string[]] => ["traversal", args]),
];

const HIDDEN_CASES = STRING_SLOTS.flatMap((slot) => HIDDEN.map(([char, escaped]) => [escaped, slot(char)] as [string, string[]]));

/** Exit 2 with one inert `error:` line, nothing on stdout, no connection made; returns that line. */
async function refusedLocally(args: string[]): Promise<string> {
  const before = connections();
  const result = await runCli([...args, "--kubeconfig", counted()]);
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe("");
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines, "one line").toHaveLength(1);
  expect(lines[0]).toMatch(/^error: \S/);
  expect(lines[0]).not.toMatch(/[\p{Cc}\p{Cf}\u2028\u2029]/u);
  expect(connections() - before, "connections made").toBe(0);
  return lines[0]!;
}

describe(`${CASES.length} malformed invocations: refused locally, in one line`, () => {
  it.each(CASES)("%s: %j", async (_kind, args) => {
    await refusedLocally(args);
  });
});

describe(`${HIDDEN_CASES.length} values holding a control or invisible character: refused, shown escaped`, () => {
  it.each(HIDDEN_CASES)("%s in %j", async (escaped, args) => {
    expect(await refusedLocally(args), "the value, escaped").toContain(escaped);
  });
});
