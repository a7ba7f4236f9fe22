/**
 * `npm run bench -- kafka-lag`: consumer lag for 20 topics × 18 partitions × 5 groups.
 *
 * One check cycle of the agent (one process, one connection per broker, all requests
 * concurrent) against today's way: `kafka-consumer-groups.sh --describe --group <g>` from the
 * same Kafka jars, once per group, one after another, as the cron'd script runs it.
 * Both read the same real 3-broker KRaft cluster (Kafka 4.x). The totals are cross-checked.
 * Target: at least 10× faster, and one cycle under 1 s.
 */
import { Kafka, logLevel } from 'kafkajs';
import { startKafka } from '../test/harness/kafka.js';
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
  } finally {
    await cluster.stop();
  }
}

// Also runnable on its own: node --import tsx bench/kafka-lag.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((e) => { console.error(e); process.exit(1); });
}
