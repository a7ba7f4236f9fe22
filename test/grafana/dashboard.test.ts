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

// Every query below is evaluated at NOW, the time the lines are written against, never at the
// wall clock: how long Loki took to start or answer cannot move a line across a 1m or 5m window.
let NOW = 0;
const SEC = 1000;
const MYSQL_ERROR = '2024-09-02 08:35:21 | Status=ERROR, Slave=10.100.21.234, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=621000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620980000, Seconds_Behind_Master=270, Slave_IO_Running=Yes, Slave_SQL_Running=Yes';
const KAFKA_OK = '2024-09-02 08:35:21 | Status=OK, Topic=web, Consumer_Group=analysis-weblog, Total_Lag=1234, p0=10, p1=0';
const REDIS_CRITICAL_1 = '2024-09-02 08:45:32 | CRITICAL: Node 192.168.21.141:6381 is expected to be master but found slave';
const REDIS_CRITICAL_2 = '2024-09-02 08:45:42 | CRITICAL: Node 192.168.21.152:6381 is expected to be slave but found master';
// 20 minutes old: inside the last hour, outside the 5m "silent" window and the 1m chart step.
const SILENT_KAFKA_OK = '2024-09-02 08:15:21 | Status=OK, Topic=orders, Consumer_Group=billing, Total_Lag=7, p0=7';
const APP_ERROR = '2024-09-02 08:35:22.101 ERROR 10788 --- [exec-1] c.e.PayService : charge failed';
const APP_INFO = '2024-09-02 08:35:22.102  INFO 10788 --- [exec-1] c.e.PayService : charged';

before(async () => {
  loki = await startLoki();
  NOW = Date.now();
  const imom = (host: string, check: string, level: string) => ({ job: 'imom', env: 'prod', host, check, level });
  const app = (level: string) => ({ job: 'pay', env: 'prod', host: 'pay-01', server: 'pay-01', query: 'false', level });
  await pushStreams(loki.url, [
    { labels: imom('db-01', 'mysql', 'ERROR'), entries: [[NOW - 30 * SEC, MYSQL_ERROR]] },
    { labels: imom('kafka-01', 'kafka', 'OK'), entries: [[NOW - 20 * SEC, KAFKA_OK]] },
    { labels: imom('redis-01', 'redis', 'CRITICAL'), entries: [[NOW - 25 * SEC, REDIS_CRITICAL_1], [NOW - 15 * SEC, REDIS_CRITICAL_2]] },
    { labels: imom('kafka-02', 'kafka', 'OK'), entries: [[NOW - 20 * 60 * SEC, SILENT_KAFKA_OK]] },
    { labels: app('ERROR'), entries: [[NOW - 10 * SEC, APP_ERROR]] },
    { labels: app('INFO'), entries: [[NOW - 10 * SEC, APP_INFO]] },
  ]);
});
after(async () => { await loki?.close(); });

/** What each panel must show for the lines above: a logs panel its [host, line] oldest first, any other panel its samples. */
const EXPECTED: Record<string, { lines: [host: string, line: string][] } | { samples: [labels: Record<string, string>, value: number][] }> = {
  'CRITICAL lines (range)': { samples: [[{ check: 'redis' }, 2]] },
  'ERROR lines (range)': { samples: [[{ check: 'mysql' }, 1]] },
  'Hosts whose agent is silent (5m)': { samples: [[{}, 1]] },
  'App ERROR lines (range)': { samples: [[{ job: 'pay' }, 1]] },
  'ERROR and CRITICAL check lines (open in Explore)': { lines: [['db-01', MYSQL_ERROR], ['redis-01', REDIS_CRITICAL_1], ['redis-01', REDIS_CRITICAL_2]] },
  'Kafka consumer lag (Total_Lag per topic/group)': { samples: [[{ topic: 'web', group: 'analysis-weblog' }, 1234]] },
  'MySQL Seconds_Behind_Master per replica': { samples: [[{ slave: '10.100.21.234' }, 270]] },
  'All check lines': { lines: [['kafka-02', SILENT_KAFKA_OK], ['db-01', MYSQL_ERROR], ['redis-01', REDIS_CRITICAL_1], ['kafka-01', KAFKA_OK], ['redis-01', REDIS_CRITICAL_2]] },
};

test('every panel query is valid LogQL and shows what the check lines say', async () => {
  assert.deepEqual(dashboard.panels.map((p) => p.title).sort(), Object.keys(EXPECTED).sort(), 'every panel has its expected result here');
  let checked = 0;
  for (const p of dashboard.panels) {
    assert.equal(p.targets?.length, 1, `${p.title}: one query`);
    const expr = expand(p.targets![0]!.expr);
    const got = p.type === 'logs'
      ? { lines: (await queryRange(loki.url, expr, { start: NOW - 3_600_000, end: NOW, limit: 100 })).map((e) => [e.labels.host, e.line]) }
      : { samples: (await instantQuery(loki.url, expr, { time: NOW })).map((s) => [s.metric, s.value]) };
    assert.deepEqual(got, EXPECTED[p.title], `${p.title}: ${expr}`);
    checked++;
  }
  assert.ok(checked >= 8, `only ${checked} queries`);
});

test('the error big numbers turn red from the first line', () => {
  for (const p of dashboard.panels.filter((x) => x.type === 'stat')) {
    const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
    assert.deepEqual(steps.map((s) => s.color), ['green', 'red'], p.title);
    assert.equal(steps[1]!.value, 1, p.title);
  }
});
