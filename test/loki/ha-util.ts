/** Shared by the HA cluster's tests: a paced direct push through the agent's transport, and its exactly-once count. */
import { join } from 'node:path';
import { queryAll } from '../harness/loki.js';
import { sleep } from '../harness/proc.js';
import { countBySeq, inProcess, lossAndDup } from '../loki-push/util.js';

/**
 * `count` lines "a seq=<n> …" through the agent's LokiTransport (spool in `dir`) to `url`, host
 * label `host`, in bursts of `burst` every `pauseMs`. `done` resolves once every line is logged;
 * `drain()` waits until Loki answered 2xx for all of them and returns how many were sent.
 */
export function directLoad(o: { url: string; dir: string; host: string; count: number; burst?: number; pauseMs?: number }) {
  const { t, logger } = inProcess({ url: o.url, spool_dir: join(o.dir, 'spool'), batch: { max_lines: 1_000, max_wait: '50ms' }, retry: { min_backoff: '100ms', max_backoff: '2s' } }, o.host);
  const burst = o.burst ?? 500;
  const done = (async () => {
    for (let i = 0; i < o.count; i += burst) {
      for (let j = i; j < Math.min(i + burst, o.count); j++) logger.log({ level: 'info', message: `a seq=${j} Status=OK, x=${j}`, check: 'mysql', status: 'OK', time: new Date() });
      await sleep(o.pauseMs ?? 50);
    }
  })();
  return {
    done,
    async drain(timeoutMs = 180_000): Promise<number> {
      await done;
      if (!(await t.forceFlush(timeoutMs))) throw new Error(`the direct push still had lines unsent after ${timeoutMs} ms`);
      await t.shutdown();
      return t.stats().sent;
    },
  };
}

/** The direct push's lines of `host` as Loki returns them: how many, which seqs are missing, which came twice. */
export async function directCount(url: string, host: string, n: number): Promise<{ returned: number; lost: number[]; dup: number[] }> {
  const got = await queryAll(url, `{job="imom", host="${host}"}`, { start: Date.now() - 3_600_000 });
  const { lost, dup } = lossAndDup(countBySeq(got, 'a'), n);
  return { returned: got.length, lost, dup };
}
