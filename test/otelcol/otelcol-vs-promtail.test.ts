/**
 * The same files shipped twice into one real Loki with auth on: by Promtail (promtail/promtail.yaml)
 * as tenant "promtail" and by the real collector (otelcol/otelcol.yaml, Loki's OTLP endpoint) as
 * tenant "otelcol". Every query the operators use (the selectors of promtail/README.md, every
 * dashboard query, every ruler rule) must return the same thing for both: log queries the same
 * set of (stream labels, nanosecond timestamp, line, qhash), metric queries the same vector.
 *
 * One exception, by design of both configs: a query-log entry carries the time its shipper read
 * it (the line's first_seen is not used, see promtail.yaml), and the two read at different
 * moments, so query-log entries are compared without their timestamp.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, removeDir, tempDir } from '../harness/proc.js';
import { instantQuery, queryAll, startLoki, startPromtail, waitForCount, type LogEntry, type LokiHandle, type PromtailHandle } from '../harness/loki.js';
import { startOtelcol, type OtelcolHandle } from '../harness/otelcol.js';
import { checkLine, springLine } from '../promtail/util.js';
import { expandVars } from '../../agent/src/stack/ha.js';

let loki: LokiHandle;
let promtail: PromtailHandle;
let otelcol: OtelcolHandle;
let dir: string;
const TENANTS = ['promtail', 'otelcol'] as const;
const base = Date.now() - 300_000;
const at = (s: number) => new Date(base + s * 1000);
let evalAt: number;

const H1 = '8c6b7778672a4222bf18d91a035cd86e';
const H2 = '0f3a9c1de2b44f1a8e6d5c4b3a291807';

/** Check logs: every level, lines without a level, kafka lag and mysql lines the dashboard parses, two per second. */
function checkFiles(): Record<string, string[]> {
  const files: Record<string, string[]> = { 'mysql.log': [], 'mysql.order-db.log': [], 'redis.session.log': [], 'kafka.log': [], 'loki.logs.log': [], 'heartbeat.agent.log': [] };
  for (let i = 0; i < 60; i++) {
    const d = at(i * 2.5);
    // The agent's heartbeat (AgentSilent's one stream), its own file with {check}.{instance}.log.
    if (i % 6 === 0) files['heartbeat.agent.log']!.push(checkLine(d, 'Status=OK, Agent=alive'));
    const status = i % 7 === 0 ? 'ERROR' : 'OK';
    files['mysql.log']!.push(checkLine(d, `Status=${status}, Slave=127.0.0.${1 + (i % 3)}, Master_Log_File=mysql-bin.016068, Seconds_Behind_Master=${i * 3}, Slave_IO_Running=Yes, Slave_SQL_Running=Yes`));
    files['mysql.order-db.log']!.push(checkLine(d, `Status=OK, Slave=127.0.0.9, Seconds_Behind_Master=${i}, Slave_IO_Running=Yes, Slave_SQL_Running=Yes`));
    files['redis.session.log']!.push(i % 11 === 0
      ? checkLine(d, `CRITICAL: Node 127.0.0.1:6381 is expected to be master but found slave`)
      : checkLine(d, `Status=${i % 5 === 0 ? 'WARNING' : 'OK'}, Node=127.0.0.1:638${i % 2}, Role=master`));
    files['kafka.log']!.push(checkLine(d, `Status=${i % 13 === 0 ? 'ERROR' : 'OK'}, Topic=orders, Consumer_Group=billing, Total_Lag=${i * 10}`));
    // The loki check (ruler/rules/fake/loki.yaml): a member's state, a ring entry, counter lines.
    const lokiLines = files['loki.logs.log']!;
    lokiLines.push(checkLine(d, i % 9 === 0
      ? 'CRITICAL: Loki member 127.0.0.2:3100 is unreachable (connect ECONNREFUSED 127.0.0.2:3100)'
      : i % 10 === 0 ? 'ERROR: Loki member 127.0.0.2:3100 did not give its metrics (/metrics answered HTTP 403: forbidden)'
        : 'Status=OK, Loki=127.0.0.2:3100, Ready=ready, Version=3.7.8, Ring_Members=2, Ring_Active=1'));
    lokiLines.push(checkLine(d, i % 4 === 0
      ? 'CRITICAL: Ring member loki-2 (127.0.0.3:9095) is UNHEALTHY in the ingester ring, last heartbeat 75s ago, seen from 127.0.0.2:3100'
      : i % 4 === 1 ? 'ERROR: Ring member loki-2 (127.0.0.3:9095) is LEAVING in the ingester ring, seen from 127.0.0.2:3100'
        : 'Status=OK, Ring_Member=loki-2, State=ACTIVE, Address=127.0.0.3:9095'));
    if (i % 3 === 0) {
      for (const what of ['1 chunk flush failure(s) since the last check (loki_ingester_chunks_flush_failures_total): the store refused chunks, which stay in memory and the WAL',
        '2 object store request error(s) since the last check (S3.PutObject 2)', '1 rule evaluation failure(s) since the last check (fake: imom.yaml;imom-checks 1)',
        '1 alert notification error(s) and 1 dropped since the last check (http://127.0.0.1:9093/api/v2/alerts)']) lokiLines.push(checkLine(d, `ERROR: Loki member 127.0.0.2:3100 had ${what}`));
    }
  }
  files['kafka.log']!.push('a line from another writer, without a timestamp or level');
  return files;
}

function consoleFile(): string[] {
  const l = (s: number, level: string, msg: string) => springLine(at(s), level, 'http-nio-8081-exec-1', 'k.c.e.p.d.PayService', msg);
  const out: string[] = [];
  for (let i = 0; i < 40; i++) {
    const first = l(i * 3, i % 9 === 0 ? 'ERROR' : i % 4 === 0 ? 'WARN' : 'INFO', `"QHash":"${i % 2 ? H1 : H2}" took ${i}ms`);
    // Every tenth entry is a stack trace: its first line and four more, one entry.
    out.push(i % 10 !== 5 ? first : [first, 'java.lang.IllegalStateException: card declined', '\tat k.c.e.p.d.PayService.charge(PayService.java:88)',
      'Caused by: java.net.SocketTimeoutException: Read timed out', '\t... 42 more'].join('\n'));
  }
  // Boot 3's default (T and a zone), a comma before the milliseconds, T without a zone.
  const iso = at(125).toISOString().replace('Z', '+00:00');
  out.push(`${iso}  INFO 10788 --- [pay] [main] k.c.e.p.d.PayService : Boot 3 line`);
  out.push(l(126, 'DEBUG', 'comma line').replace(/\.(\d{3}) /, ',$1 '));
  out.push(`${at(127).toISOString().slice(0, 23)} ERROR 10788 --- [main] k.c.e.p.d.PayService : T without zone`);
  // A burst of ERROR entries, more than the app-errors rule allows in a minute (10).
  for (let i = 0; i < 12; i++) out.push(l(128 + i * 0.25, 'ERROR', `burst ${i}`));
  out.push(l(131, 'INFO', 'last entry'));
  return out;
}

const QUERY = [
  { QHash: H1, sql: 'select t1.uf_seq from pay_fee t1 where t1.ue_cd = ?', first_seen: at(1).toISOString() },
  { QHash: H2, sql: 'update pay_order set status = ? where order_id = ?', first_seen: at(2).toISOString() },
];

before(async () => {
  dir = tempDir('oc-vs-pt');
  const checks = join(dir, 'imom');
  const app = join(dir, 'app');
  mkdirSync(checks);
  mkdirSync(app);
  for (const [name, lines] of Object.entries(checkFiles())) writeFileSync(join(checks, name), lines.map((x) => x + '\n').join(''));
  writeFileSync(join(app, 'console.log'), consoleFile().map((x) => x + '\n').join(''));
  writeFileSync(join(app, 'query.log'), QUERY.map((q) => JSON.stringify(q) + '\n').join(''));
  loki = await startLoki({ env: { LOKI_AUTH_ENABLED: 'true' } });
  const shipper = {
    lokiUrl: loki.url, checkLogDir: checks, env: 'test', host: 'db.example.com', app: 'pay', appHost: 'pay.example.com', server: 'pay-01',
    consoleLog: join(app, 'console.log'), queryLog: join(app, 'query.log'),
  };
  [promtail, otelcol] = await Promise.all([startPromtail({ ...shipper, tenant: 'promtail' }), startOtelcol({ ...shipper, tenant: 'otelcol' })]);
  const checkLines = Object.values(checkFiles()).reduce((n, l) => n + l.length, 0);
  const consoleEntries = consoleFile().length;
  for (const tenant of TENANTS) {
    await waitForCount(loki.url, '{job="imom"}', checkLines, { tenant, start: base - 60_000 });
    await waitForCount(loki.url, '{job="pay", query="false"}', consoleEntries, { tenant, start: base - 60_000 });
    await waitForCount(loki.url, '{job="pay", query="true"}', QUERY.length, { tenant, start: base - 60_000 });
  }
  evalAt = Date.now();
});

after(async () => {
  await Promise.all([promtail?.close(), otelcol?.close()]);
  await loki?.close();
  removeDir(dir);
});

/** A line that does not start with its own timestamp carries the time its shipper read it. */
const LINE_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}/;
const entryKey = (e: LogEntry) =>
  JSON.stringify([Object.entries(e.labels).sort(), LINE_TIME.test(e.line) ? String(e.tsNs) : 'read time', e.line, e.metadata.qhash ?? null]);

async function logSet(logql: string, tenant: string): Promise<string[]> {
  return (await queryAll(loki.url, logql, { tenant, start: base - 60_000, end: evalAt })).map(entryKey).sort();
}

/** Equal sets, or a failure that shows the first differences only (a set may hold hundreds). */
function assertSame(otelcol: string[], promtail: string[], query: string): void {
  const p = new Set(promtail);
  const o = new Set(otelcol);
  const onlyO = otelcol.filter((x) => !p.has(x));
  const onlyP = promtail.filter((x) => !o.has(x));
  assert.deepEqual({ query, onlyOtelcol: onlyO.slice(0, 3), onlyPromtail: onlyP.slice(0, 3), sizes: [otelcol.length, promtail.length] },
    { query, onlyOtelcol: [], onlyPromtail: [], sizes: [promtail.length, promtail.length] });
}

/** A metric query evaluated every 15 s over the data (as the ruler would), as one set of (time, labels, value). */
async function vectors(logql: string, tenant: string): Promise<string[]> {
  const out: string[] = [];
  for (let t = base + 15_000; t <= evalAt; t += 15_000) {
    for (const s of await instantQuery(loki.url, logql, { tenant, time: t })) out.push(JSON.stringify([t, Object.entries(s.metric).sort(), s.value]));
  }
  return out.sort();
}

/** The log selectors of promtail/README.md and the searches the operators run. */
const LOG_QUERIES = [
  '{job="imom"}', '{job="imom", check="mysql"}', '{job="imom", check="mysql", instance="order-db"}', '{job="imom", level="CRITICAL"}',
  '{job="imom", check="heartbeat", instance="agent", level="OK"} |= "Agent=alive"',
  '{job="imom", env="test", host="db.example.com", level=~"ERROR|CRITICAL"}', '{job="imom", check="kafka"} |= "Total_Lag="',
  '{job="pay", query="false"}', '{job="pay", query!="true", level="ERROR"}', '{job="pay", query="false"} |= "SocketTimeoutException"',
  `{job="pay", query!="true"} |= "${H1}"`, '{job="pay", query="true"}', `{job="pay", query="true"} | qhash="${H2}"`,
  `{job="pay", query="true"} | json | QHash="${H1}"`,
];

/** Every expr of the dashboard, with Grafana's variables as the dashboard's "All" and a 10-minute range. */
function dashboardQueries(): string[] {
  const out: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) if (k === 'expr' && typeof v === 'string') out.push(v); else walk(v);
    }
  };
  walk(JSON.parse(readFileSync(join(REPO_ROOT, 'grafana', 'dashboards', 'imom-overview.json'), 'utf8')));
  return out.map((e) => e.replaceAll('$env', '.+').replaceAll('$host', '.+').replaceAll('$__range', '10m').replaceAll('$__interval', '1m'));
}

/** Every expr of every rule file the ruler loads (ruler/rules/fake/*.yaml). */
function ruleQueries(): string[] {
  const rdir = join(REPO_ROOT, 'ruler', 'rules', 'fake');
  const out: string[] = [];
  for (const f of readdirSync(rdir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const doc = parse(readFileSync(join(rdir, f), 'utf8')) as { groups?: { rules?: { expr?: string }[] }[] };
    for (const g of doc.groups ?? []) for (const r of g.rules ?? []) if (r.expr) out.push(r.expr);
  }
  return out;
}

const isLogQuery = (q: string) => q.trimStart().startsWith('{');

test('every operator selector returns the same (labels, ns timestamp, line, qhash) for Promtail and the collector', async (t) => {
  for (const q of LOG_QUERIES) {
    const [p, o] = [await logSet(q, 'promtail'), await logSet(q, 'otelcol')];
    assert.ok(p.length > 0, `${q} returns something`);
    assertSame(o, p, q);
  }
  t.diagnostic(`${LOG_QUERIES.length} selectors compared`);
});

test('every dashboard query and every ruler rule gives the same answer for both', async (t) => {
  const qs = [...dashboardQueries(), ...ruleQueries()];
  let nonEmpty = 0;
  for (const q of qs) {
    const [p, o] = isLogQuery(q) ? [await logSet(q, 'promtail'), await logSet(q, 'otelcol')] : [await vectors(q, 'promtail'), await vectors(q, 'otelcol')];
    if (p.length > 0) nonEmpty++;
    else t.diagnostic(`empty for both: ${q.replace(/\s+/g, ' ').slice(0, 160)}`);
    assertSame(o, p, q);
  }
  t.diagnostic(`${qs.length} queries compared, ${nonEmpty} of them non-empty`);
  assert.ok(nonEmpty >= qs.length / 2, 'most queries have data to compare');
});

test('the collector sets exactly Promtail\'s stream labels: no service_name, no file name; QHash is metadata', async () => {
  const all = await queryAll(loki.url, '{job=~".+"}', { tenant: 'otelcol', start: base - 60_000, end: evalAt });
  const names = new Set(all.flatMap((e) => Object.keys(e.labels)));
  assert.deepEqual([...names].sort(), ['check', 'env', 'host', 'instance', 'job', 'level', 'query', 'server']);
  // Besides qhash, Loki itself adds the OTLP record's observed time and the receiver's scope
  // (instrumentation name and version) as structured metadata; no label, no query uses them.
  const meta = new Set(all.flatMap((e) => Object.keys(e.metadata)));
  assert.deepEqual([...meta].sort(), ['observed_timestamp', 'qhash', 'scope_name', 'scope_version']);
  const traces = all.filter((e) => e.line.includes('\njava.lang.IllegalStateException'));
  assert.equal(traces.length, 4, 'four stack traces, each one entry');
  for (const e of traces) assert.equal(e.line.split('\n').length, 5, 'joined to its first line: 1 + 4 lines');
});

test('every loki/*.yaml indexes the same OTLP attributes as labels (limits_config.otlp_config as in loki.yaml)', () => {
  const ldir = join(REPO_ROOT, 'loki');
  // Read as Loki reads it with -config.expand-env (every variable at its default): loki-ha.yaml's
  // `[${LOKI_MEMBER_ADDRESS:-127.0.0.1}]` is YAML only once expanded.
  const otlpOf = (f: string) => (parse(expandVars(readFileSync(join(ldir, f), 'utf8'), {})) as { limits_config?: { otlp_config?: unknown } }).limits_config?.otlp_config;
  const want = otlpOf('loki.yaml');
  assert.ok(want, 'loki.yaml has limits_config.otlp_config');
  for (const f of readdirSync(ldir).filter((n) => /\.ya?ml$/.test(n))) assert.deepEqual(otlpOf(f), want, `${f}: limits_config.otlp_config`);
});
