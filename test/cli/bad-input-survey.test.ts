/**
 * The wider survey: every kind of bad value in every place a command takes it (pool names, namespaces,
 * durations, storage units, pool layouts, Gluster options, image flags, unknown commands and flags).
 * Each one must be refused like the hand-written cases in bad-input.test.ts: exit 2, one `error:` line
 * on stderr, nothing on stdout, and no connection to the cluster (a TCP server counts them).
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { useCountingServer } from "../helpers/counting-server.js";

const { kubeconfig: counted, connections } = useCountingServer();

/** Names Kubernetes would refuse as a pool (a DNS-1123 label), or that are worse: paths, shell, control characters. */
const BAD_NAMES = [
  "", " ", "UPPER", "Pool1", "a_b", "-lead", "trail-", "a.b", "a/b", "../x", "..", ".", "a b", "x".repeat(64),
  "a\nb", "a\tb", "a\rb", "a\x1bb", "é", "pööl", "a;rm -rf /", "$(id)", "`id`", "a*", "a?", "a\\b", "a:b", "a,b", "a@b", "a%2fb",
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
];

const BAD_NAMESPACES = ["", "Kadalu", "a.b", "a_b", "-x", "x-", "x".repeat(64), "a\nb", "a/b", "kadalu system"];
const NAMESPACED_COMMANDS: string[][] = [
  ["storage-list"], ["storage-list", "--status"], ["storage-add", "pool1", "--path", "kube1:/data"], ["storage-remove", "pool1", "--yes"],
  ["option-set", "pool1", "performance.io-cache", "on"], ["option-reset", "pool1"], ["remove-archived-pv", "pool1"], ["healinfo"],
  ["logs"], ["install"], ["uninstall", "--yes"], ["version"],
];

const BAD_DURATIONS = ["soon", "-1s", "0x", "1.5.5s", "600h", "10", "1 m", "", "1h\n", "9".repeat(30) + "s"];
const DURATION_COMMANDS: ((value: string) => string[])[] = [
  (value) => ["storage-add", "pool1", "--path", "kube1:/data", "--wait", "--timeout", value],
  (value) => ["storage-remove", "pool1", "--yes", "--wait", "--timeout", value],
  (value) => ["install", "--timeout", value],
  (value) => ["storage-list", "--request-timeout", value],
];

/** Storage units as `--device`, `--path` and `--pvc` take them, each broken one way. */
const BAD_UNITS: [flag: string, value: string][] = [
  ["--device", "kube1"], ["--device", ":/dev/sdb"], ["--device", "kube1:"], ["--device", "kube1:dev/sdb"], ["--device", "kube1:/dev/sd\nb"],
  ["--device", "kube1:/dev/sdb,x"], ["--device", "Kube_1:/dev/sdb"], ["--device", "kube1:/dev/sdb:x"], ["--device", `kube1:/${"d".repeat(4100)}`],
  ["--device", "kube 1:/dev/sdb"], ["--path", "kube1"], ["--path", "kube1:"], ["--path", "kube1:data"], ["--path", ":/data"],
  ["--path", "kube1:/da\tta"], ["--path", "kube1:/data,y"], ["--path", "-kube1:/data"], ["--path", "kube1:/data\x7f"], ["--path", "kube1:/a:b"],
  ["--pvc", ""], ["--pvc", "PVC1"], ["--pvc", "a/b"], ["--pvc", "pvc_1"], ["--pvc", "x".repeat(254)], ["--pvc", "pvc\n1"],
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
  ["--external", "g1"], ["--external", "g1:"], ["--external", ":/gv0"], ["--external", "g1:/gv 0"], ["--external", "g1:/gv0\nx"],
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
  ["option-set", "pool1"], ["option-set", "pool1", "performance.io-cache"], ["option-set", "pool1", "performance.io-cache", "maybe"],
  ["option-set", "pool1", "no.such-option", "on"], ["option-set", "pool1", "performance.io-cache", "on", "performance.io-cache"],
  ["option-set", "pool1", "x y", "on", "--force"], ["option-set", "pool1", "x.y", "", "--force"], ["option-set", "pool1", "x.y", "a b", "--force"],
  ["option-set", "pool1", "x\ny", "on", "--force"], ["option-reset", "pool1", "x y"], ["option-reset", "pool1", "performance.io-cache", "--all"],
];

const BAD_INSTALL: string[][] = [
  ["--image-registry", ""], ["--image-registry", "http://r"], ["--image-registry", "r/"], ["--image-registry", "r r"], ["--image-registry", "r:99999999"],
  ["--image-repository", "Team"], ["--image-repository", "/x"], ["--image-repository", "x//y"], ["--image-tag", ""], ["--image-tag", ".x"],
  ["--image-tag", "a:b"], ["--image-tag", "t".repeat(129)], ["--server-image-tag", "-x"], ["--image-pull-secret", "A"], ["--image-pull-secret", "a_b"],
  ["--kubelet-dir", ""], ["--kubelet-dir", "relative"], ["--kubelet-dir", "/var/lib/kubelet\n"], ["--type", "minikube"], ["-o", "toml"],
  ["--dry-run=maybe"], ["--dry-run=server", "-o", "json"],
];

const BAD_COMMANDS: string[][] = [
  ["storage-ad", "pool1"], ["storage-list", "--bogus"], ["storage-remove"], ["option-reset"], ["remove-archived-pv"], ["logs", "--pod"],
  ["healinfo", "pool1", "extra"], ["healinfo", "pool1", "--pool", "pool2"], ["top", "pool1", "--name", "pool1"], ["logs", "a", "--pod", "b"], ["version", "--version"], ["completion", "tcsh"], ["completion"], ["--request-timeout"], ["install", "--nope"], ["storage-list", "-o", "xml"],
];

const CASES: [string, string[]][] = [
  ...NAME_COMMANDS.flatMap((command) => BAD_NAMES.map((name): [string, string[]] => ["pool name", command(name)])),
  ...NAMESPACED_COMMANDS.flatMap((command) => BAD_NAMESPACES.map((namespace): [string, string[]] => ["namespace", [...command, "-n", namespace]])),
  ...DURATION_COMMANDS.flatMap((command) => BAD_DURATIONS.map((value): [string, string[]] => ["duration", command(value)])),
  ...BAD_UNITS.map(([flag, value]): [string, string[]] => ["storage unit", ["storage-add", "pool1", flag, value]]),
  ...BAD_LAYOUTS.map((args): [string, string[]] => ["layout", ["storage-add", "pool1", ...args]]),
  ...BAD_OPTIONS.map((args): [string, string[]] => ["options", args]),
  ...BAD_INSTALL.map((args): [string, string[]] => ["install", ["install", ...args]]),
  ...BAD_COMMANDS.map((args): [string, string[]] => ["command", args]),
];

describe(`${CASES.length} malformed invocations: refused locally, in one line`, () => {
  it.each(CASES)("%s: %j", async (_kind, args) => {
    const before = connections();
    const result = await runCli([...args, "--kubeconfig", counted()]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines, "one line").toHaveLength(1);
    expect(lines[0]).toMatch(/^error: \S/);
    expect(lines[0]).not.toMatch(/[\0-\x08\x0b-\x1f\x7f]/);
    expect(connections() - before, "connections made").toBe(0);
  });
});
