/** Whether the built images still match the tree: the node tier in `npm test` runs only on images that do. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { inputsDigest, inputsFile, staleImages } from "../../images/inputs.js";
import type { Recipe } from "../../images/recipes.js";

let repo: string;
let out: string;
const recipe = (name: Recipe["name"], ...from: string[]): Recipe =>
  ({ name, files: from.map((path) => ({ from: path, to: `/kadalu/${path}` })) }) as unknown as Recipe;
const csi = recipe("kadalu-csi", "dist/csi.cjs", "node_modules/addon");
const operator = recipe("kadalu-operator", "dist/operator.cjs");

/** What `npm run images` leaves: the archive and the digest of what it was built from. */
function build(built: Recipe): void {
  writeFileSync(join(out, `${built.name}.oci.tar`), "archive");
  writeFileSync(inputsFile(out, built), `${inputsDigest(built, repo)}\n`);
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "kadalu-inputs-repo-"));
  out = mkdtempSync(join(tmpdir(), "kadalu-inputs-out-"));
  mkdirSync(join(repo, "dist"));
  mkdirSync(join(repo, "node_modules", "addon", "lib"), { recursive: true });
  writeFileSync(join(repo, "dist", "csi.cjs"), "csi 1");
  writeFileSync(join(repo, "dist", "operator.cjs"), "operator 1");
  writeFileSync(join(repo, "node_modules", "addon", "lib", "addon.node"), "native 1");
});

afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

it("finds none stale right after a build, and names only the image whose file changed", () => {
  build(csi);
  build(operator);
  expect(staleImages([csi, operator], out, repo)).toEqual([]);
  writeFileSync(join(repo, "dist", "operator.cjs"), "operator 2");
  expect(staleImages([csi, operator], out, repo)).toEqual(["kadalu-operator"]);
});

it("sees a change deep in a directory the recipe copies, and a file added to it", () => {
  build(csi);
  writeFileSync(join(repo, "node_modules", "addon", "lib", "addon.node"), "native 2");
  expect(staleImages([csi], out, repo)).toEqual(["kadalu-csi"]);
  build(csi);
  writeFileSync(join(repo, "node_modules", "addon", "lib", "extra.js"), "");
  expect(staleImages([csi], out, repo)).toEqual(["kadalu-csi"]);
});

it("counts an archive without its digest (built before digests were written) as stale, and a missing one", () => {
  writeFileSync(join(out, "kadalu-csi.oci.tar"), "archive");
  expect(staleImages([csi, operator], out, repo)).toEqual(["kadalu-csi", "kadalu-operator"]);
});
