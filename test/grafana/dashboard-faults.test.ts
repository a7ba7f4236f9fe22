/**
 * Every dashboard panel against lines the real agent wrote about real faults: the agent checks a
 * real MariaDB pair and a real Redis pair and pushes to a real Loki; then the replica's SQL thread
 * is stopped and the Redis replica is promoted, the agent checks again, and each panel must return
 * the series it exists to show for those faults (and none for what did not happen).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ReplicationPair, MONITOR_PASSWORD } from '../harness/mariadb.js';
import { RedisPair } from '../harness/redis.js';
import { startLoki, waitForCount, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir } from '../harness/proc.js';
import { checkOnce, pairChecks, stripStamp, writeConfig } from '../harness/cli.js';
import { assertLegendsNameSeries, dashboard, runPanel, type PanelResult } from './panels.js';

const HOST = 'agent-faults';
/** The whole run fits in an hour: every line is inside the range and one chart step. */
const LAST_HOUR = { range: '1h', interval: '1h' };
let loki: LokiHandle;
let mysql: ReplicationPair;
let redis: RedisPair;
let dir: string;
let logFile = '';

before(async () => {
  dir = tempDir('grafana-faults');
  logFile = `${dir}/check.log`;
  [loki, mysql, redis] = await Promise.all([startLoki(), ReplicationPair.start(), RedisPair.start()]);
});
after(async () => {
  await Promise.allSettled([loki?.close(), mysql?.stop(), redis?.stop()]);
  if (dir) removeDir(dir);
});

/** LOG_FILE lines without the file's own time stamp: the text the agent pushes to Loki. */
const fileLines = () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map(stripStamp);
const byText = (a: [string, string], b: [string, string]) => a[1].localeCompare(b[1]);
const levelOf = (line: string) => /^(?:Status=)?(OK|ERROR|CRITICAL)\b/.exec(line)?.[1] ?? '?';

test('after a stopped replica SQL thread and a Redis role flip, every panel shows the fault', async () => {
  const config = writeConfig(dir, `
env: prod
host: ${HOST}
timeout: 5s
state_dir: ${dir}/state
outputs:
  file: { path: ${logFile} }
  loki:
    url: ${loki.url}
    spool_dir: ${dir}/spool
    batch: { max_lines: 50, max_wait: 100ms }
    shutdown_timeout: 60s
${pairChecks(mysql, redis)}`);
  const env = { IMOM_MYSQL_PASSWORD: MONITOR_PASSWORD };
  assert.equal((await checkOnce(config, { env })).code, 0, 'healthy first');
  await mysql.replica.sql('STOP SLAVE SQL_THREAD');
  await redis.replica.cli('REPLICAOF', 'NO', 'ONE');
  assert.equal((await checkOnce(config, { env })).code, 1, 'the faults are found');

  const lines = fileLines();
  await waitForCount(loki.url, `{job="imom", host="${HOST}"}`, lines.length, { timeoutMs: 30_000 });
  const now = Date.now();
  const bad = lines.filter((l) => levelOf(l) !== 'OK');
  const mysqlError = bad.filter((l) => l.includes('Slave_SQL_Running=No'));
  const redisCritical = bad.filter((l) => /CRITICAL: Node 127\.0\.0\.1:\d+ is expected to be slave but found master/.test(l));
  assert.equal(mysqlError.length, 1, `the replica line: ${bad.join('\n')}`);
  assert.equal(redisCritical.length, 1, `the role flip line: ${bad.join('\n')}`);
  const replica = /Slave=([^,]+),/.exec(mysqlError[0]!)![1]!;

  const expected: Record<string, PanelResult> = {
    'CRITICAL lines (range)': { samples: [[{ check: 'redis' }, bad.filter((l) => levelOf(l) === 'CRITICAL').length]] },
    'ERROR lines (range)': { samples: [[{ check: 'mysql' }, bad.filter((l) => levelOf(l) === 'ERROR').length]] },
    'Hosts whose agent is silent (5m)': { samples: [] },
    'App ERROR lines (range)': { samples: [] },
    'ERROR and CRITICAL check lines (open in Explore)': { lines: bad.map((l): [string, string] => [HOST, l]).sort(byText) },
    'Kafka consumer lag (Total_Lag per cluster/topic/group)': { samples: [] },
    'Kafka MirrorMaker 2 lag (Total_Lag per cluster/mirror/topic)': { samples: [] },
    // The healthy line said 0; the line with the SQL thread stopped has no number to chart.
    'MySQL Seconds_Behind_Master per replica': { samples: [[{ slave: replica }, 0]] },
    'All check lines': { lines: lines.map((l): [string, string] => [HOST, l]).sort(byText) },
  };
  assert.deepEqual(dashboard.panels.map((p) => p.title).sort(), Object.keys(expected).sort());
  for (const p of dashboard.panels) {
    const got = await runPanel(loki.url, p, now, LAST_HOUR);
    // Two runs write some lines twice, with the same text: compare logs panels as sorted lists.
    if ('lines' in got) got.lines.sort(byText);
    assert.deepEqual(got, expected[p.title], `${p.title}: ${p.targets![0]!.expr}`);
    assertLegendsNameSeries(p, got);
  }
});
