#!/usr/bin/env node
// Stands in for Debian's `sqlite3 FILE [SQL]` where it is not installed: SQLite compiled to WebAssembly
// (sql.js), an SQLite build independent of better-sqlite3's, so files it writes still test our reader.
// SQL comes from the argument or stdin; rows print as the CLI prints them (`|` between columns).
// `.schema` and `PRAGMA journal_mode` behave as in the CLI; WAL is recorded in the file header, as SQLite does.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const initSqlJs = require("sql.js");
const [file, argument] = process.argv.slice(2);
const input = argument ?? readFileSync(0, "utf8");
const SQL = await initSqlJs();
const bytes = existsSync(file) ? readFileSync(file) : undefined;
const db = new SQL.Database(bytes);
const wal = bytes ? bytes[18] === 2 : false;
const out = [];
let wantWal = wal;
for (const statement of input
  .split(/;\s*(?:\n|$)|;(?=\s*[A-Za-z.])/)
  .map((s) => s.trim())
  .filter(Boolean)) {
  if (statement === ".schema") {
    for (const [sql] of db.exec("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")[0]?.values ?? []) out.push(`${sql};`);
    continue;
  }
  const mode = /^PRAGMA\s+journal_mode\s*(?:=\s*(\w+))?$/i.exec(statement);
  if (mode) {
    if (mode[1]) wantWal = mode[1].toLowerCase() === "wal";
    out.push(wantWal ? "wal" : "delete");
    continue;
  }
  for (const result of db.exec(statement)) for (const row of result.values) out.push(row.map((value) => (value === null ? "" : String(value))).join("|"));
}
const exported = Buffer.from(db.export());
if (wantWal) exported[18] = exported[19] = 2;
if (!bytes || !exported.equals(bytes)) writeFileSync(file, exported);
if (out.length) process.stdout.write(`${out.join("\n")}\n`);
