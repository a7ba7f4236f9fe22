/**
 * Agent check logs -> real Promtail (promtail/promtail.yaml) -> real Loki.
 * One file per check (outputs.file.path: <dir>/{check}.log): the check label comes
 * from the file name, the level from the line, the timestamp from the line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../harness/proc.js';
import { queryAll, queryRange, series, startLoki, startPromtail, waitForCount, type LokiHandle, type PromtailHandle } from '../harness/loki.js';
import { checkLine } from './util.js';

let loki: LokiHandle;
let promtail: PromtailHandle;
let dir: string;
const t0 = new Date(Math.floor(Date.now() / 1000) * 1000 - 120_000); // whole second, two minutes ago
const at = (s: number) => new Date(t0.getTime() + s * 1000);

// From the check scripts' documented output (addresses changed to loopback).
const LINES: Record<string, { s: number; body: string; level: string }[]> = {
  mysql: [
    { s: 0, level: 'OK', body: 'Status=OK, Master=127.0.0.10, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456' },
    { s: 0, level: 'OK', body: 'Status=OK, Slave=127.0.0.12, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=620500123, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620450000, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes' },
    { s: 0, level: 'ERROR', body: 'Status=ERROR, Slave=127.0.0.14, Master_Log_File=mysql-bin.016068, Master_Log_Position=620123456, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=621000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=620980000, Seconds_Behind_Master=270, Slave_IO_Running=Yes, Slave_SQL_Running=Yes' },
    { s: 60, level: 'ERROR', body: 'Status=ERROR, Slave=127.0.0.14, Master_Log_File=mysql-bin.016068, Master_Log_Position=621234567, Slave_Master_Log_File=mysql-bin.016068, Slave_Read_Master_Log_Pos=622000000, Relay_Master_Log_File=mysql-bin.016068, Exec_Master_Log_Pos=621980000, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=No' },
  ],
  redis: [
    { s: 5, level: 'OK', body: 'Status=OK, Node=127.0.0.41:6381, Role=master' },
    { s: 65, level: 'CRITICAL', body: 'CRITICAL: Node 127.0.0.41:6381 is expected to be master but found slave' },
    { s: 66, level: 'CRITICAL', body: 'CRITICAL: Node 127.0.0.52:6381 is expected to be slave but found master' },
  ],
  redis_cluster: [{ s: 10, level: 'OK', body: 'Status=OK, Cluster_State=ok, Slots_Assigned=16384, Known_Nodes=6' }],
  solr: [{ s: 20, level: 'CRITICAL', body: 'CRITICAL: 2 core(s) are in recovering state on Solr instance 127.0.0.69:8983' }],
  kafka: [{ s: 30, level: 'OK', body: 'Status=OK, Group=mirror, Topic=orders, Partition=0, Lag=12' }],
};
const TOTAL = Object.values(LINES).reduce((n, l) => n + l.length, 0);
const SEL = '{job="imom", env="prod", host="db-mon-01.example.com"}';

before(async () => {
  dir = tempDir('pt-checks');
  mkdirSync(join(dir, 'imom'));
  loki = await startLoki();
  promtail = await startPromtail({ lokiUrl: loki.url, checkLogDir: join(dir, 'imom'), env: 'prod', host: 'db-mon-01.example.com' });
  for (const [check, lines] of Object.entries(LINES)) {
    writeFileSync(join(dir, 'imom', `${check}.log`), lines.map((l) => checkLine(at(l.s), l.body) + '\n').join(''));
  }
  // A rotated file beside them must not be shipped.
  writeFileSync(join(dir, 'imom', 'mysql.log.1'), checkLine(at(1), 'Status=OK, Rotated=yes') + '\n');
  await waitForCount(loki.url, SEL, TOTAL, { start: at(-10) });
});

after(async () => {
  await promtail?.close();
  await loki?.close();
  removeDir(dir);
});

test('every check line arrives exactly once, with the timestamp from the line', async () => {
  const got = await queryAll(loki.url, SEL, { start: at(-10) });
  const want = Object.values(LINES).flat().map((l) => ({ ts: BigInt(at(l.s).getTime()) * 1_000_000n, line: checkLine(at(l.s), l.body) }));
  const key = (x: { ts: bigint; line: string }) => `${x.ts} ${x.line}`;
  assert.deepEqual(got.map((e) => key({ ts: e.tsNs, line: e.line })).sort(), want.map(key).sort());
  assert.ok(!got.some((e) => e.line.includes('Rotated=yes')), 'mysql.log.1 is not shipped');
});

test('labels are exactly {job, env, host, check, level}; check from the file name, level from the line', async () => {
  const s = await series(loki.url, '{job="imom"}', { start: at(-10) });
  const got = s.map((l) => JSON.stringify(Object.fromEntries(Object.entries(l).sort()))).sort();
  const want = new Set<string>();
  for (const [check, lines] of Object.entries(LINES)) {
    for (const l of lines) want.add(JSON.stringify({ check, env: 'prod', host: 'db-mon-01.example.com', job: 'imom', level: l.level }));
  }
  assert.deepEqual(got, [...want].sort());
});

test('LogQL: ERROR and CRITICAL selectors return exactly the failing lines', async () => {
  const err = await queryRange(loki.url, '{job="imom", level="ERROR"}', { start: at(-10) });
  assert.deepEqual(err.map((e) => e.line), LINES.mysql!.filter((l) => l.level === 'ERROR').map((l) => checkLine(at(l.s), l.body)));
  const crit = await queryRange(loki.url, '{job="imom", level="CRITICAL"}', { start: at(-10) });
  assert.equal(crit.length, 3);
  assert.deepEqual(new Set(crit.map((e) => e.labels.check)), new Set(['redis', 'solr']));
  const slave = await queryRange(loki.url, '{job="imom", check="mysql", level=~"ERROR|CRITICAL"} |= "Slave_SQL_Running=No"', { start: at(-10) });
  assert.equal(slave.length, 1);
  assert.match(slave[0]!.line, /Slave=127\.0\.0\.14/);
});

test('a line appended later is shipped too, and only once', async () => {
  const line = checkLine(new Date(), 'Status=ERROR, Slave=127.0.0.14, Seconds_Behind_Master=31');
  appendFileSync(join(dir, 'imom', 'mysql.log'), line + '\n');
  await waitForCount(loki.url, SEL, TOTAL + 1, { start: at(-10) });
  const got = await queryRange(loki.url, `{job="imom", check="mysql"} |= "Seconds_Behind_Master=31"`, { start: at(-10) });
  assert.deepEqual(got.map((e) => e.line), [line]);
});
