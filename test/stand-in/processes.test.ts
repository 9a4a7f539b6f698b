/** The real and image tiers' process list (harness/real/processes.ts): every process a test starts is stopped. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { Processes, type Started } from "../../harness/real/processes.js";

let dir: string;
let processes: Processes;
const running = (started: Started): boolean => started.child.exitCode === null && started.child.signalCode === null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kadalu-processes-"));
  processes = new Processes(dir);
});
afterEach(async () => {
  await processes.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

it("stops every other process after one was stopped twice", async () => {
  const first = processes.start("first", "sleep", ["60"]);
  const second = processes.start("second", "sleep", ["60"]);
  const third = processes.start("third", "sleep", ["60"]);
  await processes.stop(second);
  await processes.stop(second);
  expect(running(second)).toBe(false);
  await processes.stopAll();
  expect([first, third].map((started) => [started.name, started.child.signalCode])).toEqual([
    ["first", "SIGTERM"],
    ["third", "SIGTERM"],
  ]);
});

it("two stops of the same process at once both return once it is gone, and leave the others to stopAll", async () => {
  const first = processes.start("first", "sleep", ["60"]);
  // Ignores SIGTERM: the stop takes its grace period, and the second stop arrives meanwhile.
  const stubborn = processes.start("stubborn", "sh", ["-c", "trap '' TERM; sleep 60 & wait; wait"]);
  const last = processes.start("last", "sleep", ["60"]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await Promise.all([processes.stop(stubborn, 300), processes.stop(stubborn, 300)]);
  expect(stubborn.child.signalCode).toBe("SIGKILL");
  await processes.stopAll();
  expect(running(first) || running(last)).toBe(false);
});
