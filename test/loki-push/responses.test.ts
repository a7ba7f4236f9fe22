/**
 * How the transport handles what a real Loki answers besides 204: its rate limiter's 429,
 * nanosecond tiebreaks as Loki stores them, and a shutdown while Loki is unreachable.
 * (A 4xx dead letter and secrets: direct-push.test.ts; a 60 s outage: outage.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLoki, type LokiHandle } from '../harness/loki.js';
import { tempDirs, waitFor } from '../harness/proc.js';
import { LokiTransport } from '../../agent/src/outputs/loki/index.js';
import { countBySeq, inProcess, linesOf, lossAndDup } from './util.js';

let loki: LokiHandle;
const spools = tempDirs('loki-spool');
const spoolDir = spools.make;

// A tenant allowed 256 KB/s with a 512 KB burst: a few MB in a burst must meet real 429s.
const RATE_MB = 0.25;
const BURST_MB = 0.5;

before(async () => {
  loki = await startLoki({ extraArgs: [`-distributor.ingestion-rate-limit-mb=${RATE_MB}`, `-distributor.ingestion-burst-size-mb=${BURST_MB}`] });
});
after(async () => {
  await loki?.close();
  spools.removeAll();
});

describe('responses of a real Loki', () => {
  it("Loki's ingestion rate limit (429): retried with backoff, a batch over the burst sent in halves, every line in once", { timeout: 180_000 }, async (t) => {
    const host = 'ratelimited.example.com';
    // Default batches (up to 1 MB) against a 512 KB burst: a batch over the burst is never
    // accepted whole, so the sender halves it after three refusals; the halves meet plain 429s.
    const { t: tr, logger, reports } = inProcess({ url: loki.url, spool_dir: spoolDir(), batch: { max_wait: '20ms' }, retry: { min_backoff: '100ms', max_backoff: '2s' } }, host);
    const N = 12_000; // ~2.4 MB: about 4x the burst
    const pad = 'x'.repeat(160);
    for (let i = 0; i < N; i++) logger.info({ message: `r seq=${i} Status=OK, ${pad}`, check: 'redis', status: 'OK' });
    assert.equal(await tr.forceFlush(150_000), true);
    await tr.shutdown();
    const st = tr.stats();
    const retry = reports.find((r) => r.code === 'push_retry');
    t.diagnostic(`${st.retries} retries; first report: ${retry?.message.slice(0, 160)}`);
    assert.ok(st.retries > 0, 'the rate limiter answered 429 at least once');
    assert.match(retry?.message ?? '', /HTTP 429/);
    assert.ok(reports.some((r) => r.code === 'push_recovered'));
    assert.equal(st.sent, N);
    assert.equal(st.deadLettered, 0, 'a 429 is never a dead letter');
    const { lost, dup } = lossAndDup(countBySeq(await linesOf(loki.url, host), 'r'), N);
    assert.deepEqual({ lost: lost.length, dup: dup.length }, { lost: 0, dup: 0 });
  });

  it('lines of one millisecond get distinct nanosecond timestamps per stream, and Loki stores them so', async () => {
    const host = 'tiebreak.example.com';
    const { t, logger } = inProcess({ url: loki.url, spool_dir: spoolDir(), batch: { max_wait: '10ms' } }, host);
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000);
    for (let i = 0; i < 3; i++) logger.info({ message: `n seq=${i} Status=OK`, check: 'redis', status: 'OK', time });
    for (let i = 3; i < 5; i++) logger.info({ message: `n seq=${i} Status=ERROR`, check: 'redis', status: 'ERROR', time });
    assert.equal(await t.forceFlush(30_000), true);
    await t.shutdown();
    const got = await linesOf(loki.url, host);
    const base = BigInt(time.getTime()) * 1_000_000n;
    const tsOf = (level: string) => got.filter((e) => e.labels.level === level).map((e) => e.tsNs - base).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(tsOf('OK'), [0n, 1n, 2n]);
    assert.deepEqual(tsOf('ERROR'), [0n, 1n]);
  });

  it('on shutdown with Loki unreachable everything stays spooled; the next start sends it once, with the timestamps of the records', async () => {
    const host = 'respool.example.com';
    const spool = spoolDir();
    // Port 1 on loopback: nothing listens, a real ECONNREFUSED.
    const first = inProcess({ url: 'http://127.0.0.1:1', spool_dir: spool, shutdown_timeout: '50ms', batch: { max_wait: '10ms' }, retry: { min_backoff: '5ms', max_backoff: '20ms' } }, host);
    const base = Date.now() - 60_000;
    for (let i = 0; i < 500; i++) first.logger.info({ message: `s seq=${i} Status=OK`, check: 'redis', status: 'OK', time: new Date(base + i) });
    assert.equal(await first.t.spooled(5_000), true);
    // Wait for the refused push itself: a fixed 100 ms flush before the 50 ms shutdown left it
    // to chance whether a loaded machine had tried to send at all.
    await waitFor(() => first.reports.some((r) => r.code === 'push_retry' && /ECONNREFUSED/.test(r.message)), 30_000, 'a push refused by port 1');
    await first.t.shutdown();
    assert.equal(first.t.stats().pending, 500);

    const second = new LokiTransport({ ...first.cfg, url: loki.url }, { env: 'test', host });
    assert.equal(await second.forceFlush(30_000), true);
    await second.shutdown();
    const got = await linesOf(loki.url, host);
    const { lost, dup } = lossAndDup(countBySeq(got, 's'), 500);
    assert.deepEqual({ lost: lost.length, dup: dup.length }, { lost: 0, dup: 0 });
    for (const e of got) {
      const seq = Number(/seq=(\d+)/.exec(e.line)![1]);
      assert.equal(e.tsNs, BigInt(base + seq) * 1_000_000n, `seq=${seq}: the record's own time, not the send time`);
    }
  });
});
