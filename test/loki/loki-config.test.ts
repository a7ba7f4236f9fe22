/**
 * loki/loki.yaml runs as a real single-binary Loki; loki/loki-ha.yaml passes the real
 * binary's -verify-config as the main member and as a worker (it runs as a cluster in
 * loki-ha.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../../agent/src/stack/paths.js';
import { REPO_ROOT, run, tempDir, removeDir, waitFor } from '../harness/proc.js';
import { countLines, pushStreams, queryRange, series, startLoki, type LokiHandle } from '../harness/loki.js';

const LOKI = requireBinary('loki');
const HA = join(REPO_ROOT, 'loki', 'loki-ha.yaml');
const DEFAULT = join(REPO_ROOT, 'loki', 'loki.yaml');

// Placeholders only: verify-config parses and validates, it contacts nothing.
const HA_ENV = {
  ...process.env,
  LOKI_S3_ENDPOINT: 's3.example.invalid:9000',
  LOKI_S3_BUCKET: 'imom-chunks',
  LOKI_S3_RULER_BUCKET: 'imom-ruler',
  LOKI_S3_ACCESS_KEY_ID: 'placeholder-key',
  LOKI_S3_SECRET_ACCESS_KEY: 'placeholder-secret',
  LOKI_MEMBERLIST_JOIN: '127.0.0.1:7946, 127.0.0.1:7947, 127.0.0.1:7948',
};

test('loki-ha.yaml passes -verify-config as the main compactor and as a worker', async () => {
  for (const mode of ['main', 'worker']) {
    const r = await run(LOKI, ['-config.file', HA, '-config.expand-env=true', '-target=all', '-verify-config'], { env: { ...HA_ENV, LOKI_COMPACTOR_MODE: mode }, allowFail: true });
    assert.equal(r.code, 0, `mode ${mode}: ${r.stderr}`);
    assert.match(r.stderr, /config is valid/);
  }
});

test('loki-ha.yaml: object storage, RF 3, 91-day retention by the compactor, 31 days for the query log', async () => {
  const r = await run(LOKI, ['-config.file', HA, '-config.expand-env=true', '-target=all', '-verify-config', '-print-config-stderr'], { env: HA_ENV });
  const cfg = r.stderr;
  assert.match(cfg, /\n {2}retention_period: 13w\n/, '2184h = 13 weeks = 91 days');
  assert.match(cfg, /\n {2}retention_enabled: true\n/);
  assert.match(cfg, /retention_stream:\n\s+- period: 31d\n\s+priority: 1\n\s+selector: '\{query="true"\}'\n/);
  assert.match(cfg, /object_store: s3/);
  assert.match(cfg, /bucketnames: imom-chunks/);
  assert.match(cfg, /bucketnames: imom-ruler/);
  assert.match(cfg, /endpoint: s3\.example\.invalid:9000/);
  assert.match(cfg, /replication_factor: 3/);
  assert.match(cfg, /cluster_label: imom-loki-ha/);
  assert.match(cfg, /flush_on_shutdown: true/);
  assert.match(cfg, /allow_structured_metadata: true/);
  assert.ok(!cfg.includes('placeholder-secret'), 'the secret key is not printed');
});

test('verify-config is strict: an unknown field fails (so the checks above mean something)', async () => {
  const dir = tempDir('loki-bad');
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'limits_config:\n  retention_periodd: 1h\n');
    const r = await run(LOKI, ['-config.file', bad, '-verify-config'], { allowFail: true });
    assert.notEqual(r.code, 0);
    // The failure must be the misspelt key, not some other reason Loki could not start.
    assert.ok(r.stderr.includes(`failed parsing config: ${bad}: yaml: unmarshal errors:\n  line 2: field retention_periodd not found in type `), r.stderr);
  } finally {
    removeDir(dir);
  }
});

test('loki.yaml passes -verify-config with its defaults', async () => {
  const r = await run(LOKI, ['-config.file', DEFAULT, '-config.expand-env=true', '-verify-config'], { allowFail: true });
  assert.equal(r.code, 0, r.stderr);
});

let loki: LokiHandle;
let rulesDir: string;

before(async () => {
  rulesDir = tempDir('loki-rules');
  mkdirSync(join(rulesDir, 'fake'));
  writeFileSync(join(rulesDir, 'fake', 'probe.yaml'), [
    'groups:',
    '  - name: probe',
    '    interval: 5s',
    '    rules:',
    '      - alert: ProbeAlways',
    '        expr: vector(1) > 0',
    '        labels: { severity: info }',
    '',
  ].join('\n'));
  loki = await startLoki({ rulesDir, alertmanagerUrl: 'http://127.0.0.1:9' });
});

after(async () => {
  await loki?.close();
  removeDir(rulesDir);
});

test('loki.yaml: running config has filesystem storage, compactor retention, ruler, structured metadata', async () => {
  const cfg = await (await fetch(`${loki.url}/config`)).text();
  assert.match(cfg, /object_store: filesystem/);
  assert.match(cfg, /\n {2}retention_enabled: true\n/);
  assert.match(cfg, /\n {2}retention_period: 31d\n|\n {2}retention_period: 744h\n|\n {2}retention_period: 4w3d\n/);
  assert.match(cfg, /allow_structured_metadata: true/);
  assert.match(cfg, /alertmanager_url: http:\/\/127\.0\.0\.1:9\n/);
  assert.ok(cfg.includes(`directory: ${loki.dataDir}/chunks`), 'chunks in the data folder');
  assert.match(cfg, /http_listen_address: 127\.0\.0\.1/, 'loopback only');
});

test('loki.yaml: the ruler loads rule files from the rules folder', async () => {
  const groups = await waitFor(async () => {
    const j = (await (await fetch(`${loki.url}/prometheus/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string }[] }[] } };
    return j.data.groups.length > 0 ? j.data.groups : undefined;
  }, 30_000, 'ruler groups');
  assert.deepEqual(groups.map((g) => g.name), ['probe']);
  assert.equal(groups[0]!.rules[0]!.name, 'ProbeAlways');
});

test('loki.yaml: streams keep exactly their labels (no service_name), structured metadata is kept apart', async () => {
  const now = Date.now();
  await pushStreams(loki.url, [{
    labels: { job: 'pay', env: 'prod', host: 'pay.example.com', server: 'pay-01', query: 'true' },
    entries: [[now, '{"QHash":"8c6b7778672a4222bf18d91a035cd86e","sql":"select ?"}', { qhash: '8c6b7778672a4222bf18d91a035cd86e' }]],
  }]);
  const s = await series(loki.url, '{job="pay"}');
  assert.deepEqual(s, [{ job: 'pay', env: 'prod', host: 'pay.example.com', server: 'pay-01', query: 'true' }]);
  const e = await queryRange(loki.url, '{job="pay"} | qhash="8c6b7778672a4222bf18d91a035cd86e"');
  assert.equal(e.length, 1);
  assert.deepEqual(e[0]!.metadata, { qhash: '8c6b7778672a4222bf18d91a035cd86e' });
  assert.equal(e[0]!.labels.qhash, undefined);
});

test('loki.yaml: a 20 MB burst on one stream is accepted at once (beyond the default 6 MB tenant burst)', async () => {
  const base = Date.now() - 60_000;
  const pad = 'x'.repeat(180);
  const pushes = [0, 1, 2, 3].map((k) => {
    const entries: [number, string][] = [];
    for (let i = k * 25_000; i < (k + 1) * 25_000; i++) entries.push([base + i / 100, `2024-09-02 08:35:21 | Status=OK, seq=${i}, ${pad}`]);
    return pushStreams(loki.url, [{ labels: { job: 'burst', env: 'dev' }, entries }]);
  });
  await Promise.all(pushes);
  assert.equal(await countLines(loki.url, '{job="burst"}'), 100_000);
});

test('loki.yaml: lines survive a kill -9 of Loki (WAL replay)', async () => {
  const now = Date.now();
  await pushStreams(loki.url, [{ labels: { job: 'wal', env: 'dev' }, entries: Array.from({ length: 1000 }, (_, i) => [now + i, `wal line ${i}`] as const) }]);
  await loki.kill();
  await loki.restart();
  assert.equal(await countLines(loki.url, '{job="wal"}'), 1000);
});
