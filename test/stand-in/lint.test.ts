/**
 * The layering `npm run lint` keeps (ARCHITECTURE.md, "Invariants"): each case lints one file that is not on
 * disk, through ESLint's Node API with the repository's own eslint.config.js, and expects the rule that names
 * the breach. Type information is off here (the file is not in tsconfig.json); the layering rules need none.
 */
import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } }, rules: { "@typescript-eslint/no-floating-promises": "off" } },
  });
});

/** "rule: message" for each problem ESLint finds in `code` placed at `filePath`. */
async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

const use = (names: string): string => `export const used: unknown = [${names}];\n`;

describe("npm run lint: layering", () => {
  it("passes a file that imports downwards", async () => {
    expect(
      await lint(
        "src/cli/probe.ts",
        `import { poolNameError } from "../core/naming.js";\nimport type { Kube } from "./../kube/client.js";\n${use("poolNameError")}export type K = Kube;\n`,
      ),
    ).toEqual([]);
  });

  it("fails src/core importing anything above it, or Node I/O", async () => {
    expect(await lint("src/core/probe.ts", `import { main } from "../cli/main.js";\n${use("main")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../cli/main.js" imported in restricted zone. src/core is the pure core: it imports nothing above it.`,
    ]);
    expect(await lint("src/core/pool/probe.ts", `import { StatDb } from "../../statdb/stat-db.js";\n${use("StatDb")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../../statdb/stat-db.js" imported in restricted zone. src/core is the pure core: it imports nothing above it.`,
    ]);
    expect(await lint("src/core/probe.ts", `import { readFileSync } from "node:fs";\n${use("readFileSync")}`)).toEqual([
      `@typescript-eslint/no-restricted-imports: 'node:fs' import is restricted from being used by a pattern. src/core is pure: no Node I/O (ARCHITECTURE.md).`,
    ]);
  });

  it("fails a program importing another program", async () => {
    const message = "the programs never import each other: move what both need into src/core or a library (ARCHITECTURE.md).";
    expect(await lint("csi/probe.ts", `import { main } from "../operator/main.js";\n${use("main")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../operator/main.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("operator/probe.ts", `import { main } from "../src/cli/main.js";\n${use("main")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../src/cli/main.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("src/cli/probe.ts", `import { main } from "../../csi/main.js";\n${use("main")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../../csi/main.js" imported in restricted zone. ${message}`,
    ]);
  });

  it("fails anything outside test/ importing test/ (the files an import resolves to: they must exist)", async () => {
    const message = "nothing outside test/ imports test/: what tests share with bench/ and scripts/ goes into harness/ (ARCHITECTURE.md).";
    const probe = (from: string): string => `import * as cases from "${from}";\n${use("cases")}`;
    expect(await lint("scripts/probe.ts", probe("../test/stand-in/core/pool.test.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../test/stand-in/core/pool.test.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("bench/probe.ts", probe("../test/real/cluster.test.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../test/real/cluster.test.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("harness/sandbox/probe.ts", probe("../../test/stand-in/core/pool.test.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../../test/stand-in/core/pool.test.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("vitest.probe.config.ts", probe("./test/stand-in/lint.test.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "./test/stand-in/lint.test.js" imported in restricted zone. ${message}`,
    ]);
    expect(await lint("src/kube/probe.ts", probe("../../test/stand-in/lint.test.js"))).toContain(
      `import-x/no-restricted-paths: Unexpected path "../../test/stand-in/lint.test.js" imported in restricted zone. ${message}`,
    );
    // Within test/, any tier may import another's file.
    expect(await lint("test/real/probe.test.ts", probe("../stand-in/core/pool.test.js"))).toEqual([]);
  });

  it("passes bench/, scripts/ and tests importing the harness; fails product code importing it", async () => {
    const cluster = (from: string): string => `import { startCluster } from "${from}";\n${use("startCluster")}`;
    expect(await lint("bench/scenarios.ts", cluster("../harness/helpers/cluster.js"))).toEqual([]);
    expect(await lint("scripts/demo.ts", cluster("../harness/helpers/cluster.js"))).toEqual([]);
    expect(await lint("test/stand-in/cli/probe.test.ts", cluster("../../../harness/helpers/cluster.js"))).toEqual([]);
    expect(await lint("csi/probe.ts", cluster("../harness/helpers/cluster.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../harness/helpers/cluster.js" imported in restricted zone. product code never imports the test harness (ARCHITECTURE.md).`,
    ]);
    expect(await lint("src/core/probe.ts", cluster("../../harness/helpers/cluster.js"))).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../../harness/helpers/cluster.js" imported in restricted zone. product code never imports the test harness (ARCHITECTURE.md).`,
    ]);
    expect(await lint("harness/helpers/probe.ts", `import { main } from "../../scripts/demo.js";\n${use("main")}`)).toEqual([
      `import-x/no-restricted-paths: Unexpected path "../../scripts/demo.js" imported in restricted zone. the harness sits below bench/ and scripts/: they import it, not the other way (ARCHITECTURE.md).`,
    ]);
  });

  it("fails the Kubernetes client outside src/kube, and the CLI loading it eagerly", async () => {
    expect(await lint("operator/probe.ts", `import { KubeConfig } from "@kubernetes/client-node";\n${use("KubeConfig")}`)).toEqual([
      `@typescript-eslint/no-restricted-imports: '@kubernetes/client-node' import is restricted from being used. only src/kube imports the Kubernetes client (type-only imports aside).`,
    ]);
    expect(await lint("src/kube/probe.ts", `import { KubeConfig } from "@kubernetes/client-node";\n${use("KubeConfig")}`)).toEqual([]);
    expect(await lint("src/cli/probe.ts", `import { connect } from "../kube/client.js";\n${use("connect")}`)).toEqual([
      "@typescript-eslint/no-restricted-imports: '../kube/client.js' import is restricted from being used by a pattern. load the Kubernetes client lazily: `await import(...)`.",
    ]);
  });

  it("fails an import cycle, a lazy import() counting as an edge", async () => {
    // copy-reader.ts loads stat-db.ts with `await import()`: a stat-db.ts importing copy-reader.ts closes the cycle.
    expect(await lint("src/statdb/stat-db.ts", `import { readCopy } from "./copy-reader.js";\n${use("readCopy")}`)).toEqual([
      "import-x/no-cycle: Dependency cycle detected",
    ]);
  });
});

describe("npm run lint: code rules", () => {
  // Type-aware: the text stands in for a file the TypeScript project holds (nothing is written to it).
  const typed = (code: string): Promise<string[]> =>
    new ESLint({ cwd: root })
      .lintText(code, { filePath: `${root}src/core/units.ts` })
      .then(([result]) => result!.messages.map((message) => `${message.line} ${message.ruleId}`));

  it("fails a floating promise and an exported function without a return type", async () => {
    const code = "export async function later(): Promise<void> {}\nexport function now() {\n  later();\n  return 1;\n}\n";
    expect(await typed(code)).toEqual(["2 @typescript-eslint/explicit-module-boundary-types", "3 @typescript-eslint/no-floating-promises"]);
  });

  it("fails complexity above 20 unless a disable comment names the rule and gives the reason", async () => {
    const branches = Array.from({ length: 20 }, (_, index) => `  if (value === ${index}) return ${index};`).join("\n");
    const complex = `export function pick(value: number): number {\n${branches}\n  return -1;\n}\n`;
    expect(await typed(complex)).toEqual(["1 complexity"]);
    expect(await typed(`// eslint-disable-next-line complexity -- one case per value\n${complex}`)).toEqual([]);
    expect(await typed(`// eslint-disable-next-line complexity\n${complex}`)).toEqual(["1 @eslint-community/eslint-comments/require-description"]);
  });
});

describe("npm run lint: one vocabulary", () => {
  it("fails a pool path, a shared label, a -o or a colour code typed by hand", async () => {
    const code = [
      `import { Option } from "commander";`,
      `import { KADALU_GROUP, KADALU_PLURAL, KADALU_VERSION } from "../core/pool/types.js";`,
      "export const path = (ns: string): string => `/apis/${KADALU_GROUP}/${KADALU_VERSION}/namespaces/${ns}/${KADALU_PLURAL}`;",
      `export const label = "kadalu.io/pool";`,
      `export const pods = "app.kubernetes.io/part-of=kadalu";`,
      `export const output = new Option("-o, --output <format>", "yaml or json");`,
      "export const red = (text: string): string => `\\u001b[31m${text}\\u001b[39m`;",
      `export const bold = "\\x1b[1m";`,
      "",
    ].join("\n");
    expect(await lint("src/cli/probe.ts", code)).toEqual([
      "no-restricted-syntax: build a pool's API path with poolPath/poolsPath (src/core/kube-vocabulary.ts).",
      "no-restricted-syntax: import POOL_LABEL from src/core/kube-vocabulary.ts.",
      "no-restricted-syntax: import KADALU_PODS_SELECTOR from src/core/kube-vocabulary.ts.",
      "no-restricted-syntax: declare -o with addOutputFlag (src/cli/flags.ts).",
      "no-restricted-syntax: paint colours with util.styleText, through the palette of src/cli/io.ts.",
      "no-restricted-syntax: paint colours with util.styleText, through the palette of src/cli/io.ts.",
      "no-restricted-syntax: paint colours with util.styleText, through the palette of src/cli/io.ts.",
    ]);
  });

  it("passes the same words imported, and cursor movement that is no colour", async () => {
    const code = [
      `import { POOL_LABEL, poolsPath } from "../core/kube-vocabulary.js";`,
      "export const clear = `\\u001b[H\\u001b[2J`;",
      `export const used: unknown = [POOL_LABEL, poolsPath("kadalu"), "\\r\\x1b[2K"];`,
      "",
    ].join("\n");
    expect(await lint("src/cli/probe.ts", code)).toEqual([]);
  });
});
