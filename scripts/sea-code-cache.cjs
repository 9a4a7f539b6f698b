"use strict";
// Run by the Node a single binary embeds (its linux-x64 build): writes a V8 code cache beside each bundle.
const fs = require("node:fs");
const vm = require("node:vm");
const Module = require("node:module");
for (const file of process.argv.slice(2)) {
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), { filename: require("node:path").basename(file) });
  fs.writeFileSync(`${file}.v8`, script.createCachedData());
}
