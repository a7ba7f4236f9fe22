/**
 * Loki stopped for 60 s while 100,000 lines are written through the direct-push transport,
 * then restarted: Loki ends up with every line exactly once. Nothing here asserts a timing.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { type LokiHandle } from '../harness/loki.js';
import { removeDir, sleep, tempDir } from '../harness/proc.js';
import { countBySeq, inProcess, linesOf, lossAndDup, startTestLoki } from './util.js';

let loki: LokiHandle;
const spool = tempDir('loki-spool');
before(async () => {
  loki = await startTestLoki();
});
after(async () => {
  await loki?.close();
  removeDir(spool);
});

it('Loki down for 60 s while 100,000 lines are written: zero lost, zero duplicated', { timeout: 600_000 }, async () => {
  const host = 'outage.example.com';
  const { t, logger, reports } = inProcess({ url: loki.url, spool_dir: spool, retry: { min_backoff: '200ms', max_backoff: '3s', timeout: '5s' } }, host);
  const DOWN_MS = 60_000;
  const BEFORE = 2_000;
  const DURING = 100_000;
  const AFTER = 2_000;
  const log = (from: number, to: number) => {
    for (let i = from; i < to; i++) logger.log({ level: 'info', message: `o seq=${i} Status=${i % 7 ? 'OK' : 'ERROR'}, n=${i}`, check: 'mysql', status: i % 7 ? 'OK' : 'ERROR', time: new Date() });
  };

  log(0, BEFORE);
  assert.equal(await t.forceFlush(60_000), true);
  await loki.stop();
  const downAt = Date.now();
  // Spread the 100,000 lines over the outage, in 100 steps.
  for (let step = 0; step < 100; step++) {
    log(BEFORE + step * (DURING / 100), BEFORE + (step + 1) * (DURING / 100));
    await t.spooled();
    const wait = downAt + ((step + 1) * DOWN_MS) / 100 - Date.now();
    if (wait > 0) await sleep(wait);
  }
  assert.equal(t.stats().sent, BEFORE, 'nothing can have been delivered while Loki was down');
  assert.ok(t.stats().pending >= DURING);
  await loki.restart();
  log(BEFORE + DURING, BEFORE + DURING + AFTER);
  assert.equal(await t.forceFlush(300_000), true);
  await t.shutdown();

  const total = BEFORE + DURING + AFTER;
  const st = t.stats();
  assert.equal(st.sent, total);
  assert.equal(st.deadLettered + st.droppedAtBound, 0);
  assert.ok(st.retries > 0);
  assert.ok(reports.some((r) => r.code === 'push_retry'));
  assert.ok(reports.some((r) => r.code === 'push_recovered'));

  const got = await linesOf(loki.url, host);
  const { lost, dup } = lossAndDup(countBySeq(got, 'o'), total);
  assert.deepEqual({ lost: lost.slice(0, 20), dup: dup.slice(0, 20), lines: got.length }, { lost: [], dup: [], lines: total });
});
