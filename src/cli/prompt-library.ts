/**
 * The prompt library behind a named export of ours. The CLI imports this module lazily as a bundle of its
 * own (scripts/build.mjs); a named export reads the same under every ES-module interop, where `default`
 * does not (the bundled CLI once got the module object for it: `n is not a function`).
 */
export { default as confirmPrompt } from "@inquirer/confirm";
