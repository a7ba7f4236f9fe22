/**
 * Judgements on one node's INFO that both Redis checks make, as phrases: memory against
 * maxmemory, failed RDB and AOF writes. Pure: an INFO map in, the phrase (or nothing) out.
 */
import type { Status } from '../../core/result.js';

const pct = (x: number) => (x * 100).toFixed(1);

/** The default share of maxmemory that is ERROR (as `max_memory_ratio`). */
export const DEFAULT_MAX_MEMORY_RATIO = 0.9;

export interface Problem {
  readonly status: Exclude<Status, 'OK'>;
  readonly message: string;
}

/**
 * CRITICAL when the node reports isOOM:true (flashbase builds) or, on stock Redis, when
 * used_memory has reached maxmemory under `noeviction` (writes are refused with OOM); ERROR when
 * used_memory is at or over `maxRatio` of maxmemory. Nothing when maxmemory is 0 (no limit).
 */
export function memoryProblem(addr: string, info: ReadonlyMap<string, string>, maxRatio: number): Problem | undefined {
  const used = Number(info.get('used_memory') ?? NaN);
  const max = Number(info.get('maxmemory') ?? 0);
  const policy = info.get('maxmemory_policy') ?? '';
  const isOOM = [...info].some(([k, v]) => k.toLowerCase() === 'isoom' && v.toLowerCase() === 'true');
  if (isOOM) return { status: 'CRITICAL', message: `Node ${addr} is OOM (isOOM:true)` };
  if (max > 0 && used >= max && policy === 'noeviction') {
    return { status: 'CRITICAL', message: `Node ${addr} is OOM (used_memory=${used}, maxmemory=${max}, maxmemory_policy=noeviction)` };
  }
  if (max > 0 && used / max >= maxRatio) {
    return { status: 'ERROR', message: `Node ${addr} used_memory is ${pct(used / max)}% of maxmemory (used_memory=${used}, maxmemory=${max}, max_memory_ratio=${maxRatio})` };
  }
  return undefined;
}

/**
 * A failed background save or AOF write (`INFO persistence`): Redis then refuses writes when
 * `stop-writes-on-bgsave-error yes` (its default), so the data stops being durable or written.
 */
export function persistenceProblems(addr: string, info: ReadonlyMap<string, string>): Problem[] {
  const out: Problem[] = [];
  const rdb = info.get('rdb_last_bgsave_status');
  if (rdb !== undefined && rdb !== 'ok') {
    out.push({ status: 'ERROR', message: `Node ${addr} rdb_last_bgsave_status is ${rdb} (rdb_changes_since_last_save=${info.get('rdb_changes_since_last_save') ?? '?'}, rdb_last_save_time=${info.get('rdb_last_save_time') ?? '?'})` });
  }
  const aof = info.get('aof_last_write_status');
  if (aof !== undefined && aof !== 'ok') {
    out.push({ status: 'ERROR', message: `Node ${addr} aof_last_write_status is ${aof} (aof_last_bgrewrite_status=${info.get('aof_last_bgrewrite_status') ?? '?'})` });
  }
  return out;
}
