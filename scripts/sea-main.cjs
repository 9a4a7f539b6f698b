"use strict";
// The single binary's entry: the same bundles as the npm package (dist/cli.cjs, and kube.cjs and
// prompt.cjs only for the commands that need them), embedded as assets with V8 code caches made at
// build time by a Node of the same version. A cache V8 rejects (another CPU, other flags) only costs
// compile time.
const sea = require("node:sea");
const vm = require("node:vm");
const Module = require("node:module");
const path = require("node:path");

const here = path.join(path.dirname(process.execPath), "kubectl-kadalu.js");
const nodeRequire = Module.createRequire(here);

function requireBundle(name) {
  const file = path.basename(name);
  const source = sea.getAsset(file, "utf8");
  let cachedData;
  try {
    cachedData = Buffer.from(sea.getAsset(`${file}.v8`));
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, nodeRequire, module, file, path.dirname(here));
  return module.exports;
}

globalThis.__kadaluRequireBundle = requireBundle;
requireBundle("cli.cjs");
