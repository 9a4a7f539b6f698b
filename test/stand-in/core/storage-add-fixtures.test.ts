/** Each case in test/fixtures/storage-add/*.yaml runs `storage-add --dry-run -o json` in-process. */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../../../harness/helpers/cli.js";

interface Case {
  name: string;
  args: string;
  spec?: Record<string, unknown>;
  error?: string;
}

const dir = new URL("../../fixtures/storage-add/", import.meta.url);
const files = readdirSync(dir).filter((file) => file.endsWith(".yaml"));

for (const file of files) {
  const { cases } = parse(readFileSync(new URL(file, dir), "utf8")) as { cases: Case[] };
  describe(`storage-add fixtures: ${file}`, () => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, testCase) => {
      const result = await runCli(["storage-add", ...testCase.args.split(/\s+/), "--dry-run", "-o", "json"]);
      if (testCase.error !== undefined) {
        expect(result.stdout).toBe("");
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(/^error: /);
        expect(result.stderr).toContain(testCase.error);
        expect(result.code).toBe(2);
        return;
      }
      expect(result.stderr).not.toContain("error:");
      expect(result.code).toBe(0);
      const object = JSON.parse(result.stdout);
      expect(object.apiVersion).toBe("kadalu-operator.storage/v1alpha1");
      expect(object.kind).toBe("KadaluStorage");
      expect(object.metadata).toEqual({ name: "sp1", namespace: "kadalu" });
      expect(object.spec).toEqual(testCase.spec);
      // Upstream's field order is part of what users see in the preview.
      expect(Object.keys(object.spec)).toEqual(Object.keys(testCase.spec!));
    });
  });
}
