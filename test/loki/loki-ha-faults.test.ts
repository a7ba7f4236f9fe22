// test-suite: full
// test-file-timeout: 1500
/**
 * The HA cluster's longer faults (npm run test:full; npm test keeps the kill -9 of a member,
 * loki-ha.test.ts), each counted through nginx while the agent's direct push writes:
 *  - the object store stopped for 60 s during ingestion, then started: ingestion goes on (the
 *    ingesters hold it in memory and the WAL), the chunks are flushed after, 0 lost;
 *  - all three members restarted one after the other during ingestion: 0 lost, 0 twice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { objectsUnder, startLokiHa, type LokiHaHandle } from '../harness/loki-ha.js';
import { sleep, tempDirs } from '../harness/proc.js';
import { ranges } from '../promtail/util.js';
import { directCount, directLoad } from './ha-util.js';

const dirs = tempDirs('loki-ha-faults');
let ha: LokiHaHandle;

before(async () => {
  ha = await startLokiHa();
});
after(async () => {
  await ha?.close();
  dirs.removeAll();
});

test('the store stopped 60 s during ingestion: pushes go on, chunks flush once it is back, 0 lost', { timeout: 900_000 }, async () => {
  const N = 60_000;
  // 1,000 lines/s for ~60 s: ingestion runs the whole time the store is down.
  const load = directLoad({ url: ha.url, dir: dirs.make(), host: 'store-down', count: N, burst: 100, pauseMs: 100 });
  await sleep(2_000);
  await ha.store.stop();
  const before = objectsUnder(ha.chunksDir).length;
  await sleep(60_000);
  await ha.store.start();
  await load.done;
  assert.equal(await load.drain(), N);
  // Flush while the store is up again, then prove the lines are in the bucket, not only in the
  // ingesters: stop the members, empty their WALs, start them, count.
  await ha.flush();
  await Promise.all(ha.members.map((m) => m.stop()));
  const after = objectsUnder(ha.chunksDir).length;
  for (const m of ha.members) rmSync(join(m.dataDir, 'wal'), { recursive: true, force: true });
  await Promise.all(ha.members.map((m) => m.start()));
  await ha.waitActive();
  const c = await directCount(ha.url, 'store-down', N);
  console.log(`# store down 60 s: ${N} pushed, ${c.returned} returned from the bucket, ${c.lost.length} lost, ${c.dup.length} twice; objects ${before} -> ${after}`);
  assert.ok(after > before, 'chunks were written after the store came back');
  assert.deepEqual({ lost: c.lost.length, dup: c.dup.length, returned: c.returned }, { lost: 0, dup: 0, returned: N }, `lost ${ranges(c.lost)}`);
});

test('a rolling restart of all three members during ingestion: 0 lost, 0 twice', { timeout: 900_000 }, async () => {
  const N = 60_000;
  const load = directLoad({ url: ha.url, dir: dirs.make(), host: 'rolling', count: N, burst: 200, pauseMs: 100 });
  for (const m of ha.members) {
    await m.restart();
    await ha.waitActive();
  }
  await load.done;
  assert.equal(await load.drain(), N);
  const c = await directCount(ha.url, 'rolling', N);
  console.log(`# rolling restart: ${N} pushed, ${c.returned} returned, ${c.lost.length} lost, ${c.dup.length} twice`);
  assert.deepEqual({ lost: c.lost.length, dup: c.dup.length, returned: c.returned }, { lost: 0, dup: 0, returned: N }, `lost ${ranges(c.lost)}`);
});
