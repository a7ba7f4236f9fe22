/** The generated dashboard's panels, run against a real Loki the way Grafana would run them. */
import assert from 'node:assert/strict';
import { instantQuery, queryRange } from '../harness/loki.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS_DIR } from '../../scripts/grafana-dashboards.js';

export interface Panel {
  title: string;
  type: string;
  targets?: { expr: string; queryType?: string; instant?: boolean; legendFormat?: string }[];
  fieldConfig?: { defaults?: { thresholds?: { steps: { color: string; value: number | null }[] } } };
}

/** The file Grafana loads (provisioning.test.ts holds it equal to what the generator makes). */
export const dashboard = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'imom-overview.json'), 'utf8')) as { panels: Panel[] };

/** Grafana's variables as Grafana would expand them for "All" over the last `range`, one step of `interval`. */
export const expand = (expr: string, o: { range: string; interval: string }) =>
  expr.replaceAll('$env', '.+').replaceAll('$host', '.+').replaceAll('$__range', o.range).replaceAll('$__interval', o.interval);

/** A series' legend as Grafana renders `legendFormat` ({{label}} → its value; a missing label → ""). */
export const legendOf = (format: string, metric: Readonly<Record<string, string>>) => format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l: string) => metric[l] ?? '');

export type PanelResult = { lines: [host: string, line: string][] } | { samples: [labels: Record<string, string>, value: number][] };

/** A logs panel: its [host, line] oldest first over the hour before `at`; any other panel: its samples at `at`. */
export async function runPanel(lokiUrl: string, p: Panel, at: number, o: { range: string; interval: string }): Promise<PanelResult> {
  assert.equal(p.targets?.length, 1, `${p.title}: one query`);
  const expr = expand(p.targets![0]!.expr, o);
  return p.type === 'logs'
    ? { lines: (await queryRange(lokiUrl, expr, { start: at - 3_600_000, end: at, limit: 100 })).map((e) => [e.labels.host!, e.line]) }
    : { samples: (await instantQuery(lokiUrl, expr, { time: at })).map((s) => [s.metric, s.value]) };
}

/** Every series a chart or big number returns has a legend naming it: every {{label}} filled, no two alike. */
export function assertLegendsNameSeries(p: Panel, result: PanelResult): void {
  if (!('samples' in result)) return;
  const format = p.targets![0]!.legendFormat ?? '';
  assert.notEqual(format.trim(), '', `${p.title}: a legend`);
  for (const [metric] of result.samples) {
    for (const [, label] of format.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) assert.ok(metric[label!], `${p.title}: legend ${format} names "${label}", which ${JSON.stringify(metric)} lacks`);
  }
  const legends = result.samples.map(([m]) => legendOf(format, m));
  assert.equal(new Set(legends).size, legends.length, `${p.title}: two series share the legend ${JSON.stringify(legends)}`);
}
