/**
 * kill -9 of a process that pushes through LokiTransport, while batches are in flight, then a
 * restart on the same spool: every accepted line is in Loki exactly once.
 *
 * The writer records the highest seq it has seen accepted (in the spool) after each chunk, so
 * seqs up to that mark must all arrive; seqs after it were being logged when the process died
 * and may or may not have been accepted, but none may arrive twice.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { countLines, type LokiHandle } from '../harness/loki.js';
import { tempDirs } from '../harness/proc.js';
import { countBySeq, linesOf, lossAndDup, startWriter, startTestLoki } from './util.js';

let loki: LokiHandle;
const dirs = tempDirs('loki-kill');
before(async () => {
  loki = await startTestLoki();
});
after(async () => {
  await loki?.close();
  dirs.removeAll();
});

describe('kill -9 mid-batch, then restart', () => {
  for (const transport of ['http', 'grpc'] as const) {
    it(`${transport}: zero lost, zero duplicated`, { timeout: 300_000 }, async () => {
      const dir = dirs.make();
      const host = `kill9-${transport}.example.com`;
      const config = {
        url: transport === 'http' ? loki.url : `grpc://127.0.0.1:${loki.grpcPort}`,
        transport,
        spool_dir: join(dir, 'spool'),
        batch: { max_lines: 2_000, max_wait: '20ms' },
        retry: { min_backoff: '100ms', max_backoff: '1s' },
      };
      const N = 60_000;
      // The progress file is a FIFO: after each chunk the writer blocks writing its mark until the
      // test reads it, so it cannot run ahead and finish before the kill, however fast it is.
      const progress = join(dir, 'progress');
      execFileSync('mkfifo', [progress]);
      const w1 = startWriter({ config, env: 'test', host, prefix: 'a', count: N, chunk: 500, pauseMs: 5, progressFile: progress });
      // Kill once Loki holds some of the lines: the writer is mid-run, pushes in flight.
      let accepted = -1;
      while (accepted < N - 1) {
        // The newest mark: one read can return several (the writer reopened before our EOF).
        accepted = Number((await readFile(progress, 'utf8')).trim().split('\n').pop());
        if ((await countLines(loki.url, `{host="${host}"}`)) >= 5_000) break;
      }
      await w1.kill9();
      assert.ok(accepted >= 0 && accepted < N - 1, `killed mid-run (accepted up to ${accepted})`);

      // Restart on the same spool: it resends what was not answered, then logs new lines.
      const M = 3_000;
      const w2 = startWriter({ config, env: 'test', host, prefix: 'b', count: M, chunk: 500 });
      assert.equal(await w2.exited, 0, w2.stderr());
      const stats = JSON.parse(w2.stdout().trim().split('\n').pop()!) as { sent: number; pending: number };
      assert.equal(stats.pending, 0);

      // pending 0: Loki answered 2xx for every line, so they are all queryable now.
      const got = await linesOf(loki.url, host);
      const a = countBySeq(got, 'a');
      const b = countBySeq(got, 'b');
      const first = lossAndDup(a, accepted + 1);
      assert.deepEqual({ lost: first.lost.slice(0, 20), dup: first.dup.slice(0, 20) }, { lost: [], dup: [] }, 'accepted before the kill');
      const late = [...a].filter(([seq, c]) => seq > accepted && c > 1);
      assert.deepEqual(late, [], 'logged while being killed: at most once');
      const second = lossAndDup(b, M);
      assert.deepEqual({ lost: second.lost, dup: second.dup }, { lost: [], dup: [] }, 'after the restart');
      assert.equal(got.length, a.size + b.size, 'no line twice');
    });
  }
});
