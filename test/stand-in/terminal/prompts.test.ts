/**
 * Every confirmation prompt of the built CLI, typed into on a real terminal: `y`, `n`, Enter (the
 * default, no) and Ctrl-C, each followed by what it left in the cluster and the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "../../../harness/helpers/cluster.js";
import { answerPrompt, NPM_BUNDLE, type Answer } from "../../../harness/terminal/cli.js";
import { changes, PATHS } from "../../../harness/terminal/paths.js";

describe.each(Object.entries(PATHS))("%s on a terminal", (_name, path) => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster();
    await path.setup(cluster);
    cluster.server.clearRequests();
  });
  afterAll(async () => {
    await cluster.stop();
  });
  const run = (answer: Answer) => answerPrompt(NPM_BUNDLE, [...path.args, "--kubeconfig", cluster.kubeconfig], path.question, answer);
  const expectNothingChanged = (screen: string): void => {
    expect(screen).not.toContain("error");
    expect(path.changed(cluster)).toBe(false);
    expect(changes(cluster)).toEqual([]);
  };

  it.each(["n", "Enter"] as const)("%s declines: nothing changes, exit 0", async (answer) => {
    const { exit, screen } = await run(answer);
    expect(screen).toMatch(/✔ .* No\n/);
    expect(screen).toContain(`${path.cancelled}\n`);
    expect(exit.code).toBe(0);
    expectNothingChanged(screen);
  });

  it("Ctrl-C ends the prompt: nothing changes, exit 130, one short line", async () => {
    const { exit, screen } = await run("Ctrl-C");
    expect(screen.trimEnd().split("\n").pop()).toBe("interrupted: nothing was changed");
    expect(exit.code).toBe(130);
    expectNothingChanged(screen);
  });

  it("y goes ahead, exit 0", async () => {
    const { exit, screen } = await run("y");
    expect(screen).toMatch(/✔ .* Yes\n/);
    expect(screen).toContain(path.done);
    expect(screen).not.toContain("error");
    expect(exit.code).toBe(0);
    expect(path.changed(cluster)).toBe(true);
  });
});
