import type { ConnectionOptions } from 'node:tls';
import type { Consumer } from '@platformatic/kafka';
import { reasonOf } from '../../../core/redact.js';
import type { KafkaInstance, MirrorEntry } from '../schema.js';
import { parseMirrorOffset } from './connect-offsets.js';

/** The names a mirror is read under, with the defaults filled in. */
export interface MirrorNames {
  label: string;
  offsetsTopic: string;
  heartbeatsTopic: string;
}

export function mirrorNames(inst: KafkaInstance, m: MirrorEntry): MirrorNames {
  return {
    label: `${m.source_alias}->${m.target_alias ?? inst.name}`,
    offsetsTopic: m.offsets_topic ?? `mm2-offsets.${m.source_alias}.internal`,
    heartbeatsTopic: m.heartbeats_topic ?? `${m.source_alias}.heartbeats`,
  };
}

/** What one cycle read on the target: MM2's stored source offsets and its newest heartbeat. */
export interface TargetRead {
  /** source topic → partition → offset of the last replicated record; or why they could not be read. */
  stored: Map<string, Map<number, bigint>> | { error: string };
  /** Timestamp (ms) of the newest heartbeat record; or why it could not be read. */
  newestHeartbeatMs: number | { error: string };
}

/** Bytes per partition per Fetch: 1 MiB holds some 15,000 offset records of ~70 bytes. */
const PARTITION_MAX_BYTES = 1024 * 1024;
const IS_CONTROL = 1 << 5;

/**
 * Reads MM2's offsets topic incrementally: the first cycle reads it from the start, later ones
 * only what was appended since (the topic is compacted, but only its closed segments: a day of
 * commits every 60 s for 360 partitions is some 500,000 records, which should not be read every
 * cycle). The position and the latest offset per source partition live as long as the target.
 * A changed topic id (the topic was deleted and made again) starts over.
 */
export class MirrorOffsetsLog {
  private topicId = '';
  private readonly next = new Map<number, bigint>();
  private readonly latest = new Map<string, Map<number, bigint>>();

  constructor(private readonly connector: string, private readonly sourceAlias: string) {}

  async catchUp(consumer: Consumer, topic: string): Promise<Map<string, Map<number, bigint>>> {
    const meta = await consumer.metadata({ topics: [topic], forceUpdate: true });
    const tm = meta.topics.get(topic);
    if (!tm) throw new Error(`${topic}: UNKNOWN_TOPIC_OR_PARTITION`);
    if (tm.id !== this.topicId) {
      this.topicId = tm.id;
      this.next.clear();
      this.latest.clear();
    }
    await Promise.all(tm.partitions.map(async (p, partition) => {
      if (p.leader < 0) throw new Error(`${topic} partition ${partition}: no leader`);
      for (;;) {
        const offset = this.next.get(partition) ?? 0n;
        const res = await consumer.fetch({
          node: p.leader,
          maxWaitTime: 0,
          maxBytes: PARTITION_MAX_BYTES,
          topics: [{ topicId: tm.id, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES }] }],
        });
        const part = res.responses[0]?.partitions[0];
        if (!part) throw new Error(`${topic} partition ${partition}: empty Fetch response`);
        if (part.errorCode === OFFSET_OUT_OF_RANGE) { this.next.set(partition, part.logStartOffset); continue; }
        if (part.errorCode !== 0) throw new Error(`${topic} partition ${partition}: Fetch error ${part.errorCode}`);
        let last = offset - 1n;
        for (const batch of part.records ?? []) {
          const control = (batch.attributes & IS_CONTROL) !== 0;
          for (const r of batch.records) {
            const at = batch.firstOffset + BigInt(r.offsetDelta);
            if (at > last) last = at;
            if (control || at < offset) continue;
            const o = parseMirrorOffset(r.key, r.value, this.connector, this.sourceAlias);
            if (!o) continue;
            let m = this.latest.get(o.topic);
            if (!m) this.latest.set(o.topic, (m = new Map()));
            if (o.offset === null) m.delete(o.partition);
            else m.set(o.partition, o.offset);
          }
        }
        const reached = last + 1n > offset ? last + 1n : offset;
        this.next.set(partition, reached);
        if (reached >= part.highWatermark || last < offset) return;
      }
    }));
    return this.latest;
  }
}

const OFFSET_OUT_OF_RANGE = 1;

/** The timestamp of the newest record of the heartbeats topic (every partition's last record). */
export async function newestHeartbeat(consumer: Consumer, topic: string): Promise<number> {
  const meta = await consumer.metadata({ topics: [topic], forceUpdate: true });
  const tm = meta.topics.get(topic);
  if (!tm) throw new Error(`${topic}: UNKNOWN_TOPIC_OR_PARTITION`);
  const ends = await consumer.listOffsets({ topics: [topic] });
  let newest = -1n;
  await Promise.all(tm.partitions.map(async (p, partition) => {
    const end = ends.get(topic)?.[partition] ?? 0n;
    if (end <= 0n || p.leader < 0) return;
    const res = await consumer.fetch({
      node: p.leader,
      maxWaitTime: 0,
      maxBytes: PARTITION_MAX_BYTES,
      topics: [{ topicId: tm.id, partitions: [{ partition, fetchOffset: end - 1n, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES }] }],
    });
    for (const batch of res.responses[0]?.partitions[0]?.records ?? []) {
      for (const r of batch.records) {
        const ts = batch.firstTimestamp + r.timestampDelta;
        if (ts > newest) newest = ts;
      }
    }
  }));
  if (newest < 0n) throw new Error(`${topic}: no heartbeat record`);
  return Number(newest);
}

/**
 * One cycle's read on the target cluster, with a client of @platformatic/kafka (Fetch, record
 * batches and their compression; see the README's client choice). The consumer joins no group.
 * On abort it is closed at once, which fails whatever it still waits for.
 */
export async function readTarget(
  inst: KafkaInstance,
  mirrors: readonly { entry: MirrorEntry; names: MirrorNames; log: MirrorOffsetsLog }[],
  signal: AbortSignal,
  timeoutMs: number,
  /** The instance's TLS options, as check.ts builds them for its own client. */
  tls: ConnectionOptions | undefined,
): Promise<TargetRead[]> {
  const { Consumer } = await import('@platformatic/kafka');
  const consumer = new Consumer({
    clientId: inst.client_id,
    groupId: `${inst.client_id}-mirror-reader`,
    bootstrapBrokers: inst.brokers.map((b) => b.text),
    connectTimeout: Math.min(timeoutMs, 5000),
    requestTimeout: timeoutMs,
    timeout: timeoutMs,
    retries: 0,
    ...(tls ? { tls } : {}),
    ...(inst.sasl ? { sasl: { mechanism: SASL[inst.sasl.mechanism], username: inst.sasl.username, password: inst.sasl.password } } : {}),
  });
  const onAbort = () => { void consumer.close(true).catch(() => undefined); };
  signal.addEventListener('abort', onAbort, { once: true });
  const secrets = [inst.sasl?.password];
  try {
    return await Promise.all(mirrors.map(async ({ names, log }): Promise<TargetRead> => {
      const [stored, heartbeat] = await Promise.allSettled([log.catchUp(consumer, names.offsetsTopic), newestHeartbeat(consumer, names.heartbeatsTopic)]);
      const why = (e: unknown) => ({ error: reasonOf(signal.aborted ? signal.reason : e, secrets) });
      return {
        stored: stored.status === 'fulfilled' ? stored.value : why(stored.reason),
        newestHeartbeatMs: heartbeat.status === 'fulfilled' ? heartbeat.value : why(heartbeat.reason),
      };
    }));
  } finally {
    signal.removeEventListener('abort', onAbort);
    await consumer.close(true).catch(() => undefined);
  }
}

const SASL = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;
