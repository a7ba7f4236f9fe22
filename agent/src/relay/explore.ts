/**
 * Grafana Explore links in the `panes` format of Grafana 10 and 11:
 *   <grafana>/explore?schemaVersion=1&orgId=1&panes=<JSON>
 * where JSON is { "<pane id>": { datasource, queries: [{ refId, datasource, expr,
 * queryType, editorMode }], range: { from, to } } } with from/to in epoch ms.
 * (The older `left=[from,to,datasource,query]` form is gone from Grafana 11.)
 */
export interface ExploreOptions {
  grafanaUrl: string;
  datasourceUid: string;
  orgId: number;
  expr: string;
  fromMs: number;
  toMs: number;
}

export function exploreUrl(o: ExploreOptions): string {
  const ds = { type: 'loki', uid: o.datasourceUid };
  const panes = {
    imom: {
      datasource: o.datasourceUid,
      queries: [{ refId: 'A', datasource: ds, expr: o.expr, queryType: 'range', editorMode: 'code' }],
      range: { from: String(Math.floor(o.fromMs)), to: String(Math.ceil(o.toMs)) },
    },
  };
  const q = new URLSearchParams({ schemaVersion: '1', orgId: String(o.orgId), panes: JSON.stringify(panes) });
  return `${o.grafanaUrl.replace(/\/+$/, '')}/explore?${q.toString()}`;
}

/** The inverse, for tests and for anyone checking a link: the first pane's query and range. */
export function parseExploreUrl(url: string): { expr: string; fromMs: number; toMs: number; datasourceUid: string; orgId: number } | undefined {
  const u = new URL(url);
  const panes = u.searchParams.get('panes');
  if (!panes) return undefined;
  const obj = JSON.parse(panes) as Record<string, { datasource: string; queries: { expr: string }[]; range: { from: string; to: string } }>;
  const first = Object.values(obj)[0];
  if (!first?.queries[0]) return undefined;
  return { expr: first.queries[0].expr, fromMs: Number(first.range.from), toMs: Number(first.range.to), datasourceUid: first.datasource, orgId: Number(u.searchParams.get('orgId') ?? '1') };
}
