/**
 * The `npm run demo -- --keep` sandbox runs no containers: commands that need a container's exec or logs say
 * so in one line (not "Unexpected server response: 400", not empty logs), and work once the sandbox has them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin, type CliResult } from "../../../harness/helpers/cli.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";
import { installPool1 } from "../../../harness/sandbox/pool1.js";

let sandbox: Sandbox;
const cli = (...args: string[]): Promise<CliResult> => runBin(args, { KUBECONFIG: sandbox.kubeconfig, NO_COLOR: "1" });

beforeAll(async () => {
  sandbox = await startSandbox();
  await installPool1(sandbox, cli);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
});

const SANDBOX = 'and the sandbox (context "kadalu-sandbox") runs no containers; try it on a real cluster\n';

describe("on the sandbox", () => {
  it.each([
    [["healinfo"], `error: healinfo runs Gluster's heal-info in the server pods, ${SANDBOX}`],
    [["healinfo", "pool1"], `error: healinfo runs Gluster's heal-info in the server pods, ${SANDBOX}`],
    [["top", "--interval", "300ms"], `error: top samples the Gluster processes in the server pods through exec, ${SANDBOX}`],
    [["logs", "--tail", "5"], `error: logs reads the logs of Kadalu's containers, ${SANDBOX}`],
    [["logs", "-f"], `error: logs --follow streams the logs of Kadalu's containers, ${SANDBOX}`],
    [["storage-devices"], `error: storage-devices reads each node's block devices in its CSI nodeplugin pod, ${SANDBOX}`],
    [
      ["storage-replace", "pool1", "kube3:/data/pool1", "--path", "kube3:/data/pool1-new", "--dry-run"],
      `error: storage-replace checks the group's pending heals in its server pods first, ${SANDBOX}`,
    ],
  ])("%j says in one line that the sandbox cannot run it: exit 1, nothing on stdout", async (args, line) => {
    const result = await cli(...args);
    expect(result.stderr).toBe(line);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(1);
  });

  it("doctor says heals were not asked, as an ok line, not a 400 or a warning", async () => {
    const result = await cli("doctor", "--pool", "pool1");
    const heals = result.stdout.split("\n").find((line) => /^\S+\s+heals\s/.test(line));
    expect(heals).toMatch(/^ok\s+heals\s+pool\/pool1\s+not checked: the sandbox \(context "kadalu-sandbox"\) runs no server containers$/);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/400/);
  });

  it("logs and healinfo work there once a pod has logs and a server pod answers exec", async () => {
    sandbox.server.setPodLogs("kadalu", "server-pool1-0-0", "server", "brick started\n");
    const logs = await cli("logs", "server-pool1-0-0");
    expect(logs.stdout).toBe("==> server-pool1-0-0/server <==\nbrick started\n\n");
    expect(logs.code).toBe(0);
    sandbox.server.onExec("kadalu", "server-pool1-0-0", "server", async (context) => {
      context.stdout.write("Total Number of entries: 0\n");
      return 0;
    });
    const heal = await cli("healinfo", "pool1");
    expect(heal.stdout).toBe("== pool1 (Replica3) ==\nTotal Number of entries: 0\n\n");
    expect(heal.code).toBe(0);
  });
});
