/** The whole pipeline on one machine, as `npm run demo` shows it, with assertions on every step and the end state. */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StatDb } from "../../../src/statdb/stat-db.js";
import { startSandbox, type Sandbox } from "../../../harness/sandbox/sandbox.js";
import { runStory, type StepResult } from "../../../harness/sandbox/story.js";
import { volumeDirectories } from "../../../harness/helpers/pools.js";

const kubectl = spawnSync("kubectl", ["version", "--client"]).status === 0;
if (!kubectl) console.warn("end-to-end story without kubectl: PVCs go through the API instead (install kubectl to run it as users do)");

let sandbox: Sandbox;
let results: StepResult[];
let output = "";
const step = (title: string): StepResult => {
  const found = results.find((result) => result.title.startsWith(title));
  if (!found) throw new Error(`no step "${title}"; output:\n${output}`);
  return found;
};

beforeAll(async () => {
  sandbox = await startSandbox();
  const started = Date.now();
  results = await runStory(sandbox, { print: (text) => void (output += text), kubectl });
  output += `\n(${Date.now() - started} ms)\n`;
}, 120_000);

afterAll(async () => {
  const dir = sandbox.dir;
  await sandbox.stop();
  expect(existsSync(dir)).toBe(false);
});

describe("the Kadalu story on the sandbox", () => {
  it("prints each command as a shell reads it: sh splits every printed line back into the words that ran", () => {
    const printed = output
      .split("\n")
      .filter((line) => line.startsWith("$ "))
      .map((line) => line.slice(2));
    expect(printed).toHaveLength(results.length);
    results.forEach((result, index) => {
      const words = spawnSync("sh", ["-c", `printf '%s\\n' ${printed[index]}`], { encoding: "utf8" })
        .stdout.trimEnd()
        .split("\n");
      expect(words.join(" "), printed[index]).toBe(result.command);
    });
  });

  it("installs and reports every component ready", () => {
    const install = step("Install");
    expect(install.code, output).toBe(0);
    expect(install.stderr).toContain("✓ CSI nodeplugin ready on 3/3 nodes");
    expect(install.stdout).toContain("Kadalu is ready");
  });

  it("adds the Replica3 pool, which the operator brings to ready", () => {
    const add = step("Add a Replica3 pool");
    expect(add.code, output).toBe(0);
    expect(add.stderr).toContain('storage pool "pool1" is ready (3/3 bricks ready)');
    expect(step("The pool as the plugin lists it").stdout).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+delete\s+\d+s\s+-\n/);
  });

  it("shows the real provisioned bytes from stat.db, and in the pool's status", () => {
    expect(step("Real usage").stdout).toMatch(/\npool1\s+Replica3\s+ready\s+3\s+delete\s+[\d.]+ GiB\s+3\.5 GiB\s+[\d.]+%\s+3\s+0\s+0\s+\d+s\s+-\n/);
    const status = step("Usage without any exec");
    expect(status.code).toBe(0);
    if (kubectl) expect(status.stdout).toMatch(/\npool1\s+Replica3\s+ready\s+[\d.]+ GiB\s+3\.5 GiB\s+3\s+/);
  });

  it("grows a PVC through ControllerExpandVolume", () => {
    expect(step("The pool's usage after the expansion").stdout).toMatch(/\s4\.0 GiB\s+[\d.]+%\s+3\s+0\s+0\s+\d+s\s+-\n/);
  });

  it("refuses to remove the pool while PVCs use it, then removes it and uninstalls", () => {
    const refused = step("Removing the pool is refused");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: storage pool "pool1" is still used by 3 PersistentVolumes: pvc-.*\(claim default\/data-/);
    const removed = step("Now the pool can go");
    expect(removed.code, output).toBe(0);
    expect(removed.stderr).toContain('storage pool "pool1" removed; its brick data stays on the nodes');
    expect(step("Uninstall").stdout).toBe('Kadalu uninstalled from namespace "kadalu": 18 objects deleted\n');
  });

  it("leaves no PV rows in stat.db and no objects behind", () => {
    const db = StatDb.open(join(sandbox.provisionerRoot, "mnt", "pool1", "stat.db"), { readonly: true });
    expect(db.totals().count).toBe(0);
    db.close();
    // As upstream: the PV directories and their hash directories go; the subvol roots stay.
    const pool = join(sandbox.provisionerRoot, "mnt", "pool1");
    expect(readdirSync(pool).sort()).toEqual(["info", "stat.db", "subvol"]);
    expect(volumeDirectories(pool)).toEqual([]);
    expect(volumeDirectories(join(pool, "info")), "no metadata left").toEqual([]);
    const server = sandbox.server;
    expect(server.list("v1", "PersistentVolume")).toEqual([]);
    expect(server.list("v1", "PersistentVolumeClaim")).toEqual([]);
    expect(server.list("kadalu-operator.storage/v1alpha1", "KadaluStorage")).toEqual([]);
    expect(server.list("storage.k8s.io/v1", "StorageClass")).toEqual([]);
    expect(server.list("apps/v1", "StatefulSet")).toEqual([]);
    expect(server.list("apps/v1", "DaemonSet")).toEqual([]);
    expect(server.list("apps/v1", "Deployment")).toEqual([]);
    expect(server.list("v1", "Service", "kadalu")).toEqual([]);
    expect(server.list("v1", "Pod", "kadalu")).toEqual([]);
    expect(Object.keys(server.get("v1", "ConfigMap", "kadalu", "kadalu-info")!.data).sort()).toEqual(["uid", "volumes"]);
  });

  it("takes less than a minute", () => {
    const elapsed = Number(/\((\d+) ms\)\n$/.exec(output)?.[1]);
    expect(elapsed).toBeLessThan(60_000);
  });
});
