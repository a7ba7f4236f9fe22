/**
 * `npm run bench -- kafka-lag`: consumer lag for 20 topics × 18 partitions × 5 groups.
 *
 * One check cycle of the agent (one process, one connection per broker, all requests
 * concurrent) against today's way: `kafka-consumer-groups.sh --describe --group <g>` from the
 * same Kafka jars, once per group, one after another, as the cron'd script runs it.
 * Both read the same real 3-broker KRaft cluster (Kafka 4.x). The totals are cross-checked.
 * Target: at least 10× faster, and one cycle under 1 s.
 *
 * Then the mirror: MirrorMaker 2 (dedicated mode) copies the 20 topics to a one-broker target
 * cluster; one cycle of the check's `mirrors:` (MM2's offsets topic on the target, the source's
 * end offsets) against today's way for MM2, which kafka-consumer-groups cannot see: reading the
 * offsets topic with kafka-console-consumer.sh and the source's end offsets with
 * kafka-get-offsets.sh, side by side, the per-topic totals cross-checked.
 */
import { Kafka, logLevel } from 'kafkajs';
import { CONSOLE_CONSUMER, GET_OFFSET_SHELL, startKafka, type KafkaCluster } from '../test/harness/kafka.js';
import { startMirrorMaker } from '../test/harness/mirror-maker.js';
import { waitFor } from '../test/harness/proc.js';
import { formatLine } from '../agent/src/core/format.js';
import { kafkaSchema } from '../agent/src/checks/kafka/schema.js';
import { kafkaTargets } from '../agent/src/checks/kafka/check.js';

const TOPICS = 20;
const PARTITIONS = 18;
const GROUPS = 5;

const ms = (t0: number) => performance.now() - t0;
const fmt = (n: number) => `${n.toFixed(0)} ms`;

export async function run(): Promise<void> {
  console.log(`kafka-lag: starting a 3-broker Kafka 4 cluster, ${TOPICS} topics × ${PARTITIONS} partitions × ${GROUPS} groups`);
  const cluster = await startKafka('4');
  try {
    const topics = Array.from({ length: TOPICS }, (_, i) => `topic-${String(i).padStart(2, '0')}`);
    const groups = Array.from({ length: GROUPS }, (_, i) => `group-${i}`);
    const kafka = new Kafka({ clientId: 'bench', brokers: cluster.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 2 })) });
    const producer = kafka.producer();
    await producer.connect();
    await Promise.all(topics.map((topic) => producer.send({
      topic, acks: -1,
      messages: Array.from({ length: PARTITIONS * 20 }, (_, i) => ({ partition: i % PARTITIONS, value: `m${i}` })),
    })));
    await producer.disconnect();
    // Each group has committed a different offset on every partition (some partitions none):
    // one member per group joins, commits all its offsets at once, and leaves.
    await Promise.all(groups.map(async (groupId, gi) => {
      const consumer = kafka.consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: false });
      const joined = new Promise<void>((res) => consumer.on(consumer.events.GROUP_JOIN, () => res()));
      await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
      await joined;
      await consumer.commitOffsets(topics.flatMap((topic, ti) => Array.from({ length: PARTITIONS }, (_, p) => p)
        .filter((p) => (p + gi) % 9 !== 0)
        .map((partition) => ({ topic, partition, offset: String((gi * 3 + ti + partition) % 20) }))));
      await consumer.disconnect();
    }));
    await admin.disconnect();

    const inst = kafkaSchema.parse({ name: 'bench', brokers: cluster.bootstrap, topics, consumer_groups: groups, lag_threshold: 10000 });
    const [target] = kafkaTargets(inst, { stateDir: '/nonexistent' });
    const cycle = async () => {
      const ac = new AbortController();
      const t0 = performance.now();
      const lines = (await target!.run({ signal: ac.signal, timeoutMs: 10_000 })).map(formatLine);
      return { ms: ms(t0), lines };
    };
    const first = await cycle();
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push((await cycle()).ms);
    runs.sort((a, b) => a - b);
    const median = runs[2]!;
    const lagLines = first.lines.filter((l) => l.includes('Total_Lag='));

    console.log(`kafka-lag: running kafka-consumer-groups --describe once per group (${GROUPS} JVMs, in sequence)...`);
    const t0 = performance.now();
    const outputs: string[] = [];
    for (const g of groups) outputs.push(await cluster.consumerGroups(['--describe', '--group', g]));
    const shell = ms(t0);

    // Cross-check: the per-group, per-topic lag totals must agree.
    const theirs = new Map<string, number>();
    for (const line of outputs.join('\n').split('\n')) {
      const c = line.trim().split(/\s+/);
      if (c.length < 6 || !groups.includes(c[0]!) || !/^\d+$/.test(c[5]!)) continue;
      const k = `${c[0]} ${c[1]}`;
      theirs.set(k, (theirs.get(k) ?? 0) + Number(c[5]));
    }
    let mismatches = 0;
    for (const l of lagLines) {
      const m = /Topic=(\S+), Consumer_Group=(\S+), Total_Lag=(\d+)/.exec(l)!;
      if ((theirs.get(`${m[2]} ${m[1]}`) ?? 0) !== Number(m[3])) mismatches++;
    }

    console.log('');
    console.log(`  agent, one cycle (first, cold)          ${fmt(first.ms)}   (${first.lines.length} lines, ${lagLines.length} lag lines)`);
    console.log(`  agent, one cycle (median of 5, warm)    ${fmt(median)}`);
    console.log(`  kafka-consumer-groups.sh × ${GROUPS} groups     ${fmt(shell)}`);
    console.log(`  ratio (shell / agent cold)              ${(shell / first.ms).toFixed(1)}×`);
    console.log(`  ratio (shell / agent warm)              ${(shell / median).toFixed(1)}×`);
    console.log(`  lag totals cross-checked                ${lagLines.length - mismatches}/${lagLines.length} topic/group pairs agree`);
    console.log(`  targets: ≥10× ${shell / first.ms >= 10 ? 'met' : 'NOT met'}, cycle < 1 s ${first.ms < 1000 ? 'met' : 'NOT met'}`);
    if (mismatches > 0) throw new Error(`${mismatches} lag totals differ from kafka-consumer-groups`);
    await benchMirror(cluster, topics);
  } finally {
    await cluster.stop();
  }
}

/** The mirror read: check cycles (cold: the whole offsets topic; warm: what was appended) against the console consumer and get-offsets. */
async function benchMirror(source: KafkaCluster, topics: readonly string[]): Promise<void> {
  console.log(`\nkafka-lag: mirror: a one-broker target and MirrorMaker 2 copying the ${TOPICS} topics × ${PARTITIONS} partitions`);
  const target = await startKafka('4', { brokers: 1 });
  const mm = await startMirrorMaker({ source, target, sourceAlias: 'src', targetAlias: 'dst', topics: 'topic-.*' });
  try {
    const inst = kafkaSchema.parse({ name: 'dst', brokers: target.bootstrap, topics: ['__consumer_offsets'], mirrors: [{ source_alias: 'src', source_brokers: source.bootstrap, topics }] });
    const cycle = async (t: ReturnType<typeof kafkaTargets>[number]) => {
      const t0 = performance.now();
      const lines = (await t.run({ signal: new AbortController().signal, timeoutMs: 30_000 })).map(formatLine).filter((l) => l.includes('Mirror='));
      return { ms: ms(t0), lines };
    };
    const caughtUp = (lines: string[]) => topics.every((tp) => lines.some((l) => l.startsWith(`Status=OK, Topic=${tp}, Mirror=src->dst, Total_Lag=0,`)));
    await waitFor(async () => caughtUp((await cycle(kafkaTargets(inst, { stateDir: '/nonexistent' })[0]!)).lines), 300_000, 'MM2 to copy every topic', 2000);
    await mm.stop(); // the figures stand still while both ways read them

    const [t] = kafkaTargets(inst, { stateDir: '/nonexistent' });
    const cold = await cycle(t!);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await cycle(t!)).ms);
    warm.sort((a, b) => a - b);

    console.log('kafka-lag: mirror: kafka-console-consumer on mm2-offsets.src.internal + kafka-get-offsets on the source (2 JVMs, in parallel)...');
    const t0 = performance.now();
    const [offsets, ends] = await Promise.all([
      target.tool(CONSOLE_CONSUMER, ['--topic', 'mm2-offsets.src.internal', '--from-beginning', '--timeout-ms', '5000', '--property', 'print.key=true'], { allowFail: true }),
      source.tool(GET_OFFSET_SHELL, ['--topic', 'topic-.*']),
    ]);
    // --timeout-ms: the console consumer stops after 5 s without a record, which is part of its cost.
    const shell = ms(t0);
    const stored = new Map<string, number>();
    for (const line of offsets.split('\n')) {
      const [k, v] = line.split('\t');
      if (!k || !v) continue;
      const key = JSON.parse(k) as [string, { cluster: string; topic: string; partition: number }];
      stored.set(`${key[1].topic}:${key[1].partition}`, (JSON.parse(v) as { offset: number }).offset);
    }
    const theirs = new Map<string, number>();
    for (const line of ends.trim().split('\n')) {
      const [tp, p, end] = line.split(':');
      const s = stored.get(`${tp}:${p}`);
      if (!tp || s === undefined) continue;
      theirs.set(tp, (theirs.get(tp) ?? 0) + Math.max(0, Number(end) - (s + 1)));
    }
    let mismatches = 0;
    const lagLines = cold.lines.filter((l) => l.includes('Total_Lag='));
    for (const l of lagLines) {
      const m = /Topic=(\S+), Mirror=\S+, Total_Lag=(\d+)/.exec(l)!;
      if ((theirs.get(m[1]!) ?? -1) !== Number(m[2])) mismatches++;
    }
    console.log('');
    console.log(`  agent mirror cycle (first, cold: whole offsets topic)   ${fmt(cold.ms)}   (${lagLines.length} lag lines, ${stored.size} partitions stored)`);
    console.log(`  agent mirror cycle (median of 5, warm: incremental)     ${fmt(warm[2]!)}`);
    console.log(`  console consumer + get-offsets (today's way for MM2)    ${fmt(shell)}`);
    console.log(`  ratio (shell / agent cold)                              ${(shell / cold.ms).toFixed(1)}×`);
    console.log(`  ratio (shell / agent warm)                              ${(shell / warm[2]!).toFixed(1)}×`);
    console.log(`  mirror lag totals cross-checked                         ${lagLines.length - mismatches}/${lagLines.length} topics agree`);
    if (mismatches > 0) throw new Error(`${mismatches} mirror lag totals differ from the console consumer and get-offsets`);
  } finally {
    await mm.close();
    await target.stop();
  }
}

// Also runnable on its own: node --import tsx bench/kafka-lag.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((e) => { console.error(e); process.exit(1); });
}
