/**
 * Application console and query logs -> real Promtail -> real Loki: the labels of the
 * operators' selectors, multi-line stack traces as one entry, and the two QHash
 * searches. The files are static fixtures in the splitter's output format
 * (console: `"QHash":"<32 hex>"` in place of the SQL; query: one JSON line per shape).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../harness/proc.js';
import { queryAll, queryRange, series, startLoki, startPromtail, waitForCount, type LokiHandle, type PromtailHandle } from '../harness/loki.js';

let loki: LokiHandle;
let promtail: PromtailHandle;
let dir: string;

const H1 = '8c6b7778672a4222bf18d91a035cd86e';
const H2 = '0f3a9c1de2b44f1a8e6d5c4b3a291807';
const base = new Date(Date.now() - 300_000);
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Spring Boot console timestamp, local time, ms precision, `s` seconds after base. */
function ts(s: number): string {
  const d = new Date(base.getTime() + s * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
const msAt = (s: number) => Math.floor((base.getTime() + s * 1000));

const TRACE = [
  `${ts(4)} -ERROR 10788 --- [http-nio-8081-exec-595] k.c.e.p.d.PayService                     : payment failed for order 1042`,
  'java.lang.IllegalStateException: card declined',
  '\tat k.c.e.p.d.PayService.charge(PayService.java:88)',
  '\tat k.c.e.p.d.PayController.pay(PayController.java:41)',
  'Caused by: java.net.SocketTimeoutException: Read timed out',
  '\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)',
  '\t... 42 more',
].join('\n');

const CONSOLE: { text: string; level: string; s: number }[] = [
  { s: 0, level: 'INFO', text: `${ts(0)} -INFO  10788 --- [http-nio-8081-exec-595] k.c.e.p.d.PayService                     : Service start` },
  { s: 1, level: 'DEBUG', text: `${ts(1)} -DEBUG 10788 --- [http-nio-8081-exec-595] p6spy                                    : "QHash":"${H1}" took 3ms statement` },
  { s: 2, level: 'DEBUG', text: `${ts(2)} -DEBUG 10788 --- [http-nio-8081-exec-596] p6spy                                    : "QHash":"${H2}" took 1ms statement` },
  { s: 3, level: 'DEBUG', text: `${ts(3)} -DEBUG 10788 --- [http-nio-8081-exec-597] p6spy                                    : "QHash":"${H1}" took 5ms statement` },
  { s: 4, level: 'ERROR', text: TRACE },
  { s: 5, level: 'WARN', text: `${ts(5)} -WARN  10788 --- [http-nio-8081-exec-595] k.c.e.p.d.PayService                     : retrying` },
  { s: 6, level: 'INFO', text: `${ts(6)} -INFO  10788 --- [http-nio-8081-exec-595] k.c.e.p.d.PayService                     : Service end` },
];
const QUERY = [
  { QHash: H1, sql: 'select distinct t1.uf_seq, t1.urfee_cd from pay_fee t1 where t1.ue_cd = ? order by t1.ue_cd', first_seen: new Date(msAt(1)).toISOString() },
  { QHash: H2, sql: 'update pay_order set status = ? where order_id = ?', first_seen: new Date(msAt(2)).toISOString() },
];
const APP = '{env="prod", query!="true", job="pay", host="pay.example.com", server="pay-01"}';

before(async () => {
  dir = tempDir('pt-app');
  mkdirSync(join(dir, 'logs'));
  loki = await startLoki();
  promtail = await startPromtail({
    lokiUrl: loki.url, env: 'prod', app: 'pay', appHost: 'pay.example.com', server: 'pay-01',
    consoleLog: join(dir, 'logs', 'console.log'), queryLog: join(dir, 'logs', 'query.log'),
  });
  writeFileSync(join(dir, 'logs', 'console.log'), CONSOLE.map((c) => c.text + '\n').join(''));
  writeFileSync(join(dir, 'logs', 'query.log'), QUERY.map((q) => JSON.stringify(q) + '\n').join(''));
  // The last console entry is released by the multiline stage after max_wait_time (3 s).
  await waitForCount(loki.url, APP, CONSOLE.length, { start: msAt(-10) });
  await waitForCount(loki.url, '{job="pay", query="true"}', QUERY.length, { start: msAt(-10) });
});

after(async () => {
  await promtail?.close();
  await loki?.close();
  removeDir(dir);
});

test('the operators\' selector returns every console entry once, stack trace joined, timestamps from the line', async () => {
  const got = await queryAll(loki.url, APP, { start: msAt(-10) });
  assert.deepEqual(got.map((e) => e.line), CONSOLE.map((c) => c.text));
  assert.deepEqual(got.map((e) => Number(e.tsNs / 1_000_000n)), CONSOLE.map((c) => Math.floor(msAt(c.s))));
  const trace = got.find((e) => e.line.startsWith(ts(4)))!;
  assert.equal(trace.line.split('\n').length, 7, 'the stack trace is one entry of 7 lines');
  assert.equal(trace.labels.level, 'ERROR');
});

test('console labels: {job, env, host, server, query="false", level}; query labels: {job, env, host, server, query="true"}', async () => {
  const s = (await series(loki.url, '{job="pay"}', { start: msAt(-10) })).map((l) => JSON.stringify(Object.fromEntries(Object.entries(l).sort()))).sort();
  const common = { env: 'prod', host: 'pay.example.com', job: 'pay', server: 'pay-01' };
  const want = [
    ...['DEBUG', 'ERROR', 'INFO', 'WARN'].map((level) => ({ ...common, level, query: 'false' })),
    { ...common, query: 'true' },
  ].map((l) => JSON.stringify(Object.fromEntries(Object.entries(l).sort()))).sort();
  assert.deepEqual(s, want);
});

test('level selectors: {job="pay", level="ERROR"} finds the stack trace only', async () => {
  const got = await queryRange(loki.url, '{job="pay", level="ERROR"}', { start: msAt(-10) });
  assert.deepEqual(got.map((e) => e.line), [TRACE]);
  const grep = await queryRange(loki.url, `${APP} |= "SocketTimeoutException"`, { start: msAt(-10) });
  assert.equal(grep.length, 1, 'a search for a "Caused by" line finds the whole entry');
});

test('QHash search 1: {job="pay", query!="true"} |= "<hash>" finds every execution', async () => {
  const got = await queryRange(loki.url, `{job="pay", query!="true"} |= "${H1}"`, { start: msAt(-10) });
  assert.deepEqual(got.map((e) => e.line), [CONSOLE[1]!.text, CONSOLE[3]!.text]);
});

test('QHash search 2: {job="pay", query="true"} | json | QHash="<hash>" finds the statement once', async () => {
  const got = await queryRange(loki.url, `{job="pay", query="true"} | json | QHash="${H1}"`, { start: msAt(-10) });
  assert.equal(got.length, 1);
  assert.deepEqual(JSON.parse(got[0]!.line), QUERY[0]);
  assert.equal(got[0]!.parsed.QHash, H1);
});

test('QHash is structured metadata (qhash), not a label', async () => {
  const got = await queryRange(loki.url, `{job="pay", query="true"} | qhash="${H2}"`, { start: msAt(-10) });
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.metadata, { qhash: H2 });
  assert.equal(got[0]!.labels.qhash, undefined);
  assert.equal(got[0]!.labels.QHash, undefined);
});
