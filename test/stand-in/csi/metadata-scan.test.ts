/** The start-up repair's read of every PV metadata file, on threads of their own. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { encodePvMetadata, pvPrefix } from "../../../src/core/pv-layout.js";
import { scanMetadata } from "../../../csi/store/metadata-scan.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "kadalu-scan-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** `count` metadata files where the driver puts them: info/<prefix>/<name>.json, prefix from the name's hash. */
function seed(count: number): Map<string, string> {
  const written = new Map<string, string>();
  for (let i = 0; i < count; i += 1) {
    const name = `pvc-${i}`;
    const prefix = pvPrefix("subvol", name);
    mkdirSync(join(root, "info", prefix), { recursive: true });
    const text = encodePvMetadata(i * 1024, prefix);
    writeFileSync(join(root, "info", prefix, `${name}.json`), text);
    written.set(name, text);
  }
  return written;
}

it("finds every file once, with its text, across more first-level directories than threads", async () => {
  const written = seed(300);
  // Not metadata: an editor's leftover beside a file.
  writeFileSync(join(root, "info", pvPrefix("subvol", "pvc-0"), "pvc-0.json.swp"), "x");
  const scanned = await scanMetadata(join(root, "info", "subvol"), 3);
  expect(scanned).toHaveLength(300);
  expect(new Map(scanned.map(({ name, text }) => [name, text]))).toEqual(written);
  for (const { name, file } of scanned) expect(file).toBe(join(root, "info", pvPrefix("subvol", name), `${name}.json`));
});

it("gives an empty file's text as empty (torn metadata is the repair's to judge), and nothing for a missing directory", async () => {
  seed(2);
  writeFileSync(join(root, "info", pvPrefix("subvol", "pvc-1"), "pvc-1.json"), "");
  const scanned = await scanMetadata(join(root, "info", "subvol"));
  expect(scanned.find(({ name }) => name === "pvc-1")?.text).toBe("");
  expect(await scanMetadata(join(root, "info", "block"))).toEqual([]);
});

it("rejects a scan it cannot read, rather than calling the pool empty", async () => {
  seed(1);
  const file = join(root, "info", "subvol");
  rmSync(file, { recursive: true });
  writeFileSync(file, "not a directory");
  await expect(scanMetadata(file)).rejects.toThrow(/ENOTDIR/);
});
