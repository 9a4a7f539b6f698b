/**
 * Bad input is refused before anything is sent: exit 2, one `error:` line, and no connection at all,
 * proved by a TCP server (the kubeconfig's cluster) that counts every connection made to it.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../../harness/helpers/cli.js";
import { useCountingServer } from "../../../harness/helpers/counting-server.js";

const { kubeconfig: counted, connections } = useCountingServer();

const CASES: [args: string[], error: RegExp][] = [
  [["storage-remove", ""], /^error: pool name "" must not be empty$/],
  [["storage-remove", "Pool_1", "--yes"], /^error: pool name "Pool_1" must consist of lower case letters/],
  [["option-set", "", "performance.io-cache", "on"], /^error: pool name "" must not be empty$/],
  [["option-reset", "a".repeat(70)], /^error: pool name "a{70}" must be at most 63 characters/],
  [["remove-archived-pv", "../etc"], /^error: pool name "\.\.\/etc" must consist of/],
  [["storage-list", "--name", "bad name"], /^error: --name "bad name" must consist of/],
  [["healinfo", "--name", "UPPER"], /^error: --name "UPPER" must consist of/],
  [["storage-list", "-n", "Kadalu"], /^error: -n\/--namespace "Kadalu" must consist of/],
  [["storage-add", "pool1", "--path", "kube1:/d", "-n", "a.b"], /^error: -n\/--namespace "a\.b" must consist of/],
  [["logs", "--pod", "x/../y"], /^error: --pod "x\/\.\.\/y" must consist of/],
  [["logs", "x/../y"], /^error: pod name "x\/\.\.\/y" must consist of/],
  [["healinfo", "UPPER"], /^error: pool name "UPPER" must consist of/],
  [["top", "--pool", "a_b"], /^error: --pool "a_b" must consist of/],
  [["doctor", "../x"], /^error: pool name "\.\.\/x" must consist of/],
  [["install", "--image-registry", "https://mirror"], /^error: --image-registry "https:\/\/mirror" is not a registry/],
  [["install", "--image-repository", "Team/X"], /^error: --image-repository "Team\/X" is not a repository path/],
  [["install", "--image-tag", "-1"], /^error: --image-tag "-1" is not an image tag/],
  [["install", "--image-pull-secret", "Reg Cred"], /^error: --image-pull-secret "Reg Cred" must consist of/],
  [["install", "--kubelet-dir", "var/lib/kubelet"], /^error: --kubelet-dir "var\/lib\/kubelet" must be an absolute path/],
  [
    ["install", "--kubelet-dir", "/var/lib/kube\nlet"],
    /^error: --kubelet-dir "\/var\/lib\/kube\\nlet" contains the control character U\+000A; type the value without it$/,
  ],
  [["install", "--kubelet-dir", "/var/lib/../kubelet"], /^error: --kubelet-dir "\/var\/lib\/\.\.\/kubelet" must not contain "\.\." segments/],
  [["install", "-o", "yaml", "--dry-run=server"], /^error: -o prints the manifests without a cluster and --dry-run=server sends them to one/],
  [["storage-add", "pool1", "--path", "kube1:/d", "--wait", "--no-wait"], /^error: --wait and --no-wait contradict each other/],
  [
    ["storage-add", "pool1", "--path", "kube1:/d", "--single-pv-per-pool", "--kadalu-format", "native"],
    /^error: --single-pv-per-pool hands the whole volume to one PV/,
  ],
  [["storage-remove", "pool1", "--wait", "--timeout", "600h"], /^error: --timeout "600h" is longer than the longest wait supported \(596h\)$/],
  // option-set checks keys and values even with --force: they become lines of Gluster's volume files.
  [["option-set", "pool1", "", "on", "--force"], /^error: option key "" must be a Gluster option name/],
  [["option-set", "pool1", "my key", "on", "--force"], /^error: option key "my key" must be a Gluster option name/],
  [["option-set", "pool1", "x.y", "on\nevil", "--force"], /^error: <key-value> "on\\nevil" contains the control character U\+000A; type the value without it$/],
  [["option-set", "pool1", "x.y", "on\tevil", "--force"], /^error: <key-value> "on\\tevil" contains the control character U\+0009/],
  [
    ["option-set", "pool1", "performance.io-cache", "on", "performance.quick-read", "on", "performance.io-cache", "off"],
    /^error: option key "performance\.io-cache" is given twice \(on, then off\); give each key once$/,
  ],
  // Storage units: the same directory twice however it is written, control characters, separators, length.
  [["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/d", "--path", "kube1://d/"], /^error: storage unit 2 \(kube1:\/d\) repeats storage unit 1/],
  [["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/d/./x", "--path", "kube1:/d/x"], /repeats storage unit 1/],
  [["storage-add", "pool1", "--path", "kube1:/data\nevil"], /^error: --path "kube1:\/data\\nevil" contains the control character U\+000A/],
  // Invisible format characters (Unicode Cf) make a name read as something else: refused, and shown escaped.
  [
    ["storage-add", "pool1", "--path", "kube1:/data/\u202egnp.exe"],
    /^error: --path "kube1:\/data\/\\u202egnp\.exe" contains the invisible character U\+202E; type the value without it$/,
  ],
  [["storage-add", "po\u200bol1", "--path", "kube1:/data"], /^error: <pool> "po\\u200bol1" contains the invisible character U\+200B/],
  [["storage-remove", "\ufeffpool1", "--yes"], /^error: <pool> "\\ufeffpool1" contains the invisible character U\+FEFF/],
  [["storage-list", "--name", "pool\u2066"], /^error: --name "pool\\u2066" contains the invisible character U\+2066/],
  [["storage-add", "pool1", "--pvc", "brick\x9b1"], /^error: --pvc "brick\\x9b1" contains the control character U\+009B/],
  [["storage-add", "pool1", "--path", "kube1:/a", "--context", "lab\u2028x"], /^error: --context "lab\\u2028x" contains the invisible character U\+2028/],
  [["storage-add", "pool1", "--p\u202eath", "kube1:/a"], /^error: unknown option '--p\\u202eath'/],
  // ".." and "/" where the cluster takes a path or a name.
  [["storage-add", "pool1", "--path", "kube1:/data/../etc"], /storage unit 1: "\/data\/\.\.\/etc" must not contain "\.\."$/],
  [
    ["storage-add", "pool1", "--type", "Replica2", "--path", "kube1:/a", "--path", "kube2:/a", "--tiebreaker", "tie:/t/../etc"],
    /^error: tiebreaker path "\/t\/\.\.\/etc" must be absolute, without "\.\." segments/,
  ],
  [["remove-archived-pv", "pool1", "--pvc", "archived-pvc-1/../../etc"], /^error: --pvc "archived-pvc-1\/\.\.\/\.\.\/etc" must consist of lower case letters/],
  [["remove-archived-pv", "pool1", "--pvc", "pvc-1"], /^error: --pvc "pvc-1" is not an archived PV: archived PVs are named archived-<pv>$/],
  [["top", "--pool", "a/b"], /^error: --pool "a\/b" must consist of lower case letters/],
  [["doctor", "--pool", "../pool1"], /^error: --pool "\.\.\/pool1" must consist of lower case letters/],
  [["storage-add", "pool1", "--path", "kube1:/data:x"], /must not contain ":" or ","/],
  [["storage-add", "pool1", "--path", `kube1:/${"x".repeat(4100)}`], /the path is longer than 4096 bytes$/],
  [
    ["storage-add", "pool1", "--external", "g1:/gv0", "--gluster-options", "volfile=/tmp/x"],
    /^error: gluster option "volfile=\/tmp\/x" is not one of the client options/,
  ],
];

describe("bad input never reaches the cluster", () => {
  it.each(CASES)("%j", async (args, error) => {
    const before = connections();
    const result = await runCli([...args, "--kubeconfig", counted()]);
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines, "one line").toHaveLength(1);
    expect(lines[0]).toMatch(error);
    expect(connections() - before, "connections made").toBe(0);
  });

  it("the counting server does count: a valid command connects", async () => {
    const before = connections();
    const result = await runCli(["storage-list", "--kubeconfig", counted()]);
    expect(result.code).toBe(1);
    expect(connections() - before).toBeGreaterThan(0);
  });
});
