/** The strict exposition reader the exporter tests rely on refuses what Prometheus would. */
import { describe, expect, it } from "vitest";
import { parseExposition, valueOf } from "../../../harness/metrics/exposition.js";
import { groupingLabels, metricNamesIn } from "../../../harness/metrics/promql.js";

const good = [
  "# HELP req Requests.",
  "# TYPE req counter",
  'req{code="200"} 3',
  "# TYPE lat histogram",
  'lat_bucket{m="a",le="0.1"} 1',
  'lat_bucket{m="a",le="+Inf"} 2',
  'lat_sum{m="a"} 0.3',
  'lat_count{m="a"} 2',
  "",
].join("\n");

describe("parseExposition", () => {
  it("reads families, samples and histogram series", () => {
    const families = parseExposition(good);
    expect(valueOf(families, "req", { code: "200" })).toBe(3);
    expect(valueOf(families, "lat_bucket", { m: "a", le: "+Inf" })).toBe(2);
    expect(families.get("lat")!.type).toBe("histogram");
  });

  it.each([
    ["no final newline", good.slice(0, -1), /newline/],
    ["a sample before its TYPE", good.replace('req{code="200"}', 'other{code="200"}'), /without a TYPE/],
    ["a bad label", good.replace('req{code="200"}', "req{code=200}"), /bad labels/],
    ["a bad value", good.replace('req{code="200"} 3', 'req{code="200"} three'), /bad value/],
    ["buckets not cumulative", good.replace('le="0.1"} 1', 'le="0.1"} 5'), /not cumulative/],
    ["+Inf not the count", good.replace('lat_count{m="a"} 2', 'lat_count{m="a"} 4'), /_count 4/],
    ["an unknown type", good.replace("TYPE req counter", "TYPE req meter"), /unknown type/],
    ["a negative counter", good.replace('req{code="200"} 3', 'req{code="200"} -1'), /negative/],
  ])("refuses %s", (_what, text, error) => {
    expect(() => parseExposition(text)).toThrow(error);
  });
});

describe("metricNamesIn and groupingLabels", () => {
  it.each([
    ['100 * a_bytes{name=~"$pool"} / b_bytes', ["a_bytes", "b_bytes"], []],
    ["histogram_quantile(0.99, sum by (le, method) (rate(x_bucket[$__rate_interval])))", ["x_bucket"], ["le", "method"]],
    ['increase(r_total{outcome="error"}[10m]) > 0 and on(pool, namespace) increase(r_total[10m]) == 0', ["r_total"], ["pool", "namespace"]],
    ["topk(10, 100 * u / t)", ["u", "t"], []],
  ])("%s", (query, names, labels) => {
    expect(metricNamesIn(query)).toEqual(names);
    expect(groupingLabels(query)).toEqual(labels);
  });
});
