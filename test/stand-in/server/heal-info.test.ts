import { describe, expect, it } from "vitest";
import { pendingHeals } from "../../../src/core/upgrade/switch-over.js";
import { hasPending, poolReport } from "../../../server/heal-info.js";

// glfsheal's info-summary, one block per brick (GlusterFS 11.1).
const summary = (counts: string[]): string =>
  counts
    .map((count, index) =>
      [
        `Brick 10.0.0.${index + 2}:/bricks/pool3/data/brick`,
        "Status: Connected",
        `Total Number of entries: ${count}`,
        "Number of entries in heal pending: 0",
        "Number of entries in split-brain: 0",
        "Number of entries possibly healing: 0",
        "",
      ].join("\n"),
    )
    .join("\n");

describe("heal-info.sh in the server image", () => {
  it("prints the summary only when nothing is pending, and the CLI reads its count", () => {
    const asked: string[][] = [];
    const report = poolReport("pool3", (args) => (asked.push(args), summary(["0", "0", "0"])), "/volfiles");
    expect(asked).toEqual([["pool3", "info-summary", "volfile-path", "/volfiles/pool3.vol"]]);
    expect(report.startsWith("Giving heal summary of volume: pool3\nBrick 10.0.0.2:")).toBe(true);
    expect(pendingHeals(report)).toBe(0);
  });

  it("lists the entries and split-brain files when a brick has entries pending", () => {
    const asked: string[][] = [];
    const report = poolReport(
      "pool3",
      (args) => {
        asked.push(args);
        return args[1] === "info-summary" ? summary(["2", "-", "0"]) : `listing ${args[1]}`;
      },
      "/volfiles",
    );
    expect(asked.map((args) => args[1])).toEqual(["info-summary", "volfile-path", "split-brain-info"]);
    expect(report).toContain("List of files needing a heal on pool3:\nlisting volfile-path\n");
    expect(report).toContain("List of files in splitbrain on pool3:\nlisting split-brain-info\n");
    // A brick that did not answer ("-") gives the CLI no count, as upstream's report does.
    expect(pendingHeals(report)).toBeUndefined();
  });

  it("counts a brick as pending only for a count above 0", () => {
    expect(hasPending(summary(["0", "-", "0"]))).toBe(false);
    expect(hasPending(summary(["0", "0", "10"]))).toBe(true);
  });
});
