/**
 * Narrows a log query to one alert: every stream selector `{...}` in it gets a
 * `name="value"` matcher for each given label it does not already match on.
 * Strings ("..." and `...`) are skipped, so braces inside line filters are left alone.
 */
export function narrowLogql(query: string, labels: Record<string, string>): string {
  const out: string[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (c === '"' || c === '`') {
      const end = stringEnd(query, i);
      out.push(query.slice(i, end));
      i = end;
      continue;
    }
    if (c === '{') {
      const end = selectorEnd(query, i);
      if (end > 0) {
        out.push(narrowSelector(query.slice(i, end), labels));
        i = end;
        continue;
      }
    }
    out.push(c);
    i++;
  }
  return out.join('');
}

function stringEnd(s: string, start: number): number {
  const q = s[start]!;
  let i = start + 1;
  while (i < s.length) {
    if (q === '"' && s[i] === '\\') { i += 2; continue; }
    if (s[i] === q) return i + 1;
    i++;
  }
  return s.length;
}

/** The index after the `}` closing a selector opened at `start`, or -1. */
function selectorEnd(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' || c === '`') { i = stringEnd(s, i); continue; }
    if (c === '}') return i + 1;
    if (c === '{') return -1;
    i++;
  }
  return -1;
}

const MATCHER = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g;

function narrowSelector(sel: string, labels: Record<string, string>): string {
  const body = sel.slice(1, -1);
  const present = new Set<string>();
  // Label names in matchers; values are strings and are skipped by the regex's position
  // because names only appear outside quotes. Strip quoted parts first.
  const unquoted = body.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
  for (const m of unquoted.matchAll(MATCHER)) present.add(m[1]!);
  const add = Object.keys(labels)
    .filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !present.has(k))
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  if (add.length === 0) return sel;
  const trimmed = body.trim();
  return `{${trimmed}${trimmed ? ', ' : ''}${add.join(', ')}}`;
}

/** The labels to narrow by: the alert's `logql_narrow` annotation, else the configured list. */
export function narrowingLabels(alertLabels: Record<string, string>, annotation: string | undefined, defaults: readonly string[]): Record<string, string> {
  const names = annotation !== undefined ? annotation.split(',').map((s) => s.trim()).filter(Boolean) : defaults;
  const out: Record<string, string> = {};
  for (const n of names) if (alertLabels[n] !== undefined && alertLabels[n] !== '') out[n] = alertLabels[n]!;
  return out;
}
