const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'bool', 'offset', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads (also with Grafana's `$__...` variables): what is
 * left once strings, label matchers, ranges, grouping clauses, functions, keywords and numbers
 * are taken out.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    const before = stripped[m.index - 1] ?? '';
    if (call || KEYWORDS.has(name.toLowerCase()) || /[0-9.]/.test(before)) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** The family a sample name belongs to among `families` (histogram and summary series carry suffixes). */
export function familyOf(name: string, families: ReadonlySet<string>): string | null {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return null;
}
