import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { reasonOf } from '../../core/redact.js';
import { loadTls, tlsNotices, type LoadedTls, type PeerCertificateSeen } from '../../core/tls/index.js';
import type { CheckResult, Field, Status } from '../../core/result.js';
import type { KafkaInstance } from './schema.js';
import type { Metadata, PartitionMetadata } from './protocol/codec.js';
import { BrokerConnection, ConnectionPool } from './protocol/connection.js';
import { KafkaError, errorName } from './protocol/errors.js';
import { mirrorLines, mirrorTopics, type MirrorSnapshot, type TopicProgress } from './mirror/lines.js';
import { MirrorOffsetsLog, mirrorNames, readTarget, type MirrorNames } from './mirror/read.js';
import type { MirrorEntry } from './schema.js';
import { groupHealth, type GroupProgress, type GroupState } from './groups.js';

const CHECK = 'kafka';

/** What one cycle read from the cluster: metadata, end offsets and each group's committed offsets. */
export interface Snapshot {
  metadata: Metadata;
  /** topic → partition → end offset; missing when the partition has no leader or its leader failed to answer. */
  endOffsets: Map<string, Map<number, bigint>>;
  /** group → topic → partition → committed offset (-1 = none), or the reason the group could not be read. */
  committed: Map<string, Map<string, Map<number, bigint>> | { error: string }>;
  /** group → its state and member count (DescribeGroups, or ConsumerGroupDescribe for Kafka 4's protocol). */
  groupStates: Map<string, GroupState>;
}

export interface GroupSpec {
  name: string;
  topics: string[];
}

/** `consumer_groups` entries, each with the topics it consumes (all configured topics by default). */
export function groupSpecs(inst: KafkaInstance): GroupSpec[] {
  return inst.consumer_groups.map((g) => (typeof g === 'string' ? { name: g, topics: [...inst.topics] } : { name: g.name, topics: g.topics ?? [...inst.topics] }));
}

class Unreachable extends Error {}

/** What a target keeps of one mirror across cycles: where it is in the offsets topic, and the stall counts. */
interface MirrorState {
  entry: MirrorEntry;
  names: MirrorNames;
  log: MirrorOffsetsLog;
  progress: Map<string, TopicProgress>;
}

/**
 * Reads every mirror of the instance: the target side (offsets topic, heartbeats) with one
 * client, then each source's metadata and end offsets with the built-in one (which keeps a
 * leaderless partition's own error: its lag is `unknown`, as for consumer groups).
 */
async function readMirrors(inst: KafkaInstance, mirrors: readonly MirrorState[], signal: AbortSignal, timeoutMs: number, tls: TlsUse | undefined): Promise<MirrorSnapshot[]> {
  const targets = await readTarget(inst, mirrors, signal, timeoutMs, tls?.loaded.options);
  return Promise.all(mirrors.map(async (m, i): Promise<MirrorSnapshot> => {
    const target = targets[i]!;
    const topics = mirrorTopics(m.entry, target.stored);
    if (topics.length === 0) return { target, source: { error: 'no topics' } };
    try {
      const s = await readSnapshot({ ...inst, brokers: m.entry.source_brokers, topics, consumer_groups: [], mirrors: [] }, signal, timeoutMs, tls);
      return { target, source: { metadata: s.metadata, endOffsets: s.endOffsets } };
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      return { target, source: { error: reasonOf(e, [inst.sasl?.password]).replace(/^Kafka cluster unreachable/, 'source cluster unreachable') } };
    }
  }));
}

/** A topic whose partitions can be read: no error, or LEADER_NOT_AVAILABLE (some partitions have no leader: what the check counts). */
const readable = (code: number) => code === KafkaError.NONE || code === KafkaError.LEADER_NOT_AVAILABLE;

/** The target's loaded `tls` block, and where this run puts the broker certificates it sees. */
export interface TlsUse {
  loaded: LoadedTls;
  peers: Map<string, PeerCertificateSeen>;
}

/**
 * Reads one snapshot. Bootstrap brokers are tried in parallel; the first to answer Metadata
 * is used for FindCoordinator. ListOffsets go to each partition's leader and OffsetFetch to
 * each group's coordinator, all concurrently, over one connection per broker.
 */
export async function readSnapshot(inst: KafkaInstance, signal: AbortSignal, timeoutMs: number, tls?: TlsUse): Promise<Snapshot> {
  const pool = new ConnectionPool({
    clientId: inst.client_id,
    tls: tls?.loaded,
    onPeerCertificate: tls ? (c) => tls.peers.set(c.of, c) : undefined,
    sasl: inst.sasl,
    connectTimeoutMs: Math.min(timeoutMs, 5000),
    requestTimeoutMs: timeoutMs,
    maxReplyBytes: inst.max_reply_bytes,
    signal,
  });
  try {
    const groups = groupSpecs(inst);
    const wanted = [...new Set([...inst.topics, ...groups.flatMap((g) => g.topics)])];

    // 1. Metadata from whichever bootstrap broker answers first.
    let boot: BrokerConnection;
    let metadata: Metadata;
    try {
      [boot, metadata] = await Promise.any(inst.brokers.map(async (hp) => {
        try {
          const c = await pool.get(hp.host, hp.port);
          return [c, await c.metadata(wanted)] as const;
        } catch (e) {
          throw new Error(`${hp.text} (${reasonOf(signal.aborted ? signal.reason : e)})`);
        }
      }));
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      const errs = e instanceof AggregateError ? e.errors.map((x: Error) => x.message) : [reasonOf(e)];
      throw new Unreachable(`Kafka cluster unreachable, brokers tried: ${errs.join(', ')}`);
    }

    const live = new Map(metadata.brokers.map((b) => [b.id, b]));
    const topicMeta = new Map(metadata.topics.filter((t) => readable(t.errorCode)).map((t) => [t.name, t]));

    // 2. End offsets, one ListOffsets per leader.
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const t of topicMeta.values()) {
      for (const p of t.partitions) {
        if (!hasLiveLeader(p, live)) continue;
        let m = byLeader.get(p.leader);
        if (!m) byLeader.set(p.leader, (m = new Map()));
        let ps = m.get(t.name);
        if (!ps) m.set(t.name, (ps = []));
        ps.push(p.id);
      }
    }
    const endOffsets = new Map<string, Map<number, bigint>>();
    const listing = [...byLeader].map(async ([leader, topics]) => {
      const b = live.get(leader)!;
      try {
        const c = await pool.get(b.host, b.port);
        const res = await c.endOffsets(topics);
        for (const [t, ps] of res) {
          for (const [p, v] of ps) {
            if (v.errorCode !== KafkaError.NONE) continue;
            let m = endOffsets.get(t);
            if (!m) endOffsets.set(t, (m = new Map()));
            m.set(p, v.offset);
          }
        }
      } catch {
        // Those partitions' end offsets stay unknown; their lag prints as "unknown".
      }
    });

    // 3. Committed offsets, one FindCoordinator + OffsetFetch per group.
    const committed: Snapshot['committed'] = new Map();
    const groupStates: Snapshot['groupStates'] = new Map();
    const fetching = groups.map(async (g) => {
      const topics = new Map<string, number[]>();
      for (const t of g.topics) {
        const tm = topicMeta.get(t);
        if (tm) topics.set(t, tm.partitions.map((p) => p.id));
      }
      if (topics.size === 0) { committed.set(g.name, new Map()); return; }
      try {
        const coord = await boot.findCoordinator(g.name);
        const c = await pool.get(coord.host, coord.port);
        const describing = c.describeGroup(g.name).then(
          (d) => { groupStates.set(g.name, d); },
          (e: unknown) => { groupStates.set(g.name, { error: reasonOf(signal.aborted ? signal.reason : e) }); },
        );
        const [res] = await Promise.all([c.committedOffsets(g.name, topics), describing]);
        const out = new Map<string, Map<number, bigint>>();
        for (const [t, ps] of res) {
          const m = new Map<number, bigint>();
          for (const [p, v] of ps) m.set(p, v.errorCode === KafkaError.NONE ? v.offset : -1n);
          out.set(t, m);
        }
        committed.set(g.name, out);
      } catch (e) {
        committed.set(g.name, { error: reasonOf(signal.aborted ? signal.reason : e) });
      }
    });

    await Promise.all([...listing, ...fetching]);
    if (signal.aborted) throw signal.reason;
    return { metadata, endOffsets, committed, groupStates };
  } finally {
    pool.close();
  }
}

function hasLiveLeader(p: PartitionMetadata, live: ReadonlyMap<number, unknown>): boolean {
  return p.leader >= 0 && live.has(p.leader);
}

/**
 * Per topic. A partition whose leader is none (or not a live broker) is *offline* when no replica
 * is on a live broker, and *without leader* when some replica is alive but cannot be elected
 * (not in the ISR, unclean election off). Under-replicated: has a leader, ISR smaller than replicas.
 */
export function partitionHealth(partitions: readonly PartitionMetadata[], live: ReadonlyMap<number, unknown>) {
  let offline = 0;
  let withoutLeader = 0;
  let underReplicated = 0;
  for (const p of partitions) {
    if (!hasLiveLeader(p, live)) {
      if (p.replicas.some((r) => live.has(r))) withoutLeader++;
      else offline++;
    } else if (p.isr.length < p.replicas.length) {
      // Counted among partitions that have a leader, as Kafka's UnderReplicatedPartitions metric is;
      // a leaderless partition is already in one of the CRITICAL lines above.
      underReplicated++;
    }
  }
  return { offline, withoutLeader, underReplicated };
}

/** Leaders per live broker that holds a replica of the topic; skew = most − fewest. */
export function leaderSpread(partitions: readonly PartitionMetadata[], live: ReadonlyMap<number, unknown>) {
  const counts = new Map<number, number>();
  for (const p of partitions) for (const r of p.replicas) if (live.has(r)) counts.set(r, 0);
  for (const p of partitions) if (hasLiveLeader(p, live) && counts.has(p.leader)) counts.set(p.leader, counts.get(p.leader)! + 1);
  const sorted = [...counts].sort((a, b) => a[0] - b[0]);
  const values = sorted.map(([, n]) => n);
  const skew = values.length ? Math.max(...values) - Math.min(...values) : 0;
  return { skew, counts: sorted };
}

/**
 * The lines of one cycle, in config order: per topic, per group, then the topic's own lines.
 * `groupProgress` (group and topic → last cycle's commits and lag) is read and replaced in place
 * for the stall and slow rules; a fresh map each call makes every cycle a first one.
 */
export function kafkaLines(inst: KafkaInstance, snap: Snapshot, time = new Date(), groupProgress = new Map<string, GroupProgress>()): CheckResult[] {
  const r = resultFactory(CHECK, inst.name);
  const target = inst.brokers.map((b) => b.text).join(',');
  const out: CheckResult[] = [];
  const fields = (status: Status, f: Field[]) => out.push(r.fields(target, status, f, time));
  const message = (status: Status, m: string) => out.push(r.message(target, status, m, time));
  const live = new Map(snap.metadata.brokers.map((b) => [b.id, b]));
  const groups = groupSpecs(inst);
  const threshold = inst.lag_threshold;

  for (const topic of inst.topics) {
    const tm = snap.metadata.topics.find((t) => t.name === topic);
    if (!tm || !readable(tm.errorCode)) {
      fields('ERROR', [['Topic', topic], ['Error', errorName(tm?.errorCode ?? KafkaError.UNKNOWN_TOPIC_OR_PARTITION)]]);
      continue;
    }
    const health = partitionHealth(tm.partitions, live);
    const ends = snap.endOffsets.get(topic) ?? new Map<number, bigint>();
    const consumers = groups.filter((g) => g.topics.includes(topic));

    const pairLines = (group: string | undefined, lag: { exceededBrokers: number } | undefined) => {
      const suffix = group === undefined ? '' : `, Consumer_Group=${group}`;
      let bad = false;
      if (health.offline > 0) { message('CRITICAL', `Topic=${topic}, Offline_Partitions=${health.offline} across brokers${suffix}`); bad = true; }
      if (health.withoutLeader > 0) { message('CRITICAL', `Topic=${topic}, Partitions_without_Leader=${health.withoutLeader} across brokers${suffix}`); bad = true; }
      if (lag && lag.exceededBrokers > 0) {
        message('CRITICAL', `Topic=${topic}, Lag exceeded threshold on ${lag.exceededBrokers} brokers, Threshold=${threshold}${suffix}`);
        bad = true;
      }
      if (!bad) {
        const f: Field[] = [['Topic', topic], ['Offline_Partitions', 0], ['Partitions_without_Leader', 0]];
        if (lag) f.push(['Lag_Exceeded_Brokers', 0], ['Threshold', threshold]);
        if (group !== undefined) f.push(['Consumer_Group', group]);
        fields('OK', f);
      }
    };

    if (consumers.length === 0) pairLines(undefined, undefined);
    for (const g of consumers) {
      const c = snap.committed.get(g.name);
      if (!c || 'error' in c) {
        pairLines(g.name, undefined);
        fields('ERROR', [['Topic', topic], ['Consumer_Group', g.name], ['Error', c && 'error' in c ? c.error : 'no answer']]);
        continue;
      }
      const offsets = c.get(topic) ?? new Map<number, bigint>();
      const perPartition: Field[] = [];
      let total = 0;
      const overOn = new Set<number>();
      for (const p of tm.partitions) {
        const end = ends.get(p.id);
        const done = offsets.get(p.id) ?? -1n;
        if (done < 0n) { perPartition.push([`p${p.id}`, 'none']); continue; }
        if (end === undefined) { perPartition.push([`p${p.id}`, 'unknown']); continue; }
        const lag = end > done ? Number(end - done) : 0;
        total += lag;
        perPartition.push([`p${p.id}`, lag]);
        if (lag > threshold) overOn.add(p.leader);
      }
      pairLines(g.name, { exceededBrokers: overOn.size });
      fields(overOn.size > 0 ? 'ERROR' : 'OK', [['Topic', topic], ['Consumer_Group', g.name], ['Total_Lag', total], ...perPartition]);
      const key = `${g.name}\0${topic}`;
      const known = new Map([...offsets].filter(([, v]) => v >= 0n));
      const health = groupHealth(topic, g.name, snap.groupStates.get(g.name), known, total, overOn.size > 0, threshold, inst.stall_cycles, groupProgress.get(key));
      groupProgress.set(key, health.progress);
      // The state line, then the verdicts, CRITICAL last: the pair's last line is its worst (ruler/rules/fake/kafka-health.yaml).
      fields(health.stateStatus, health.stateFields);
      if (health.slow) message('ERROR', health.slow);
      for (const c of health.critical) message('CRITICAL', c);
    }

    fields(health.underReplicated > 0 ? 'ERROR' : 'OK', [
      ['Topic', topic], ['Partitions', tm.partitions.length], ['Under_Replicated_Partitions', health.underReplicated],
    ]);
    const spread = leaderSpread(tm.partitions, live);
    fields(spread.skew > inst.leader_skew_tolerance ? 'ERROR' : 'OK', [
      ['Topic', topic], ['Leader_Skew', spread.skew], ['Tolerance', inst.leader_skew_tolerance],
      ...spread.counts.map(([id, n]): Field => [`Leaders_${id}`, n]),
    ]);
  }
  return out;
}

export function kafkaTargets(inst: KafkaInstance, _ctx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.sasl?.password];
  const target = inst.brokers.map((b) => b.text).join(',');
  const tried = inst.brokers.map((b) => b.text).join(', ');
  // Read here, when the target is built (at start and on reload), never per connection.
  const loaded = inst.tls ? loadTls(inst.tls) : undefined;
  const groupProgress = new Map<string, GroupProgress>();
  const mirrors: MirrorState[] = inst.mirrors.map((entry) => ({
    entry, names: mirrorNames(inst, entry), log: new MirrorOffsetsLog(entry.connector, entry.source_alias), progress: new Map(),
  }));
  return [{
    id: `${CHECK}/${inst.name}`,
    target,
    async run(ctx: RunContext): Promise<CheckResult[]> {
      const tls = loaded ? { loaded, peers: new Map<string, PeerCertificateSeen>() } : undefined;
      // Certificate expiry and the key's permissions, after the lines, whether the cluster answered or not.
      const notices = () => (tls ? tlsNotices(tls.loaded, tls.peers.values()).map((n) => r.message(target, 'ERROR', n)) : []);
      try {
        const [snap, mirrored] = await Promise.all([
          readSnapshot(inst, ctx.signal, ctx.timeoutMs, tls),
          mirrors.length ? readMirrors(inst, mirrors, ctx.signal, ctx.timeoutMs, tls) : [],
        ]);
        const time = new Date();
        const out = kafkaLines(inst, snap, time, groupProgress);
        mirrors.forEach((m, i) => {
          const res = mirrorLines(inst, m.entry, m.names, mirrored[i]!, m.progress, time);
          m.progress = res.progress;
          out.push(...res.lines);
        });
        return [...out, ...notices()];
      } catch (e) {
        if (e instanceof Unreachable && !ctx.signal.aborted) return [r.message(target, 'CRITICAL', reasonOf(e, secrets)), ...notices()];
        throw e;
      }
    },
    failure(reason, time) {
      return [r.message(target, 'CRITICAL', `Kafka cluster check failed, brokers tried: ${tried} (${reasonOf(reason, secrets)})`, time)];
    },
  }];
}
