/** Every query on the iMom dashboard runs against a real Loki: a LogQL typo fails here, not at 3 a.m. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { instantQuery, pushStreams, queryRange, startLoki, type LokiHandle } from '../harness/loki.js';
import { REPO_ROOT } from '../harness/proc.js';

interface Panel { title: string; type: string; targets?: { expr: string }[]; fieldConfig?: { defaults?: { thresholds?: { steps: { color: string; value: number | null }[] } } } }

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'grafana/dashboards/imom-overview.json'), 'utf8')) as { panels: Panel[] };
let loki: LokiHandle;

/** Grafana's variables as Grafana would expand them for "All" over the last hour. */
const expand = (expr: string) => expr.replaceAll('$env', '.+').replaceAll('$host', '.+').replaceAll('$__range', '1h').replaceAll('$__interval', '1m');

before(async () => {
  loki = await startLoki();
  const now = Date.now();
  await pushStreams(loki.url, [
    { labels: { job: 'imom', env: 'prod', host: 'db-01', check: 'mysql', level: 'ERROR' }, entries: [[now - 30_000, '2024-09-02 08:35:21 | Status=ERROR, Slave=10.100.21.234, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=621000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620980000, Seconds_Behind_Master=270, Slave_IO_Running=Yes, Slave_SQL_Running=Yes']] },
    { labels: { job: 'imom', env: 'prod', host: 'kafka-01', check: 'kafka', level: 'OK' }, entries: [[now - 20_000, '2024-09-02 08:35:21 | Status=OK, Topic=web, Consumer_Group=analysis-weblog, Total_Lag=1234, p0=10, p1=0']] },
  ]);
});
after(async () => { await loki?.close(); });

test('every panel query is valid LogQL and the charts read the check lines', async () => {
  let checked = 0;
  for (const p of dashboard.panels) {
    for (const t of p.targets ?? []) {
      const expr = expand(t.expr);
      if (p.type === 'logs') await queryRange(loki.url, expr, { limit: 5 });
      else await instantQuery(loki.url, expr);
      checked++;
    }
  }
  assert.ok(checked >= 8, `only ${checked} queries`);
  const lag = dashboard.panels.find((p) => p.title.startsWith('Kafka consumer lag'))!;
  const lagSeries = await instantQuery(loki.url, expand(lag.targets![0]!.expr.replace('[$__interval]', '[5m]')));
  assert.deepEqual(lagSeries.map((s) => [s.metric.topic, s.metric.group, s.value]), [['web', 'analysis-weblog', 1234]]);
  const sbm = dashboard.panels.find((p) => p.title.startsWith('MySQL Seconds_Behind_Master'))!;
  const sbmSeries = await instantQuery(loki.url, expand(sbm.targets![0]!.expr.replace('[$__interval]', '[5m]')));
  assert.deepEqual(sbmSeries.map((s) => [s.metric.slave, s.value]), [['10.100.21.234', 270]]);
});

test('the error big numbers turn red from the first line', () => {
  for (const p of dashboard.panels.filter((x) => x.type === 'stat')) {
    const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
    assert.deepEqual(steps.map((s) => s.color), ['green', 'red'], p.title);
    assert.equal(steps[1]!.value, 1, p.title);
  }
});
