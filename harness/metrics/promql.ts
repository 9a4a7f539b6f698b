/**
 * Just enough of PromQL to say which metrics and grouping labels a query names: identifiers that are not
 * functions, keywords, label names inside braces, or range/duration text.
 */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"]);

export function metricNamesIn(query: string): string[] {
  const withoutStrings = query
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]");
  const withoutGroupings = withoutStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const identifiers = [...withoutGroupings.matchAll(/(\$?)([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)];
  const names = identifiers.filter((match) => !match[1] && !match[3] && !KEYWORDS.has(match[2]!)).map((match) => match[2]!);
  return [...new Set(names)];
}

/** Labels of by (...) and on (...) clauses. */
export function groupingLabels(query: string): string[] {
  return [...query.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)].flatMap((match) =>
    match[1]!
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean),
  );
}

/** The `expr` of every panel target, and the queries of template variables. */
export function dashboardQueries(dashboard: { panels: { targets?: { expr: string }[] }[]; templating?: { list: { query?: unknown }[] } }): string[] {
  const variables = (dashboard.templating?.list ?? []).flatMap((variable) => {
    const query = typeof variable.query === "object" && variable.query ? (variable.query as { query?: string }).query : undefined;
    const labelValues = query && /^label_values\((\w+),/.exec(query);
    return labelValues ? [labelValues[1]!] : [];
  });
  return [...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)), ...variables];
}
