/**
 * What an image was built from: one digest over the repository files its recipe copies in (paths and
 * bytes, directories walked in code-point order, links followed as the build follows them). The build
 * writes it next to the archive, so a tier can tell whether the images still match the tree before it
 * spends minutes running them.
 */
import { createHash, type Hash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { byCodePoint } from "../src/core/naming.js";
import type { Recipe } from "./recipes.js";

export const inputsFile = (outDir: string, recipe: Pick<Recipe, "name">): string => join(outDir, `${recipe.name}.inputs`);

function add(hash: Hash, repo: string, path: string): void {
  const full = join(repo, path);
  if (statSync(full).isDirectory()) {
    for (const entry of readdirSync(full).sort(byCodePoint)) add(hash, repo, `${path}/${entry}`);
    return;
  }
  hash.update(`${path}\0`);
  hash.update(readFileSync(full));
  hash.update("\0");
}

/** The digest of a recipe's repository files as they are now. */
export function inputsDigest(recipe: Recipe, repo: string): string {
  const hash = createHash("sha256");
  for (const file of recipe.files) add(hash, repo, file.from);
  return `sha256:${hash.digest("hex")}`;
}

/** The recipes whose archive is missing, or was built from files other than the tree's own now. */
export function staleImages(recipes: Recipe[], outDir: string, repo: string): string[] {
  return recipes
    .filter((recipe) => {
      const stamp = inputsFile(outDir, recipe);
      if (!existsSync(join(outDir, `${recipe.name}.oci.tar`)) || !existsSync(stamp)) return true;
      try {
        return readFileSync(stamp, "utf8").trim() !== inputsDigest(recipe, repo);
      } catch {
        return true;
      }
    })
    .map((recipe) => recipe.name);
}
