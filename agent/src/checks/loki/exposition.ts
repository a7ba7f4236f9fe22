/**
 * A reader of the Prometheus text exposition format (version 0.0.4, what Loki's /metrics sends
 * when asked with `Accept: text/plain`), keeping only the samples of the metrics asked for.
 *
 * Why our own: prom-client (the agent's self-metrics) writes this format but has no parser, and
 * the one npm package that parses it, parse-prometheus-text-format (1.1.1, two releases in all,
 * no TypeScript types), builds an object for every family of the page: a single-binary Loki
 * 3.7.8's page is about 1,850 samples (240 KB, measured by loki.test.ts), of which the check needs ~20.
 * The format is line-based and small:
 *   # HELP / # TYPE lines and blank lines are skipped;
 *   name{label="value",...} value [timestamp]   label values escape \\, \" and \n.
 */

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The metric name at the start of a sample line: [a-zA-Z_:][a-zA-Z0-9_:]*. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const n = Number(text);
  return text.trim() === '' ? NaN : n;
}

/**
 * The labels between `{` at `start` and its `}`; returns them and the index after `}`, or
 * undefined for a malformed set (the line is then skipped, as a scraper would refuse it).
 */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
    if (!m) return undefined;
    const name = m[0];
    i += name.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '=' || line[i + 1] !== '"') return undefined;
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i + 1];
        value += e === 'n' ? '\n' : (e ?? '');
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++;
  }
}

/** The samples of the metrics named in `names`, by name; other lines are not parsed beyond their name. */
export function parseSamples(text: string, names: ReadonlySet<string>): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    const m = NAME.exec(line);
    if (!m || !names.has(m[0])) continue;
    let i = m[0].length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const l = parseLabels(line, i);
      if (!l) continue;
      labels = l.labels;
      i = l.end;
    }
    // The value, then an optional timestamp.
    const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? '');
    if (Number.isNaN(value) && !/\bNaN\b/.test(line.slice(i))) continue;
    const list = out.get(m[0]);
    if (list) list.push({ labels, value });
    else out.set(m[0], [{ labels, value }]);
  }
  return out;
}
