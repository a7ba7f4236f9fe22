/**
 * The loki check run in-process for tests (agent/src/checks/loki/*.test.ts), against the
 * single binary (./loki.ts) or the HA cluster (./loki-ha.ts):
 *
 *   const check = await lokiCycler(dir, { url: [..] })   // the targets live across cycles (their counters are in memory)
 *   const lines = await check.cycle()                    // one cycle through the scheduler and formatter, in the order written
 *   await check.close()
 *   flushFailureLine(member), storeErrorLine(member, ops) // the README's line shapes, as patterns
 */
import { join } from 'node:path';
import { Scheduler } from '../../agent/src/core/scheduler.js';
import { formatLine } from '../../agent/src/core/format.js';
import type { Target } from '../../agent/src/core/check.js';
import { lokiCheck } from '../../agent/src/checks/loki/index.js';

export interface LokiCycler {
  cycle(): Promise<string[]>;
  close(): Promise<void>;
}

/** The check's targets kept across cycles (their counters are in memory), one in-process cycle at a time. */
export async function lokiCycler(dir: string, instance: Record<string, unknown>, timeoutMs = 10_000): Promise<LokiCycler> {
  const inst = lokiCheck.schema.parse({ name: 'logs', ...instance });
  const targets: Target[] = await lokiCheck.targets(inst, { stateDir: join(dir, 'state') });
  return {
    async cycle(): Promise<string[]> {
      const lines: string[] = [];
      const s = new Scheduler(targets.map((target) => ({ check: 'loki', instance: 'logs', target, intervalMs: 60_000, timeoutMs })), (rs) => lines.push(...rs.map(formatLine)));
      // runOnce alone: stop() would close the targets, whose counters the next cycle needs.
      await s.runOnce();
      return lines;
    },
    async close() {
      await Promise.all(targets.map((t) => t.close?.()));
    },
  };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** README "Chunk flush and object store failures": the flush-failure line of `member` (host:port). */
export function flushFailureLine(member: string): RegExp {
  return new RegExp(`^ERROR: Loki member ${esc(member)} had \\d+ chunk flush failure\\(s\\) since the last check \\(loki_ingester_chunks_flush_failures_total\\): the store refused chunks, which stay in memory and the WAL$`);
}

/** The object store line of `member`, with `op` among the operations it names (`upload`, `S3.PutObject`); any operation without it. */
export function storeErrorLine(member: string, op?: string): RegExp {
  const ops = op === undefined ? '.+' : `(.+, )?${esc(op)} \\d+(, .+)?`;
  return new RegExp(`^ERROR: Loki member ${esc(member)} had \\d+ object store request error\\(s\\) since the last check \\(${ops}\\)$`);
}
