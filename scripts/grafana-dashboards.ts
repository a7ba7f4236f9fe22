/**
 * The iMom Grafana dashboards as code (Grafana Foundation SDK, schema of Grafana 12/13), written
 * to grafana/dashboards/ by `npm run grafana:build`. test/grafana/dashboard.test.ts regenerates them
 * in memory and fails when the checked-in JSON differs, so an edit to the JSON by hand fails CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, QueryVariableBuilder, ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, LokiQueryType } from '@grafana/grafana-foundation-sdk/loki';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

const GRAFANA_DIR = join(new URL('.', import.meta.url).pathname, '..', 'grafana').replace(/\/dist\/grafana$/, '/grafana');
export const DATASOURCE_FILE = join(GRAFANA_DIR, 'provisioning/datasources/loki.yaml');
export const DASHBOARDS_DIR = join(GRAFANA_DIR, 'dashboards');

const provisionedDatasources = z.object({ datasources: z.array(z.object({ uid: z.string().min(1), type: z.string() })).min(1) });

/** The Loki datasource uid, read from its one definition: the provisioning file. */
export function provisionedLokiUid(file = DATASOURCE_FILE): string {
  const ds = provisionedDatasources.parse(parse(readFileSync(file, 'utf8'))).datasources.find((d) => d.type === 'loki');
  if (!ds) throw new Error(`${file}: no loki datasource`);
  return ds.uid;
}

/** The check lines; the agent's heartbeat (check="heartbeat", one line a minute per host) is AgentSilent's, not a check's. */
const CHECK_LINES = '{job="imom", env=~"$env", host=~"$host", check!="heartbeat"';
/** AgentSilent's expression (ruler/rules/fake/imom.yaml): hosts whose last heartbeat in 25h is alive and that wrote none in 5m. */
const HEARTBEAT = '{job="imom", env=~"$env", host=~"$host", check="heartbeat"}';
const SILENT_HOSTS = `count(last_over_time(${HEARTBEAT} | regexp \`Agent=(?P<agent>[a-z]+)\` | label_format up=\`{{ if eq .agent "retired" }}0{{ else }}1{{ end }}\` | unwrap up | __error__="" [25h]) by (env, host) == 1`
  + ` unless count by (env, host) (count_over_time(${HEARTBEAT} [5m])))`;

/** Green at 0, red from the first line: one CRITICAL or ERROR line is already a problem. */
const redFromOne = () => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }, { value: 1, color: 'red' }]);

function overview(uid: string): DashboardBuilder {
  const datasource = { type: 'loki', uid };
  let panelId = 0;
  const nextId = () => ++panelId;
  // An instant query at the range's end: a range query would recount the whole range at every step.
  const instant = (expr: string, legend: string) => new DataqueryBuilder().refId('A').datasource(datasource).expr(expr).queryType(LokiQueryType.Instant).instant(true).legendFormat(legend);
  const range = (expr: string, legend?: string) => {
    const q = new DataqueryBuilder().refId('A').datasource(datasource).expr(expr).queryType(LokiQueryType.Range);
    return legend === undefined ? q : q.legendFormat(legend);
  };
  const bigNumber = (title: string, expr: string, legend: string, pos: { h: number; w: number; x: number; y: number }) =>
    new StatPanel().id(nextId()).title(title).datasource(datasource).gridPos(pos).withTarget(instant(expr, legend))
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
      .colorMode(common.BigValueColorMode.Background).graphMode(common.BigValueGraphMode.None)
      .textMode(common.BigValueTextMode.ValueAndName).justifyMode(common.BigValueJustifyMode.Center)
      .unit('none').noValue('0').decimals(0).thresholds(redFromOne());
  const logs = (title: string, expr: string, pos: { h: number; w: number; x: number; y: number }) =>
    new LogsPanel().id(nextId()).title(title).datasource(datasource).gridPos(pos).withTarget(range(expr))
      .showTime(true).wrapLogMessage(true).sortOrder(common.LogsSortOrder.Descending).enableLogDetails(true).dedupStrategy(common.LogsDedupStrategy.None);
  const chart = (title: string, expr: string, legend: string, pos: { h: number; w: number; x: number; y: number }) =>
    new TimeseriesPanel().id(nextId()).title(title).datasource(datasource).gridPos(pos).withTarget(range(expr, legend))
      .unit('none').drawStyle(common.GraphDrawStyle.Line).fillOpacity(10);
  const labelVariable = (name: string, stream: string) =>
    new QueryVariableBuilder(name).datasource(datasource).query({ label: name, stream, type: 1, refId: name })
      .includeAll(true).multi(true).allValue('.+').current({ text: 'All', value: '$__all' }).refresh(VariableRefresh.OnTimeRangeChanged);

  return new DashboardBuilder('iMom: backing systems').uid('imom-overview').tags(['imom']).timezone('browser')
    .refresh('30s').time({ from: 'now-6h', to: 'now' })
    .withVariable(labelVariable('env', '{job="imom"}'))
    .withVariable(labelVariable('host', '{job="imom", env=~"$env"}'))
    .withPanel(bigNumber('CRITICAL lines (range)', `sum by (check) (count_over_time(${CHECK_LINES}, level="CRITICAL"} [$__range]))`, '{{check}}', { h: 5, w: 12, x: 0, y: 0 }))
    .withPanel(bigNumber('ERROR lines (range)', `sum by (check) (count_over_time(${CHECK_LINES}, level="ERROR"} [$__range]))`, '{{check}}', { h: 5, w: 12, x: 12, y: 0 }))
    // One number without labels: the legend says what it counts (a "{{label}}" here would be blank).
    .withPanel(bigNumber('Hosts whose agent is silent (5m)', SILENT_HOSTS, 'silent hosts', { h: 5, w: 8, x: 0, y: 5 }))
    .withPanel(bigNumber('App ERROR lines (range)', 'sum by (job) (count_over_time({query="false", env=~"$env", level="ERROR"} [$__range]))', '{{job}}', { h: 5, w: 16, x: 8, y: 5 }))
    .withPanel(logs('ERROR and CRITICAL check lines (open in Explore)', `${CHECK_LINES}, level=~"ERROR|CRITICAL"}`, { h: 10, w: 24, x: 0, y: 10 }))
    // `instance` is the configured Kafka target, one per cluster: two clusters with the same topic and group stay two lines.
    .withPanel(chart('Kafka consumer lag (Total_Lag per cluster/topic/group)',
      `max by (instance, topic, group) (max_over_time(${CHECK_LINES}, check="kafka"} |~ "Consumer_Group=[^,]+, Total_Lag=" | regexp "Topic=(?P<topic>[^,]+), Consumer_Group=(?P<group>[^,]+), Total_Lag=(?P<total_lag>\\\\d+)" | unwrap total_lag [$__interval]))`,
      '{{instance}}: {{topic}} / {{group}}', { h: 8, w: 12, x: 0, y: 20 }))
    .withPanel(chart('MySQL Seconds_Behind_Master per replica',
      `max by (slave) (max_over_time(${CHECK_LINES}, check="mysql"} |= "Slave=" | regexp "Slave=(?P<slave>[^,]+),.*Seconds_Behind_Master=(?P<sbm>\\\\d+)" | unwrap sbm [$__interval]))`,
      '{{slave}}', { h: 8, w: 12, x: 12, y: 20 }))
    // The Kibana chart of the MirrorMaker lag poller, per mirror (source->target) and source topic.
    .withPanel(chart('Kafka MirrorMaker 2 lag (Total_Lag per cluster/mirror/topic)',
      `max by (instance, mirror, topic) (max_over_time(${CHECK_LINES}, check="kafka"} |~ "Mirror=[^,]+, Total_Lag=" | regexp "Topic=(?P<topic>[^,]+), Mirror=(?P<mirror>[^,]+), Total_Lag=(?P<total_lag>\\\\d+)" | unwrap total_lag [$__interval]))`,
      '{{instance}}: {{mirror}} {{topic}}', { h: 8, w: 12, x: 0, y: 28 }))
    .withPanel(logs('All check lines', `${CHECK_LINES}}`, { h: 12, w: 24, x: 0, y: 36 }));
}

/** File name under grafana/dashboards/ → its JSON text, exactly as checked in. */
export function renderDashboards(uid = provisionedLokiUid()): Map<string, string> {
  return new Map([['imom-overview.json', `${JSON.stringify(overview(uid).build(), null, 2)}\n`]]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [name, text] of renderDashboards()) {
    writeFileSync(join(DASHBOARDS_DIR, name), text);
    console.log(`wrote grafana/dashboards/${name}`);
  }
}
