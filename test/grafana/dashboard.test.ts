/** Every query on the iMom dashboard runs against a real Loki: a LogQL typo fails here, not at 3 a.m. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pushStreams, startLoki, type LokiHandle } from '../harness/loki.js';
import { assertLegendsNameSeries, dashboard, runPanel, type PanelResult } from './panels.js';

let loki: LokiHandle;
/** "All" over the last hour, one chart step of 1m. */
const LAST_HOUR = { range: '1h', interval: '1m' };

// Every query below is evaluated at NOW, the time the lines are written against, never at the
// wall clock: how long Loki took to start or answer cannot move a line across a 1m or 5m window.
let NOW = 0;
const SEC = 1000;
const MYSQL_ERROR = '2024-09-02 08:35:21 | Status=ERROR, Slave=10.100.21.234, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=621000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620980000, Seconds_Behind_Master=270, Slave_IO_Running=Yes, Slave_SQL_Running=Yes';
const KAFKA_OK = '2024-09-02 08:35:21 | Status=OK, Topic=web, Consumer_Group=analysis-weblog, Total_Lag=1234, p0=10, p1=0';
const MIRROR_ERROR = '2024-09-02 08:35:21 | Status=ERROR, Topic=web, Mirror=dc1->dc2, Total_Lag=27, p0=21, p1=0, p2=6';
const REDIS_CRITICAL_1 = '2024-09-02 08:45:32 | CRITICAL: Node 192.168.21.141:6381 is expected to be master but found slave';
const REDIS_CRITICAL_2 = '2024-09-02 08:45:42 | CRITICAL: Node 192.168.21.152:6381 is expected to be slave but found master';
const HEARTBEAT = 'Status=OK, Agent=alive';
// 20 minutes old: inside the last hour, outside the 5m "silent" window and the 1m chart step.
const SILENT_KAFKA_OK = '2024-09-02 08:15:21 | Status=OK, Topic=orders, Consumer_Group=billing, Total_Lag=7, p0=7';
const APP_ERROR = '2024-09-02 08:35:22.101 ERROR 10788 --- [exec-1] c.e.PayService : charge failed';
const APP_INFO = '2024-09-02 08:35:22.102  INFO 10788 --- [exec-1] c.e.PayService : charged';

before(async () => {
  loki = await startLoki();
  NOW = Date.now();
  // `instance` is the configured target (for Kafka, the cluster), as the agent labels its streams.
  const imom = (host: string, check: string, level: string, instance: string) => ({ job: 'imom', env: 'prod', host, check, level, instance });
  const app = (level: string) => ({ job: 'pay', env: 'prod', host: 'pay-01', server: 'pay-01', query: 'false', level });
  await pushStreams(loki.url, [
    { labels: imom('db-01', 'mysql', 'ERROR', 'order-db'), entries: [[NOW - 30 * SEC, MYSQL_ERROR]] },
    { labels: imom('kafka-01', 'kafka', 'OK', 'main'), entries: [[NOW - 20 * SEC, KAFKA_OK]] },
    { labels: imom('kafka-03', 'kafka', 'ERROR', 'dc2'), entries: [[NOW - 18 * SEC, MIRROR_ERROR]] },
    { labels: imom('redis-01', 'redis', 'CRITICAL', 'session'), entries: [[NOW - 25 * SEC, REDIS_CRITICAL_1], [NOW - 15 * SEC, REDIS_CRITICAL_2]] },
    { labels: imom('kafka-02', 'kafka', 'OK', 'billing'), entries: [[NOW - 20 * 60 * SEC, SILENT_KAFKA_OK]] },
    // The heartbeat stream: kafka-02's stopped with its lines (silent); db-01's is recent. No panel but the silent one shows it.
    { labels: imom('kafka-02', 'heartbeat', 'OK', 'agent'), entries: [[NOW - 21 * 60 * SEC, HEARTBEAT], [NOW - 20 * 60 * SEC, HEARTBEAT]] },
    { labels: imom('db-01', 'heartbeat', 'OK', 'agent'), entries: [[NOW - 60 * SEC, HEARTBEAT], [NOW - 5 * SEC, HEARTBEAT]] },
    { labels: app('ERROR'), entries: [[NOW - 10 * SEC, APP_ERROR]] },
    { labels: app('INFO'), entries: [[NOW - 10 * SEC, APP_INFO]] },
  ]);
});
after(async () => { await loki?.close(); });

/** What each panel must show for the lines above: a logs panel its [host, line] oldest first, any other panel its samples. */
const EXPECTED: Record<string, PanelResult> = {
  'CRITICAL lines (range)': { samples: [[{ check: 'redis' }, 2]] },
  'ERROR lines (range)': { samples: [[{ check: 'kafka' }, 1], [{ check: 'mysql' }, 1]] },
  'Hosts whose agent is silent (5m)': { samples: [[{}, 1]] },
  'App ERROR lines (range)': { samples: [[{ job: 'pay' }, 1]] },
  'ERROR and CRITICAL check lines (open in Explore)': { lines: [['db-01', MYSQL_ERROR], ['redis-01', REDIS_CRITICAL_1], ['kafka-03', MIRROR_ERROR], ['redis-01', REDIS_CRITICAL_2]] },
  'Kafka consumer lag (Total_Lag per cluster/topic/group)': { samples: [[{ instance: 'main', topic: 'web', group: 'analysis-weblog' }, 1234]] },
  'Kafka MirrorMaker 2 lag (Total_Lag per cluster/mirror/topic)': { samples: [[{ instance: 'dc2', mirror: 'dc1->dc2', topic: 'web' }, 27]] },
  'MySQL Seconds_Behind_Master per replica': { samples: [[{ slave: '10.100.21.234' }, 270]] },
  'All check lines': { lines: [['kafka-02', SILENT_KAFKA_OK], ['db-01', MYSQL_ERROR], ['redis-01', REDIS_CRITICAL_1], ['kafka-01', KAFKA_OK], ['kafka-03', MIRROR_ERROR], ['redis-01', REDIS_CRITICAL_2]] },
};

test('every panel query is valid LogQL and shows what the check lines say', async () => {
  assert.deepEqual(dashboard.panels.map((p) => p.title).sort(), Object.keys(EXPECTED).sort(), 'every panel has its expected result here');
  let checked = 0;
  for (const p of dashboard.panels) {
    const got = await runPanel(loki.url, p, NOW, LAST_HOUR);
    assert.deepEqual(got, EXPECTED[p.title], `${p.title}: ${p.targets![0]!.expr}`);
    assertLegendsNameSeries(p, got);
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

test('big numbers are instant queries: one count at the range end, not a recount at every step', () => {
  const stats = dashboard.panels.filter((p) => p.type === 'stat');
  assert.equal(stats.length, 4);
  for (const p of stats) assert.deepEqual(p.targets!.map((t) => [t.queryType, t.instant]), [['instant', true]], p.title);
  for (const p of dashboard.panels.filter((x) => x.type !== 'stat')) assert.deepEqual(p.targets!.map((t) => t.queryType), ['range'], p.title);
});

test('the Kafka lag chart keeps two clusters with the same topic and group apart', async () => {
  const at = NOW - 5 * SEC;
  const lag = (n: number) => `2024-09-02 08:35:30 | Status=OK, Topic=mirror, Consumer_Group=mm2, Total_Lag=${n}, p0=${n}`;
  await pushStreams(loki.url, ['east', 'west'].map((instance, i) => ({ labels: { job: 'imom', env: 'stage', host: 'kafka-agent', check: 'kafka', level: 'OK', instance }, entries: [[at, lag(10 + i)]] })));
  const chart = dashboard.panels.find((p) => p.title.startsWith('Kafka consumer lag'))!;
  const got = await runPanel(loki.url, chart, NOW, LAST_HOUR);
  assert.ok('samples' in got);
  const mirror = got.samples.filter(([m]) => m.topic === 'mirror').sort(([a], [b]) => a.instance!.localeCompare(b.instance!));
  assert.deepEqual(mirror, [[{ instance: 'east', topic: 'mirror', group: 'mm2' }, 10], [{ instance: 'west', topic: 'mirror', group: 'mm2' }, 11]]);
  assertLegendsNameSeries(chart, got);
});
