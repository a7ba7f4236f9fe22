/**
 * loki/loki-ha.yaml as a real cluster: versitygw over a folder, three members -target=all with
 * replication factor 3, nginx in front (test/harness/loki-ha.ts). One cluster for the file;
 * every count is read through nginx. The cluster runs the retention test's overrides (a runtime
 * config turning reject_old_samples off, compaction and delete delays of seconds), which change
 * nothing for the other tests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { ringStatus } from '../../agent/src/stack/ha.js';
import { objectsUnder, startLokiHa, type LokiHaHandle } from '../harness/loki-ha.js';
import { pushStreams, queryAll, queryRange, startPromtail, waitForCount, type PromtailHandle } from '../harness/loki.js';
import { tempDirs, waitFor } from '../harness/proc.js';
import { directCount, directLoad } from './ha-util.js';
import { account, ranges, writeNumbered } from '../promtail/util.js';

const DAY = 86_400_000;
const dirs = tempDirs('loki-ha-test');
let ha: LokiHaHandle;
let promtail: PromtailHandle | undefined;
let runtime: string;
/**
 * Test-only limits (a runtime config, re-read every 2 s): back-dated lines (92 and 40 days old)
 * are refused by reject_old_samples (168h); and until the retention test says so, retention is
 * off (period 0), so the lines are shown in the bucket and in queries before it deletes them,
 * whatever the compactor's 5 s timer does meanwhile.
 */
const overrides = (retention: boolean) => writeFileSync(runtime, `overrides:\n  fake:\n    reject_old_samples: false\n${retention ? '' : '    retention_period: 0s\n    retention_stream: []\n'}`);

before(async () => {
  runtime = join(dirs.make(), 'runtime.yaml');
  overrides(false);
  ha = await startLokiHa({
    env: { LOKI_RUNTIME_CONFIG: runtime, LOKI_COMPACTION_INTERVAL: '5s', LOKI_RETENTION_DELETE_DELAY: '5s', LOKI_INDEX_RESYNC_INTERVAL: '5s', LOKI_INDEX_CACHE_VALIDITY: '5s' },
  });
});

after(async () => {
  await promtail?.close();
  await ha?.close();
  dirs.removeAll();
});

async function metric(url: string, name: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const re = new RegExp(`^${name}(?:\\{[^}]*tenant="fake"[^}]*\\})? (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

test('three ACTIVE members in the ring, each one seeing all three', async () => {
  for (const m of ha.members) {
    const r = await ringStatus(m.url);
    assert.deepEqual(r.map((x) => [x.id, x.state, x.unhealthy]), [['loki-1', 'ACTIVE', false], ['loki-2', 'ACTIVE', false], ['loki-3', 'ACTIVE', false]], `ring as ${m.id} sees it`);
  }
  // The compactor: loki-1 alone runs in main mode, so it alone is in the compactor ring.
  const cr = await ringStatus(ha.members[0]!.url, '/compactor/ring');
  assert.deepEqual(cr.map((x) => x.id), ['loki-1']);
});

test('a push is accepted on every member, and each stream has three replicas', async () => {
  const now = Date.now();
  for (const [i, m] of ha.members.entries()) {
    await pushStreams(m.url, Array.from({ length: 5 }, (_, k) => ({
      labels: { job: 'replicas', env: 'test', host: `via-${m.id}`, instance: `s${k}` },
      entries: [[now + i, `line ${k} pushed to ${m.id}`]] as const,
    })));
  }
  const got = await queryAll(ha.url, '{job="replicas"}');
  assert.equal(got.length, 15);
  // Every member's ingester holds all 15 streams: replication factor 3 over 3 members.
  for (const m of ha.members) assert.equal(await metric(m.url, 'loki_ingester_memory_streams'), 15, `${m.id} holds every stream`);
});

test('kill -9 of one member while the direct push and Promtail write 100,000 lines, then a restart: 0 lost, 0 twice through nginx', { timeout: 600_000 }, async () => {
  const dir = dirs.make();
  const N = 50_000;
  const checkLogDir = join(dir, 'checks');
  mkdirSync(checkLogDir);
  promtail = await startPromtail({ lokiUrl: ha.url, checkLogDir, env: 'test', host: 'ha-promtail', dataDir: join(dir, 'promtail') });
  // ~10,000 lines/s from each, so both are mid-run when the member dies and keep writing while it is down.
  const direct = directLoad({ url: ha.url, dir, host: 'ha-push', count: N });
  const file = writeNumbered(join(checkLogDir, 'mysql.log'), { tag: 'pt', count: N, batch: 500, pauseMs: 50 });
  await waitForCount(ha.url, '{job="imom", host=~"ha-push|ha-promtail"}', 10_000, { timeoutMs: 120_000 });
  const victim = ha.members[1]!;
  await victim.kill();
  await Promise.all([direct.done, file]);
  await victim.start();
  await ha.waitActive();
  assert.equal(await direct.drain(), N, 'the direct push delivered everything');
  await waitForCount(ha.url, '{job="imom", host="ha-promtail"}', N, { timeoutMs: 180_000 });

  const { returned, lost, dup } = await directCount(ha.url, 'ha-push', N);
  const tailed = account(await queryAll(ha.url, '{job="imom", host="ha-promtail"}', { start: Date.now() - 3_600_000 }), 'pt', 0, N);
  console.log(`# kill -9 of ${victim.id}: direct push ${returned} returned, ${lost.length} lost, ${dup.length} twice; Promtail ${tailed.received} returned, ${tailed.missing.length} lost, ${tailed.duplicated.length} twice`);
  assert.deepEqual({ lost: lost.length, dup: dup.length, total: returned }, { lost: 0, dup: 0, total: N }, `direct push lost ${ranges(lost)}`);
  assert.deepEqual({ lost: tailed.missing.length, dup: tailed.duplicated.length, total: tailed.received }, { lost: 0, dup: 0, total: N },
    `Promtail lost ${ranges(tailed.missing)}, twice ${ranges(tailed.duplicated)}`);
  await promtail.close();
  promtail = undefined;
});

// ---- data in the bucket: the Explore queries over the store, and 91-day retention

const T0 = Date.now();
const APP = { env: 'prod', job: 'pay', host: 'pay.example.com', server: 'pay-01' };
const QHASHES = ['8c6b7778672a4222bf18d91a035cd86e', '1f0e3dad99908345f7439f8ffabdffc4', 'c4ca4238a0b923820dcc509a6f75849b'];
/** Back-dated streams, by age: the first past 91 days, the query log's past its 31 days. */
const AGED = {
  old: { labels: { job: 'retention', env: 'test', age: 'old' }, at: T0 - 92 * DAY, gone: true },
  qlog: { labels: { job: 'retention', env: 'test', age: 'qlog', query: 'true' }, at: T0 - 40 * DAY, gone: true },
  keep: { labels: { job: 'retention', env: 'test', age: 'keep', query: 'false' }, at: T0 - 45 * DAY, gone: false },
  recent: { labels: { job: 'retention', env: 'test', age: 'recent' }, at: T0 - 2 * DAY, gone: false },
} as const;
const PER_STREAM = 200;

/** The chunk objects whose first entry is within a day of `at` (a chunk key is <tenant>/<fingerprint>/<from hex>:<through hex>:<checksum>). */
function chunksNear(at: number): string[] {
  return objectsUnder(ha.chunksDir).filter((k) => {
    const m = /^fake\/[0-9a-f]+\/([0-9a-f]+):[0-9a-f]+:[0-9a-f]+$/.exec(k);
    return m !== null && Math.abs(parseInt(m[1]!, 16) - at) < DAY;
  });
}

function window(at: number) {
  return { start: at - 60_000, end: at + PER_STREAM * 1000 + 60_000 };
}

test('the Explore queries return the right lines from the bucket: flushed, members restarted on empty WALs', { timeout: 300_000 }, async () => {
  const console_: [number, string][] = [];
  const queries: [number, string, Record<string, string>][] = [];
  for (let i = 0; i < 600; i++) {
    console_.push([T0 - 600_000 + i * 100, `2024-09-02 08:35:21.${String(i % 1000).padStart(3, '0')}  INFO 4120 --- [main] c.e.pay.Api : request ${i} done`]);
    const q = QHASHES[i % 3]!;
    queries.push([T0 - 600_000 + i * 100, `{"QHash":"${q}","n":${i},"sql":"select * from orders where id = ?"}`, { qhash: q }]);
  }
  await pushStreams(ha.url, [
    { labels: { ...APP, query: 'false' }, entries: console_ },
    { labels: { ...APP, query: 'true' }, entries: queries },
    // Another server's lines, which the selector must leave out.
    { labels: { ...APP, server: 'pay-02', query: 'false' }, entries: [[T0 - 300_000, 'request on pay-02']] },
  ]);
  for (const a of Object.values(AGED)) {
    await pushStreams(ha.url, [{ labels: a.labels, entries: Array.from({ length: PER_STREAM }, (_, i) => [a.at + i * 1000, `aged ${a.labels.age} ${i}`] as const) }]);
  }

  // Flush, stop every member (flush_on_shutdown, the TSDB head built and uploaded), empty each
  // WAL and remove its local index, start again: whatever the queries return now comes from the
  // bucket. (A member would otherwise upload its local index files again after the start, and
  // the compactor's retention would have to sweep them a second time.)
  await ha.flush();
  await Promise.all(ha.members.map((m) => m.stop()));
  for (const m of ha.members) for (const d of ['wal', 'tsdb-index', 'tsdb-cache']) rmSync(join(m.dataDir, d), { recursive: true, force: true });
  const objects = objectsUnder(ha.chunksDir);
  assert.ok(objects.some((k) => k.startsWith('fake/')), 'chunks in the bucket folder');
  assert.ok(objects.some((k) => k.startsWith('index/')), 'TSDB index in the bucket folder');
  for (const a of Object.values(AGED)) assert.ok(chunksNear(a.at).length > 0, `chunks of the ${a.labels.age} stream in the bucket`);
  await Promise.all(ha.members.map((m) => m.start()));
  await ha.waitActive();
  for (const m of ha.members) assert.equal(await metric(m.url, 'loki_ingester_memory_streams'), 0, `${m.id} starts empty`);

  const sel = `{env="prod", query!="true", job="pay", host="pay.example.com", server="pay-01"}`;
  const got = await queryAll(ha.url, sel, { start: T0 - 3_600_000 });
  assert.deepEqual(got.map((e) => e.line), console_.map(([, l]) => l));
  for (const q of QHASHES) {
    const hits = await queryAll(ha.url, `{env="prod", query="true", job="pay", host="pay.example.com", server="pay-01"} |= "${q}"`, { start: T0 - 3_600_000 });
    assert.deepEqual(hits.map((e) => e.line), queries.filter(([, , m]) => m.qhash === q).map(([, l]) => l), `|= "${q}"`);
    assert.ok(hits.every((e) => e.metadata.qhash === q), 'QHash is structured metadata, kept in the chunks');
  }
  // Before the compactor's retention has run, every back-dated stream is there.
  for (const a of Object.values(AGED)) {
    assert.equal((await queryRange(ha.url, `{job="retention", age="${a.labels.age}"}`, window(a.at))).length, PER_STREAM, `${a.labels.age} before retention`);
  }
});

test('retention: the compactor deletes chunks past 91 days, and the query log\'s past 31 days, from the bucket; newer lines stay', { timeout: 300_000 }, async () => {
  // The file's limits again (2184h, 744h for query="true"); compaction_interval 5s, retention
  // every 7.5 s, retention_delete_delay 5s.
  overrides(true);
  await waitFor(() => Object.values(AGED).every((a) => (chunksNear(a.at).length === 0) === a.gone), 240_000, 'the compactor to delete the expired chunks', 1_000);
  // Each member's querier drops them at its next index reload (resync_interval) once it no
  // longer holds the index files it uploaded itself (index_cache_validity + 3 resyncs, swept
  // every minute): 5 s and 20 s here, 5m and 20m by default. Asked member by member, and
  // through nginx; and three rounds in a row, since a member's query frontend hands the query
  // to any member's querier (the scheduler ring), so one good round can miss the one still behind.
  const count = async (a: (typeof AGED)[keyof typeof AGED], url = ha.url) => (await queryRange(url, `{job="retention", age="${a.labels.age}"}`, window(a.at))).length;
  let goodRounds = 0;
  await waitFor(async () => {
    let good = true;
    for (const url of [...ha.members.map((m) => m.url), ha.url]) for (const a of Object.values(AGED)) if ((await count(a, url)) !== (a.gone ? 0 : PER_STREAM)) good = false;
    goodRounds = good ? goodRounds + 1 : 0;
    return goodRounds >= 3;
  }, 240_000, 'queries on every member to stop returning the deleted lines, three rounds in a row', 2_000);
  for (const a of Object.values(AGED)) {
    assert.equal(await count(a), a.gone ? 0 : PER_STREAM, `${a.labels.age} (${Math.round((T0 - a.at) / DAY)} days old) after retention`);
    assert.equal(chunksNear(a.at).length === 0, a.gone, `${a.labels.age}: chunks ${a.gone ? 'deleted from' : 'kept in'} the bucket`);
  }
});
