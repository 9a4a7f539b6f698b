// Bundles the programs. The CLI is CommonJS (Node's ESM loader costs ~20 ms at every start) and keeps
// the Kubernetes client and the prompt library in bundles of their own, required only by the
// commands that need them. Each bundle gets a V8 code cache next to it (see bin/kubectl-kadalu).
import { build } from "esbuild";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const root = new URL("../", import.meta.url).pathname;

/**
 * `import("../kube/client.js")` and `import("./prompt-library.js")` in the CLI stay lazy: each becomes a
 * bundle of its own, required through the launcher's code cache when there is one. Both are used through
 * named exports only: the CLI is ESM, so esbuild hands a lazy CommonJS bundle's `default` over as the
 * whole module object (Node's interop), not the function inside it.
 */
const LAZY = { "kube.cjs": /kube\/client\.js$/, "prompt.cjs": /\/prompt-library\.js$/ };
const lazyBundles = {
  name: "lazy-bundles",
  setup(b) {
    for (const [bundle, filter] of Object.entries(LAZY)) {
      b.onResolve({ filter }, (args) => (args.importer.includes("/src/cli/") ? { path: bundle, namespace: "lazy" } : undefined));
    }
    b.onLoad({ filter: /.*/, namespace: "lazy" }, (args) => ({
      contents: `module.exports = (globalThis.__kadaluRequireBundle ?? require)(${JSON.stringify(`./${args.path}`)});`,
      loader: "js",
    }));
  },
};

/**
 * commander requires child_process at load (for executable subcommands, which this CLI has none of):
 * with net, dgram and their streams that is ~10 ms of every start. It gets the module on first use.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replace(
        "const childProcess = require('node:child_process');",
        "const childProcess = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      ),
      loader: "js",
    }));
  },
};

/**
 * client-node's kubeconfig and log modules import the generated API index (every API and model class)
 * for three names: they get them from their own small modules instead.
 */
const CLIENT_NODE = join(root, "node_modules/@kubernetes/client-node/dist");
const leanClientNode = {
  name: "lean-client-node",
  setup(b) {
    b.onResolve({ filter: /^\.\/(gen\/index|api)\.js$/ }, (args) =>
      args.importer.startsWith(`${CLIENT_NODE}/`) && !args.importer.includes("/gen/") ? { path: "client-node-gen", namespace: "lean" } : undefined,
    );
    b.onLoad({ filter: /^client-node-gen$/, namespace: "lean" }, () => ({
      contents: [
        `export { createConfiguration } from ${JSON.stringify(`${CLIENT_NODE}/gen/configuration.js`)};`,
        `export { ServerConfiguration } from ${JSON.stringify(`${CLIENT_NODE}/gen/servers.js`)};`,
        `export { ApiException } from ${JSON.stringify(`${CLIENT_NODE}/gen/apis/exception.js`)};`,
      ].join("\n"),
      resolveDir: CLIENT_NODE,
      loader: "js",
    }));
  },
};

/**
 * client-node loads node-fetch (with a URL parser and a 300 KB Unicode table) and the SOCKS proxy agent
 * at start for what the CLI uses rarely (log streams, proxies): ~20 ms of every command that talks to
 * the cluster. Each gets a module whose exports load the real one on first use.
 */
const LAZY_DEPENDENCIES = { "node-fetch": ["default", "Headers"], "socks-proxy-agent": ["SocksProxyAgent"] };
const lazyDependencies = {
  name: "lazy-dependencies",
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(LAZY_DEPENDENCIES).join("|")})$`);
    b.onResolve({ filter }, async (args) => {
      if (args.pluginData === "real" || !args.importer.startsWith(`${CLIENT_NODE}/`)) return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: "real" });
      return { path: real.path, namespace: "lazy-dependency", pluginData: args.path };
    });
    // client-node is ESM, so esbuild hands its default import the module object itself: that object is a
    // function standing for the real default export (node-fetch's fetch), with the named exports as getters.
    b.onLoad({ filter: /.*/, namespace: "lazy-dependency" }, (args) => ({
      contents: [
        `let real;`,
        `const load = () => (real ??= require(${JSON.stringify(args.path)}));`,
        `function lazy(...args) {`,
        `  const module = load();`,
        `  const target = typeof module === "function" ? module : module.default;`,
        `  return new.target ? Reflect.construct(target, args, new.target) : target.apply(this, args);`,
        `}`,
        ...LAZY_DEPENDENCIES[args.pluginData].map(
          (name) =>
            `Object.defineProperty(lazy, ${JSON.stringify(name)}, { enumerable: true, get: () => load()${name === "default" ? ".default ?? load()" : `[${JSON.stringify(name)}]`} });`,
        ),
        `module.exports = lazy;`,
      ].join("\n"),
      resolveDir: CLIENT_NODE,
      loader: "js",
    }));
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  keepNames: true,
  legalComments: "none",
  // ssh2's optional native speed-ups (its crypto binding, cpu-features) stay outside: where they are not
  // installed (the CSI image) its require fails inside a try and the pure-JavaScript code runs.
  external: ["better-sqlite3", "@napi-rs/xattr", "*.node", "cpu-features"],
  // node-fetch's URL code asks for Node's own punycode, deprecated (a warning on stderr) since Node 21.
  alias: { punycode: "punycode/" },
  // CommonJS bundles have __filename; code that falls back to import.meta.url never reaches it there.
  define: { __KADALU_VERSION__: JSON.stringify(pkg.version), "import.meta.url": "undefined" },
  logLevel: "warning",
  outExtension: { ".js": ".cjs" },
  absWorkingDir: root,
  metafile: true,
};

/**
 * The npm packages whose code each bundle carries (name, version, license), from esbuild's record of
 * its inputs: `dist/packages.json`, read by the images' SBOMs.
 */
function bundledPackages(results) {
  const byBundle = {};
  for (const result of results) {
    for (const [output, meta] of Object.entries(result.metafile.outputs)) {
      if (!output.endsWith(".cjs")) continue;
      // Inputs are relative paths, or `namespace:/absolute/path` for the plugins' modules.
      const roots = new Set(
        Object.keys(meta.inputs)
          .map((input) => input.replace(/^[a-z-]+:/, "").match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//)?.[1])
          .filter(Boolean),
      );
      byBundle[output.replace(/^dist\//, "")] = [...roots]
        .map((dir) => {
          const pkg = JSON.parse(readFileSync(dir.startsWith("/") ? join(dir, "package.json") : join(root, dir, "package.json"), "utf8"));
          return { name: pkg.name, version: pkg.version, license: typeof pkg.license === "string" ? pkg.license : "" };
        })
        .filter((pkg, index, all) => all.findIndex((other) => other.name === pkg.name && other.version === pkg.version) === index)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
  }
  return byBundle;
}

rmSync(new URL("../dist/", import.meta.url), { recursive: true, force: true });

const builds = [
  build({ ...common, entryPoints: { cli: "src/cli/bin.ts" }, outdir: "dist", plugins: [lazyBundles, lazyChildProcess] }),
  build({
    ...common,
    entryPoints: { kube: "src/kube/client.ts", prompt: "src/cli/prompt-library.ts" },
    outdir: "dist",
    plugins: [leanClientNode, lazyDependencies],
  }),
  build({ ...common, entryPoints: { operator: "operator/bin.ts" }, outdir: "dist", plugins: [leanClientNode, lazyDependencies] }),
  build({
    ...common,
    entryPoints: { csi: "csi/bin.ts", "stat-db-worker": "csi/store/stat-db-worker.ts" },
    outdir: "dist",
    plugins: [leanClientNode, lazyDependencies],
  }),
  build({ ...common, entryPoints: { server: "server/bin.ts" }, outdir: "dist" }),
];
writeFileSync(new URL("../dist/packages.json", import.meta.url), `${JSON.stringify(bundledPackages(await Promise.all(builds)), null, 2)}\n`);
copyFileSync(new URL("../csi/proto/csi.proto", import.meta.url), new URL("../dist/csi.proto", import.meta.url));
