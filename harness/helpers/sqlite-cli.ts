/**
 * The independent SQLite writer of the compatibility tests: Debian's `sqlite3` CLI where installed (as
 * upstream's provisioner writes stat.db), else a WebAssembly SQLite build standing in for it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const WASM = fileURLToPath(new URL("./sqlite3-wasm.mjs", import.meta.url));
// KADALU_SQLITE3_WASM=1 uses the WebAssembly stand-in even where the CLI is installed (to test it).
const hasCli = process.env.KADALU_SQLITE3_WASM !== "1" && spawnSync("sqlite3", ["-version"]).status === 0;

/** Runs `sql` on `file` as `sqlite3 FILE SQL` would, returning its output. */
export function sqlite3(file: string, sql: string, options: { stdin?: boolean } = {}): string {
  const [command, args] = hasCli ? ["sqlite3", [file]] : [process.execPath, [WASM, file]];
  return execFileSync(command, options.stdin ? args : [...args, sql], { encoding: "utf8", ...(options.stdin ? { input: sql } : {}) });
}
