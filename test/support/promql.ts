/**
 * The metric names a PromQL expression reads, for checking alert rules and dashboard queries
 * against what the runtime really exports. Not a parser: it removes what cannot hold a metric
 * name (strings, label matchers, label lists of by/without/on/ignoring/group_*, range and
 * subquery brackets, Grafana's $variables) and keeps each remaining identifier that is neither
 * a function or aggregation call (followed by "(") nor a keyword. Enough for the expressions of
 * this repository, whose tests fail on a name this misses only by finding too many names.
 */
const KEYWORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "atan2", "inf", "nan", "start", "end"]);
const LABEL_LISTS = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(LABEL_LISTS, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const rest = stripped.slice(match.index + name.length);
    const before = stripped.slice(0, match.index);
    if (KEYWORDS.has(name.toLowerCase()) || /^\s*\(/.test(rest)) continue;
    // Part of a number (1e3, 0x1f) or of a duration after offset (5m).
    if (/[0-9.]$/.test(before)) continue;
    names.add(name);
  }
  return [...names].sort();
}
