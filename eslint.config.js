// `npm run lint`: the rules that keep the house in shape (ARCHITECTURE.md, "Invariants"). Type-aware
// (typescript-eslint's project service reads tsconfig.json). Layering by folder with import-x's
// no-restricted-paths; the Kubernetes client and the CLI's lazy client load with no-restricted-imports.
import comments from "@eslint-community/eslint-plugin-eslint-comments";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/** The programs: each may import the libraries under it, never another program. `server/` is planned. */
const programs = ["./src/cli", "./operator", "./csi", "./server"];
/** The libraries the programs share, above the core. */
const libraries = ["./src/kube", "./src/statdb", "./src/metrics"];
/** Build, release and measuring tools: they may import product code and the harness, never the tests. */
const tooling = ["./bench", "./scripts", "./images"];
/** The test harness (API test server, sandbox, the tiers' real components): tests, bench and the demo share it. */
const harness = "./harness";

const programZones = programs.map((target) => ({
  target,
  from: programs.filter((other) => other !== target),
  message: "the programs never import each other: move what both need into src/core or a library (ARCHITECTURE.md).",
}));

const layering = [
  "error",
  {
    zones: [
      {
        target: "./src/core",
        from: ["./src/kube", "./src/statdb", "./src/metrics", "./src/cli", "./operator", "./csi", "./server", "./test", ...tooling],
        // The harness: the product-code zone below says so.
        message: "src/core is the pure core: it imports nothing above it.",
      },
      {
        target: libraries,
        from: [...programs, harness, "./test", ...tooling],
        message: "the shared libraries never import a program, a tool, the harness or a test.",
      },
      ...programZones,
      {
        target: ["./src", ...programs.slice(1)],
        from: harness,
        message: "product code never imports the test harness (ARCHITECTURE.md).",
      },
      {
        target: harness,
        from: ["./bench", "./scripts"],
        message: "the harness sits below bench/ and scripts/: they import it, not the other way (ARCHITECTURE.md).",
      },
      {
        // Every top-level folder but test/, and the files at the root.
        target: ["./!(test)/**", "./*.ts"],
        from: "./test",
        message: "nothing outside test/ imports test/: what tests share with bench/ and scripts/ goes into harness/ (ARCHITECTURE.md).",
      },
    ],
  },
];

const kubeClient = {
  name: "@kubernetes/client-node",
  allowTypeImports: true,
  message: "only src/kube imports the Kubernetes client (type-only imports aside).",
};
/** The CLI loads the client with `await import(...)`, so --help, completion and client-side dry runs never load it. */
const lazyClient = { regex: "kube/client\\.js$", allowTypeImports: true, message: "load the Kubernetes client lazily: `await import(...)`." };

export default tseslint.config(
  { ignores: ["dist/**", "release/**", "node_modules/**", "coverage/**", "scratch/**", "**/*.js", "**/*.mjs", "**/*.cjs"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin, "import-x": importX, "@eslint-community/eslint-comments": comments },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
      // So no-cycle parses the modules it walks (import-x reads each imported file with this parser).
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/explicit-module-boundary-types": ["error", { allowArgumentsExplicitlyTypedAsAny: true }],
      // Where the code is today; justified exceptions carry an eslint-disable comment with the reason.
      complexity: ["error", 20],
      // An exception says why (`// eslint-disable-next-line rule -- reason`) and names its rule.
      "@eslint-community/eslint-comments/require-description": "error",
      "@eslint-community/eslint-comments/no-unlimited-disable": "error",
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": layering,
    },
  },
  {
    // What test/architecture.test.ts checked with regexes.
    files: ["src/core/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^node:", message: "src/core is pure: no Node I/O (ARCHITECTURE.md)." },
            { regex: "^(better-sqlite3|@kubernetes/)", message: "src/core is pure: no SQLite, no Kubernetes client." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/**/*.ts", "operator/**/*.ts", "csi/**/*.ts", "server/**/*.ts"],
    ignores: ["src/kube/**", "src/core/**"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: [kubeClient] }] },
  },
  {
    files: ["src/cli/**/*.ts"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: [kubeClient], patterns: [lazyClient] }] },
  },
  {
    // One vocabulary (issue 37, items 6 and 8): what src/core/kube-vocabulary.ts, src/cli/flags.ts and
    // src/cli/io.ts declare once is not retyped elsewhere.
    files: ["src/**/*.ts", "operator/**/*.ts", "csi/**/*.ts", "server/**/*.ts", "scripts/**/*.ts", "bench/**/*.ts"],
    ignores: ["src/core/kube-vocabulary.ts", "src/cli/flags.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "Literal[value='kadalu.io/pool']", message: "import POOL_LABEL from src/core/kube-vocabulary.ts." },
        { selector: "Literal[value='app.kubernetes.io/part-of=kadalu']", message: "import KADALU_PODS_SELECTOR from src/core/kube-vocabulary.ts." },
        {
          selector: "TemplateLiteral:has(TemplateElement[value.raw=/\\/apis\\//]):has(Identifier[name=/^KADALU_(API_VERSION|GROUP|VERSION|PLURAL)$/])",
          message: "build a pool's API path with poolPath/poolsPath (src/core/kube-vocabulary.ts).",
        },
        { selector: "NewExpression[callee.name='Option'][arguments.0.value=/--output/]", message: "declare -o with addOutputFlag (src/cli/flags.ts)." },
        {
          selector: ":matches(Literal[value=/\\x1b\\[[0-9;]*m/], TemplateElement[value.cooked=/\\x1b\\[[0-9;]*m/])",
          message: "paint colours with util.styleText, through the palette of src/cli/io.ts.",
        },
      ],
    },
  },
);
