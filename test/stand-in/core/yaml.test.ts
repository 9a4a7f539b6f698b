/** Printed YAML reads back the same under YAML 1.1 (kubectl) and YAML 1.2. */
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { installPlan } from "../../../src/core/manifests/index.js";
import { resolveInstallOptions } from "../../../src/core/manifests/options.js";
import { toPortableYaml } from "../../../src/core/yaml.js";

const TRICKY = [
  "no",
  "No",
  "NO",
  "yes",
  "on",
  "off",
  "y",
  "n",
  "Y",
  "true",
  "False",
  "~",
  "null",
  "",
  "0755",
  "0o17",
  "1e3",
  "0x1F",
  "1_000",
  "12:30",
  "190:20:30",
  "2024-01-01",
  ".inf",
  "-.Inf",
  ".NaN",
  "3.0",
  "+1",
  "-0",
  "=",
  "<<",
  "a: b",
  "- x",
  "#c",
  "@x",
  "`x",
  "%x",
  "!tag",
  "*ref",
  "&anchor",
  "{a}",
  "[b]",
  "x #y",
  " lead",
  "trail ",
  "multi\nline",
  // Letter-first words, the ones printed without a parse: near-misses of booleans, nulls and numbers.
  "yEs",
  "NuLL",
  "On",
  "OFF",
  "True",
  "Yes",
  "N",
  "inf",
  "nan",
  "Infinity",
  "NaN",
  "e5",
  "E",
  "x-",
  "a.b",
  "a/b/c",
  "o1",
  "b0101",
  "x0F",
  "L_1",
  "/dev/sdb",
  "/",
  "//",
  "kube1:/dev/sdb",
  "a:",
  "a: b",
  "a:b:c",
  "img:1.2.0",
  "/x:",
  "n:",
  "no:x",
];

const both = (text: string) => [parse(text, { version: "1.1" }), parse(text, { version: "1.2" })];

describe("portable YAML", () => {
  it("quotes every string that YAML 1.1 or 1.2 would read as something else", () => {
    const value = { strings: TRICKY, nested: Object.fromEntries(TRICKY.map((text, index) => [`k${index}`, { value: text }])) };
    for (const read of both(toPortableYaml(value))) expect(read).toEqual(value);
  });

  it("prints every short name-like word so that both versions read it back (the unparsed fast path)", () => {
    const letters = [..."aeEnNoOxXyYlLtTfFiI"];
    const words = [...letters, "/"].flatMap((a) => [a, ...[...letters, ..."0159_./-+:"].flatMap((b) => [a + b, ...[..."eE0159-_.:"].map((c) => a + b + c)])]);
    const value = { words };
    for (const read of both(toPortableYaml(value))) expect(read).toEqual(value);
  });

  it("leaves plain what both read as the same string, and numbers and booleans as they are", () => {
    const text = toPortableYaml({ name: "kadalu-operator", replicas: 1, privileged: true, path: "/var/lib/kubelet", verbose: "no" });
    expect(text).toBe('name: kadalu-operator\nreplicas: 1\nprivileged: true\npath: /var/lib/kubelet\nverbose: "no"\n');
  });

  it("renders the whole install plan so that both versions read back every object", () => {
    for (const object of installPlan(resolveInstallOptions({ version: "1.0.0" })).flatMap((step) => step.objects)) {
      for (const read of both(toPortableYaml(object))) expect(read).toEqual(JSON.parse(JSON.stringify(object)));
    }
  });
});
