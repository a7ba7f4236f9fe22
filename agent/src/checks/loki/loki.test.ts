import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoki, pushStreams, type LokiHandle } from '../../../../test/harness/loki.js';
import { freePort, removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { startBlackhole } from '../../../../test/harness/redis.js';
import { testPki } from '../../../../test/harness/pki.js';
import { clientTlsConfig, lokiTls } from '../../../../test/harness/loki-tls.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';
import { flushFailureLine, lokiCycler as cycler, storeErrorLine } from '../../../../test/harness/loki-check.js';
import { formatLine } from '../../core/format.js';
import { lokiCheck } from './index.js';
import { ringEntries } from './check.js';
import { parseSamples } from './exposition.js';
import { memberLines, metricsView, METRIC_NAMES, ringLines, type Counters, type MemberSnapshot } from './lines.js';

const text = (l: ReturnType<typeof memberLines>[number]) =>
  formatLine('fields' in l ? { check: 'loki', instance: 'i', target: 't', time: new Date(), status: l.status, fields: l.fields } : { check: 'loki', instance: 'i', target: 't', time: new Date(), status: l.status, message: l.message });

test('exposition: only the asked metrics, labels with escapes, timestamps and odd values', () => {
  const page = [
    '# HELP loki_ingester_chunks_flush_failures_total Total number of flush failures.',
    '# TYPE loki_ingester_chunks_flush_failures_total counter',
    'loki_ingester_chunks_flush_failures_total 7',
    'loki_prometheus_rule_evaluation_failures_total{rule_group="/rules/fake/a.yaml;g \\"x\\"",user="fake"} 3 1700000000000',
    'loki_prometheus_notifications_errors_total{alertmanager="http://127.0.0.1:1/api/v2/alerts",user="fake"} +Inf',
    'loki_other_total{a="b"} 9',
    'loki_build_info{branch="",goversion="go1.25",revision="abc",version="3.7.8"} 1',
    'loki_s3_request_duration_seconds_count{operation="S3.PutObject",status_code="500"} 2',
    'loki_s3_request_duration_seconds_count{operation="S3.PutObject",status_code="200"} 40',
    'loki_objstore_bucket_operation_failures_total{bucket="chunks",operation="upload"} 1',
    'loki_objstore_bucket_operation_failures_total{broken="no end',
    '',
  ].join('\n');
  const s = parseSamples(page, METRIC_NAMES);
  assert.equal(s.has('loki_other_total'), false);
  assert.deepEqual(s.get('loki_prometheus_rule_evaluation_failures_total'), [{ labels: { rule_group: '/rules/fake/a.yaml;g "x"', user: 'fake' }, value: 3 }]);
  assert.equal(s.get('loki_prometheus_notifications_errors_total')?.[0]?.value, Infinity);
  const v = metricsView(s);
  assert.equal(v.version, '3.7.8');
  assert.equal(v.counters.flushFailures, 7);
  assert.deepEqual(v.counters.storeErrors, { upload: 1, 'S3.PutObject': 2 });
  assert.deepEqual(v.counters.ruleFailures, { 'fake: a.yaml;g "x"': 3 });
});

describe('lines from plain snapshots (every line of README.md)', () => {
  const zero: Counters = { startTime: 100, flushFailures: 0, storeErrors: {}, ruleFailures: {}, notifyErrors: {}, notifyDropped: {} };
  const snap = (o: Partial<MemberSnapshot> = {}, counters: Partial<Counters> = {}): MemberSnapshot => ({
    member: '10.100.50.11:3100', ready: { status: 200, text: 'ready\n' },
    ring: [{ id: 'loki-1', state: 'ACTIVE', address: '10.100.50.11:9095', heartbeatAgeS: 1 }],
    metrics: { version: '3.7.8', counters: { ...zero, ...counters } }, ...o,
  });

  test('ready, ring counted; no counter line on the first cycle', () => {
    assert.deepEqual(memberLines(snap({}, { flushFailures: 5 }), undefined).map(text),
      ['Status=OK, Loki=10.100.50.11:3100, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1']);
  });

  test('not ready, /metrics or /ring unreadable: worst last, no OK line', () => {
    assert.deepEqual(memberLines(snap({ ready: { status: 503, text: 'Ingester not ready: waiting for 15s after being ready\n' }, metrics: '/metrics answered HTTP 500: boom' }), zero).map(text), [
      'ERROR: Loki member 10.100.50.11:3100 did not give its metrics (/metrics answered HTTP 500: boom)',
      'CRITICAL: Loki member 10.100.50.11:3100 is not ready (HTTP 503: Ingester not ready: waiting for 15s after being ready)',
    ]);
    assert.deepEqual(memberLines(snap({ ring: '/ring answered HTTP 404: 404 page not found' }), zero).map(text),
      ['ERROR: Loki member 10.100.50.11:3100 did not give the ring (/ring answered HTTP 404: 404 page not found)']);
  });

  test('each grown counter is one line after the state line; a new process is a new baseline', () => {
    const now = { flushFailures: 3, storeErrors: { 'S3.PutObject': 4 }, ruleFailures: { 'fake: imom.yaml;imom-checks': 2 }, notifyErrors: { 'http://127.0.0.1:9093/api/v2/alerts': 5 }, notifyDropped: { 'http://127.0.0.1:9093/api/v2/alerts': 5 } };
    assert.deepEqual(memberLines(snap({}, now), { ...zero, flushFailures: 1 }).map(text), [
      'Status=OK, Loki=10.100.50.11:3100, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1',
      'ERROR: Loki member 10.100.50.11:3100 had 2 chunk flush failure(s) since the last check (loki_ingester_chunks_flush_failures_total): the store refused chunks, which stay in memory and the WAL',
      'ERROR: Loki member 10.100.50.11:3100 had 4 object store request error(s) since the last check (S3.PutObject 4)',
      'ERROR: Loki member 10.100.50.11:3100 had 2 rule evaluation failure(s) since the last check (fake: imom.yaml;imom-checks 2)',
      'ERROR: Loki member 10.100.50.11:3100 had 5 alert notification error(s) and 5 dropped since the last check (http://127.0.0.1:9093/api/v2/alerts)',
    ]);
    // Restarted (another start time): a new baseline, no line; a counter that went down without a
    // known restart is a reset: its whole value is the increase.
    assert.equal(memberLines(snap({}, { startTime: 200, flushFailures: 1 }), { ...zero, flushFailures: 9 }).length, 1);
    const lines = memberLines(snap({}, { startTime: undefined, flushFailures: 1 }), { ...zero, startTime: undefined, flushFailures: 9 }).map(text);
    assert.match(lines[1]!, / had 1 chunk flush failure\(s\)/);
    // Unchanged counters: the OK line alone.
    assert.equal(memberLines(snap({}, now), { ...zero, ...now }).length, 1);
  });

  test('ring: OK per ACTIVE member, CRITICAL when UNHEALTHY, ERROR in passing states', () => {
    assert.deepEqual(ringLines('10.100.50.11:3100', [
      { id: 'loki-2', state: 'UNHEALTHY', address: '10.100.50.12:9095', heartbeatAgeS: 75.4 },
      { id: 'loki-1', state: 'ACTIVE', address: '10.100.50.11:9095', heartbeatAgeS: 1 },
      { id: 'loki-3', state: 'LEAVING', address: '10.100.50.13:9095', heartbeatAgeS: undefined },
    ]).map(text), [
      'Status=OK, Ring_Member=loki-1, State=ACTIVE, Address=10.100.50.11:9095',
      'CRITICAL: Ring member loki-2 (10.100.50.12:9095) is UNHEALTHY in the ingester ring, last heartbeat 75s ago, seen from 10.100.50.11:3100',
      'ERROR: Ring member loki-3 (10.100.50.13:9095) is LEAVING in the ingester ring, seen from 10.100.50.11:3100',
    ]);
  });

  test('config: one URL or a list, no path added, tls needs https, no member twice', () => {
    const one = lokiCheck.schema.parse({ name: 'l', url: 'http://10.100.50.11:3100/' });
    assert.deepEqual(one.url, [{ base: 'http://10.100.50.11:3100', hostPort: '10.100.50.11:3100', text: 'http://10.100.50.11:3100/' }]);
    assert.equal(one.ring, true);
    const bad = (v: Record<string, unknown>) => {
      const r = lokiCheck.schema.safeParse({ name: 'l', ...v });
      assert.ok(!r.success);
      return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(bad({ url: ['http://a:3100', 'http://a:3100/'] }), ['url.1: duplicate Loki member a:3100']);
    assert.deepEqual(bad({ url: 'http://a:3100', tls: { insecure_skip_verify: true } }), ['tls: tls is set but a url is http://: use https:// URLs']);
    assert.deepEqual(bad({ url: 'http://a:3100', ring_members: 3 }), [': Unrecognized key: "ring_members"']);
  });
});

/**
 * Makes the member's chunk writes fail for real: root ignores chmod, so the chunks directory is
 * replaced by a regular file (every Put fails with ENOTDIR); then a line and a flush of it.
 */
async function failFlushes(loki: LokiHandle, chunks: string): Promise<void> {
  rmSync(chunks, { recursive: true, force: true });
  writeFileSync(chunks, 'not a directory\n');
  await pushStreams(loki.url, [{ labels: { job: 'loki-check-flush' }, entries: [[Date.now(), 'a line to flush']] }]);
  const flush = await fetch(`${loki.url}/flush`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.equal(flush.status, 204);
}

describe('loki check against a real single-binary Loki 3.7.8', () => {
  let loki: LokiHandle;
  let dir: string;
  let check: Awaited<ReturnType<typeof cycler>>;
  let member: string;
  const started = Date.now();

  before(async () => {
    dir = tempDir('loki-check');
    // A closed port: the ruler's notifications to it fail (nothing listens; freePort closed it again).
    const closed = await freePort();
    loki = await startLoki({
      alertmanagerUrl: `http://127.0.0.1:${closed}`,
      env: { LOKI_RULER_POLL_INTERVAL: '1s', LOKI_RULER_EVALUATION_INTERVAL: '1s' },
    });
    member = `127.0.0.1:${loki.port}`;
    check = await cycler(dir, { url: loki.url });
  });

  after(async () => {
    await check?.close();
    await loki?.close();
    if (dir) removeDir(dir);
    console.log(`loki.test.ts real-server part: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('healthy: the member is ready and its ring (itself) ACTIVE; `imom check --once` exits 0', async () => {
    const lines = await check.cycle();
    assert.deepEqual(lines.map((l) => l.replace(/Ring_Member=[^,]+/, 'Ring_Member=ID')), [
      `Status=OK, Loki=${member}, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1`,
      `Status=OK, Ring_Member=ID, State=ACTIVE, Address=127.0.0.1:${loki.grpcPort}`,
    ]);
    assert.deepEqual(await check.cycle(), lines, 'a second healthy cycle: the same lines, no counter line');
    const r = await checkOnce(checkConfig(dir, `  loki:\n    - name: logs\n      url: ${loki.url}`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines.join('\n'), new RegExp(`^Status=OK, Loki=${member}, Ready=ready, Version=3\\.7\\.8`, 'm'));
    // The counters kept for the next `--once` (common/memo.ts): one small JSON file per member.
    const memo = JSON.parse(readFileSync(join(dir, 'state', 'loki', 'logs', `counters-127.0.0.1_${loki.port}.json`), 'utf8')) as { flushFailures: number; startTime: number };
    assert.equal(memo.flushFailures, 0);
    assert.ok(memo.startTime > 1.7e9, String(memo.startTime));
  });

  test('killed (-9): the member is unreachable (CRITICAL); restarted: OK again', async () => {
    await loki.kill();
    assert.deepEqual(await check.cycle(), [`CRITICAL: Loki member ${member} is unreachable (connect ECONNREFUSED ${member})`]);
    const r = await checkOnce(checkConfig(dir, `  loki:\n    - name: logs\n      url: ${loki.url}`));
    assert.equal(r.code, 1, 'a CRITICAL line: exit 1');
    await loki.restart();
    const lines = await check.cycle();
    assert.equal(lines[0], `Status=OK, Loki=${member}, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1`);
    assert.equal(lines.length, 2, lines.join('\n'));
  });

  test('ruler: an alert to a closed Alertmanager port is a notification-failure line; a failing rule an evaluation-failure line', async () => {
    // A numeric unwrap of a value that is not a number: the query fails at every evaluation
    // (pipeline error SampleExtractionErr).
    await pushStreams(loki.url, [{ labels: { job: 'loki-check-test' }, entries: [[Date.now(), 'value=not-a-number']] }]);
    const rules = join(loki.dataDir, 'rules', 'fake');
    mkdirSync(rules, { recursive: true });
    writeFileSync(join(rules, 'loki-check-test.yaml'), `groups:
  - name: always
    interval: 1s
    rules:
      - alert: LokiCheckTestAlways
        expr: vector(1) > 0
  - name: broken
    interval: 1s
    rules:
      - record: loki_check_test:unwrap
        expr: sum(rate({job="loki-check-test"} | logfmt | unwrap value [5m]))
`);
    const seen: string[] = [];
    const t0 = Date.now();
    const firstSeen: Record<string, number> = {};
    // The notifier resends a firing alert every minute (ruler.resend_delay): 3 minutes is room for a busy machine.
    await waitFor(async () => {
      seen.push(...(await check.cycle()));
      for (const what of ['alert notification error(s)', 'rule evaluation failure(s)']) if (firstSeen[what] === undefined && seen.some((l) => l.includes(what))) firstSeen[what] = (Date.now() - t0) / 1000;
      return Object.keys(firstSeen).length === 2;
    }, 180_000, 'the notification and evaluation failure lines', 1_000);
    const notify = seen.find((l) => l.includes('alert notification error(s)'))!;
    assert.match(notify, new RegExp(`^ERROR: Loki member ${member} had \\d+ alert notification error\\(s\\) and \\d+ dropped since the last check \\(http://127\\.0\\.0\\.1:\\d+/api/v2/alerts\\)$`));
    assert.match(seen.find((l) => l.includes('rule evaluation failure(s)'))!,
      new RegExp(`^ERROR: Loki member ${member} had \\d+ rule evaluation failure\\(s\\) since the last check \\(fake: loki-check-test\\.yaml;broken \\d+\\)$`));
    console.log(`ruler lines after ${JSON.stringify(firstSeen)} s: ${notify}`);
    rmSync(join(rules, 'loki-check-test.yaml'));
  });

  test('flush: a chunks directory that cannot be written (a regular file in its place) is a flush-failure line', async () => {
    const chunks = join(loki.dataDir, 'chunks');
    await failFlushes(loki, chunks);
    const seen: string[] = [];
    const line = await waitFor(async () => {
      const lines = await check.cycle();
      seen.push(...lines);
      return lines.find((l) => l.includes('chunk flush failure(s)'));
    }, 60_000, 'the flush failure line', 1_000);
    assert.match(line, flushFailureLine(member));
    // The member itself stays ready: the flush line is the only sign.
    assert.ok(seen.every((l) => !l.startsWith('CRITICAL:')), seen.join('\n'));
    // Put the directory back so that close() stops a Loki that can flush on shutdown.
    rmSync(chunks, { force: true });
    mkdirSync(chunks);
  });

  test('several members: the first ready one reports the ring, once; a silent one times out; a reply over max_reply_bytes', async () => {
    const closed = await freePort();
    const bh = await startBlackhole();
    const two = await cycler(join(dir, 'two'), { url: [`http://127.0.0.1:${closed}`, loki.url, `http://127.0.0.1:${bh.port}`] }, 1_000);
    try {
      await two.cycle();
      // From the second cycle on, the unreachable first member is known: the second one reports.
      const lines = (await two.cycle()).sort();
      assert.deepEqual(lines.map((l) => l.replace(/Ring_Member=[^,]+/, 'Ring_Member=ID')), [
        `CRITICAL: Loki member 127.0.0.1:${bh.port} is unreachable (timeout after 1s)`,
        `CRITICAL: Loki member 127.0.0.1:${closed} is unreachable (connect ECONNREFUSED 127.0.0.1:${closed})`,
        `Status=OK, Loki=${member}, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1`,
        `Status=OK, Ring_Member=ID, State=ACTIVE, Address=127.0.0.1:${loki.grpcPort}`,
      ].sort());
    } finally {
      await two.close();
      await bh.close();
    }
    const small = await cycler(join(dir, 'small'), { url: loki.url, max_reply_bytes: 1024 });
    try {
      assert.deepEqual(await small.cycle(), [
        `ERROR: Loki member ${member} did not give its metrics (reply over 1024 bytes)`,
        `ERROR: Loki member ${member} did not give the ring (reply over 1024 bytes)`,
      ]);
    } finally {
      await small.close();
    }
  });

  test('/ring JSON of the real member parses into its entry', async () => {
    const r = await fetch(`${loki.url}/ring`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    const entries = ringEntries(await r.json());
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.state, 'ACTIVE');
    assert.equal(entries[0]!.address, `127.0.0.1:${loki.grpcPort}`);
    const page = await (await fetch(`${loki.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    console.log(`/metrics: ${page.length} bytes, ${page.split('\n').filter((l) => l && !l.startsWith('#')).length} samples; /ring entry: ${JSON.stringify(entries[0])}`);
  });
});

describe('loki check against a real Loki 3.7.8 behind mutual TLS (loki/loki-tls.yaml)', () => {
  let loki: LokiHandle;
  let dir: string;
  let pki: Awaited<ReturnType<typeof testPki>>;

  before(async () => {
    dir = tempDir('loki-check-tls');
    pki = await testPki();
    loki = await startLoki({ tls: lokiTls(pki) });
  });

  after(async () => {
    await loki?.close();
    if (dir) removeDir(dir);
  });

  test('with the CA and a client certificate: OK; one ending in 3 days: OK and the expiry ERROR; none: unreachable, in words', async () => {
    const member = `127.0.0.1:${loki.port}`;
    const ok = await cycler(join(dir, 'ok'), { url: loki.url, tls: { ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile } });
    const soon = await cycler(join(dir, 'soon'), { url: loki.url, tls: { ca_file: pki.caFile, cert_file: pki.soonExpiringClient.certFile, key_file: pki.soonExpiringClient.keyFile } });
    const none = await cycler(join(dir, 'none'), { url: loki.url, tls: { ca_file: pki.caFile } });
    try {
      assert.equal(clientTlsConfig(pki).ca_file, pki.caFile);
      const lines = await ok.cycle();
      assert.equal(lines[0], `Status=OK, Loki=${member}, Ready=ready, Version=3.7.8, Ring_Members=1, Ring_Active=1`);
      assert.equal(lines.length, 2, lines.join('\n'));
      const soonLines = await soon.cycle();
      assert.equal(soonLines[0], lines[0]);
      assert.match(soonLines.at(-1)!, new RegExp(`^ERROR: TLS certificate ${pki.soonExpiringClient.certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(CN=imom-agent.*\\) expires .*, in \\d+ (days|hours?)$`));
      const refused = await none.cycle();
      assert.equal(refused.length, 1, refused.join('\n'));
      assert.match(refused[0]!, new RegExp(`^CRITICAL: Loki member ${member} is unreachable \\(TLS handshake failed: Loki requires a client certificate`));
      console.log(`TLS lines: ${soonLines.at(-1)} | ${refused[0]}`);
    } finally {
      await Promise.all([ok.close(), soon.close(), none.close()]);
    }
  });
});

describe('loki check against a real Loki 3.7.8 on the Thanos object store client (use_thanos_objstore, filesystem bucket)', () => {
  let loki: LokiHandle;
  let dir: string;

  before(async () => {
    dir = tempDir('loki-check-thanos');
    const dataDir = join(dir, 'loki');
    // The client loki/README.md names for S3 stores that refuse the default client's uploads.
    loki = await startLoki({ dataDir, extraArgs: ['-use-thanos-objstore=true', `-object-store.filesystem.dir=${join(dataDir, 'chunks')}`] });
  });

  after(async () => {
    await loki?.close();
    if (dir) removeDir(dir);
  });

  test('an upload the store refuses is a flush-failure line and an object store line naming the operation', async () => {
    const member = `127.0.0.1:${loki.port}`;
    const check = await cycler(dir, { url: loki.url });
    try {
      assert.equal((await check.cycle()).length, 2, 'the baseline: OK and the ring');
      const chunks = join(loki.dataDir, 'chunks');
      await failFlushes(loki, chunks);
      const seen: string[] = [];
      await waitFor(async () => {
        seen.push(...(await check.cycle()));
        return seen.some((l) => l.includes('chunk flush failure(s)')) && seen.some((l) => l.includes('object store request error(s)'));
      }, 60_000, 'the flush and object store lines', 1_000);
      const store = seen.find((l) => l.includes('object store request error(s)'))!;
      assert.match(store, storeErrorLine(member, 'upload'));
      console.log(`thanos objstore: ${store}`);
      rmSync(chunks, { force: true });
      mkdirSync(chunks);
    } finally {
      await check.close();
    }
  });
});
