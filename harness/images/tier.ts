/** Where the image tier finds the archives `npm run images` wrote, and why it skips when they are not there. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RECIPES } from "../../images/recipes.js";

export const IMAGES_DIR = process.env.KADALU_IMAGES_DIR ?? join(fileURLToPath(new URL("../../", import.meta.url)), "release", "images");

const missing = RECIPES.map((recipe) => join(IMAGES_DIR, `${recipe.name}.oci.tar`)).filter((archive) => !existsSync(archive));
/** Why the image tests skip (undefined: they run). */
export const noImages: string | undefined = missing.length > 0 ? `no image archives (${missing.join(", ")}): run npm run images (root, mmdebstrap)` : undefined;

/** Why the tests of one image skip (undefined: its archive is there). */
export function noImage(name: string): string | undefined {
  const archive = join(IMAGES_DIR, `${name}.oci.tar`);
  return existsSync(archive) ? undefined : `no image archive ${archive}: run npm run images (root, mmdebstrap)`;
}
