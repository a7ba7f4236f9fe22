import { resultFactory } from '../../../core/check.js';
import type { CheckResult, Field, Status } from '../../../core/result.js';
import type { Metadata } from '../protocol/codec.js';
import { KafkaError, errorName } from '../protocol/errors.js';
import { grew, moved, stuckCycles } from '../progress.js';
import type { KafkaInstance, MirrorEntry } from '../schema.js';
import { mirrorPartitionLag } from './connect-offsets.js';
import type { MirrorNames, TargetRead } from './read.js';

/** What one cycle read for one mirror: the target side, and the source's metadata and end offsets. */
export interface MirrorSnapshot {
  target: TargetRead;
  source: { metadata: Metadata; endOffsets: Map<string, Map<number, bigint>> } | { error: string };
}

/** Per source topic, what the stall rule compares with the next cycle. */
export interface TopicProgress {
  ends: Map<number, bigint>;
  stored: Map<number, bigint>;
  stuck: number;
}

/** MM2's heartbeats topics (`heartbeats`, and `<alias>.heartbeats` a hop upstream): MM2 always mirrors them. */
const isHeartbeats = (t: string) => t === 'heartbeats' || t.endsWith('.heartbeats');

/**
 * The source topics a mirror reports: the configured ones, or every topic MM2 stored an offset
 * for but its heartbeats (their age is the latency line; their lag is a second of beats, noise).
 */
export function mirrorTopics(m: MirrorEntry, stored: TargetRead['stored']): string[] {
  if (m.topics) return [...m.topics];
  return 'error' in stored ? [] : [...stored.keys()].filter((t) => !isHeartbeats(t)).sort();
}

/**
 * The lines of one mirror in one cycle (pure): the replication-latency line, then per source
 * topic the lag line and, when stalled, the stall line. `progress` is last cycle's per topic; the
 * returned map replaces it.
 */
export function mirrorLines(
  inst: KafkaInstance,
  m: MirrorEntry,
  names: MirrorNames,
  snap: MirrorSnapshot,
  progress: ReadonlyMap<string, TopicProgress>,
  time: Date,
): { lines: CheckResult[]; progress: Map<string, TopicProgress> } {
  const r = resultFactory('kafka', inst.name);
  const target = inst.brokers.map((b) => b.text).join(',');
  const lines: CheckResult[] = [];
  const fields = (status: Status, f: Field[]) => lines.push(r.fields(target, status, f, time));
  const mirror: Field = ['Mirror', names.label];
  const threshold = m.lag_threshold ?? inst.lag_threshold;
  const next = new Map<string, TopicProgress>();

  const hb = snap.target.newestHeartbeatMs;
  if (typeof hb === 'number') {
    const age = Math.max(0, time.getTime() - hb);
    fields(age > m.max_replication_latency ? 'ERROR' : 'OK', [
      mirror, ['Heartbeats_Topic', names.heartbeatsTopic], ['Replication_Latency_Ms', age], ['Max_Replication_Latency_Ms', m.max_replication_latency],
    ]);
  } else {
    fields('ERROR', [mirror, ['Heartbeats_Topic', names.heartbeatsTopic], ['Error', hb.error]]);
  }

  const stored = snap.target.stored;
  const topics = mirrorTopics(m, stored);
  if (topics.length === 0) {
    fields('ERROR', [mirror, ['Error', 'error' in stored ? stored.error : `no offsets of ${m.connector} for ${m.source_alias} in ${names.offsetsTopic}`]]);
  }
  for (const topic of topics) {
    const error = (e: string) => {
      fields('ERROR', [['Topic', topic], mirror, ['Error', e]]);
      // A cycle that could not read keeps the stall count where it was.
      const kept = progress.get(topic);
      if (kept) next.set(topic, kept);
    };
    if ('error' in stored) { error(stored.error); continue; }
    if ('error' in snap.source) { error(snap.source.error); continue; }
    const tm = snap.source.metadata.topics.find((t) => t.name === topic);
    if (!tm || (tm.errorCode !== KafkaError.NONE && tm.errorCode !== KafkaError.LEADER_NOT_AVAILABLE)) {
      error(errorName(tm?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION));
      continue;
    }
    const ends = snap.source.endOffsets.get(topic) ?? new Map<number, bigint>();
    const done = stored.get(topic) ?? new Map<number, bigint>();
    const perPartition: Field[] = [];
    let total = 0;
    let over = false;
    for (const p of tm.partitions) {
      const s = done.get(p.id);
      const end = ends.get(p.id);
      if (s === undefined) { perPartition.push([`p${p.id}`, 'none']); continue; }
      if (end === undefined) { perPartition.push([`p${p.id}`, 'unknown']); continue; }
      const lag = mirrorPartitionLag(end, s);
      total += lag;
      perPartition.push([`p${p.id}`, lag]);
      if (lag > threshold) over = true;
    }

    const before = progress.get(topic);
    const stuck = before ? stuckCycles(before.stuck, grew(before.ends, ends) && !moved(before.stored, done), moved(before.stored, done)) : 0;
    next.set(topic, { ends: new Map(ends), stored: new Map(done), stuck });
    fields(over ? 'ERROR' : 'OK', [['Topic', topic], mirror, ['Total_Lag', total], ...perPartition]);
    // After the lag line: while stalled, the topic's last mirror line is the CRITICAL (ruler/rules/fake/kafka-health.yaml).
    if (stuck >= m.stall_cycles) {
      lines.push(r.message(target, 'CRITICAL', `Topic=${topic}, Mirror stalled: source grew while MirrorMaker offsets stood still for ${stuck} cycles, Mirror=${names.label}`, time));
    }
  }
  return { lines, progress: next };
}
