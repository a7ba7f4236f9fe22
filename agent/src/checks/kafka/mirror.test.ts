/**
 * The Kafka check's `mirrors:` against real MirrorMaker 2 (dedicated mode, from the Kafka jars)
 * between two real KRaft clusters of Kafka 4.x: a 2-broker source and a 1-broker target, one
 * MM2 process at a time (JVMs are heavy on two shared cores).
 *
 * Fixtures on the source (kafkajs, a test dependency):
 *   web      3 partitions, RF 1: p0 and p2 on broker 1, p1 on broker 2
 *   web-new  2 partitions, created while MM2 runs (found through refresh.topics.interval.seconds=2)
 *   id-pay   2 partitions, p0 on broker 1, p1 on broker 2 (killed in the last test), mirrored by a
 *            second MM2 (east->west) with the identity replication policy
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { CONSOLE_CONSUMER, GET_OFFSET_SHELL, startKafka, type KafkaCluster, type KafkaVersion } from '../../../../test/harness/kafka.js';
import { startMirrorMaker, type MirrorMaker } from '../../../../test/harness/mirror-maker.js';
import { waitFor } from '../../../../test/harness/proc.js';
import { formatLine } from '../../core/format.js';
import { stripStamp } from '../../../../test/harness/cli.js';
import { kafkaSchema } from './schema.js';
import { kafkaTargets } from './check.js';

const VERSION: KafkaVersion = '4';
const LAT = /^Status=OK, Mirror=src->dst, Heartbeats_Topic=src\.heartbeats, Replication_Latency_Ms=\d+, Max_Replication_Latency_Ms=60000$/;

/** A check target kept across cycles (the stall rule compares cycles), returning unstamped lines. */
function mirrorTarget(target: KafkaCluster, mirror: Record<string, unknown>) {
  const inst = kafkaSchema.parse({ name: 'dst', brokers: target.bootstrap, topics: ['__consumer_offsets'], mirrors: [mirror] });
  const [t] = kafkaTargets(inst, { stateDir: '/nonexistent' });
  return async (): Promise<string[]> => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('timeout after 20000ms')), 20_000);
    try {
      const lines = (await t!.run({ signal: ac.signal, timeoutMs: 20_000 })).map((r) => stripStamp(formatLine(r)));
      // Only the mirror's lines: the target's own topic lines are the existing check's.
      return lines.filter((l) => l.includes('Mirror'));
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Each partition's lag as the Kafka tools give it: the source's end offsets from
 * kafka-get-offsets.sh, MM2's stored offsets from kafka-console-consumer.sh on the offsets topic
 * (the last record per key wins, as compaction keeps it), lag = end - (stored + 1).
 */
async function toolLags(source: KafkaCluster, target: KafkaCluster, alias: string, topic: string): Promise<Map<number, number>> {
  const [ends, offsets] = await Promise.all([
    source.tool(GET_OFFSET_SHELL, ['--topic', topic]),
    // It stops after 5 s without a record, and says so with exit code 1 in some versions: its stdout is what counts.
    target.tool(CONSOLE_CONSUMER, ['--topic', `mm2-offsets.${alias}.internal`, '--from-beginning', '--timeout-ms', '5000', '--property', 'print.key=true'], { allowFail: true }),
  ]);
  const stored = new Map<number, number>();
  for (const line of offsets.split('\n')) {
    const [k, v] = line.split('\t');
    if (!k || !v) continue;
    const key = JSON.parse(k) as [string, { cluster: string; topic: string; partition: number }];
    if (key[1].cluster === alias && key[1].topic === topic) stored.set(key[1].partition, (JSON.parse(v) as { offset: number }).offset);
  }
  const lags = new Map<number, number>();
  for (const line of ends.trim().split('\n')) {
    const [t, p, end] = line.split(':');
    if (t !== topic) continue;
    lags.set(Number(p), Math.max(0, Number(end) - (stored.get(Number(p))! + 1)));
  }
  return lags;
}

const lagLine = (topic: string, label: string, lags: readonly (number | string)[], status = 'OK') => {
  const total = lags.reduce<number>((a, v) => a + (typeof v === 'number' ? v : 0), 0);
  return `Status=${status}, Topic=${topic}, Mirror=${label}, Total_Lag=${total}, ${lags.map((v, i) => `p${i}=${v}`).join(', ')}`;
};

describe(`kafka check mirrors: against real MirrorMaker 2 between two KRaft clusters, Kafka ${VERSION}`, () => {
  let source: KafkaCluster;
  let target: KafkaCluster;
  let mm: MirrorMaker | undefined;
  let kafka: Kafka;
  let admin: Admin;

  const produce = async (topic: string, counts: readonly number[]) => {
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic, acks: -1, messages: counts.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ partition, value: `m${i}` }))) });
    await p.disconnect();
  };
  const until = (what: string, run: () => Promise<string[]>, ok: (l: string[]) => boolean) =>
    waitFor(async () => { const l = await run(); return ok(l) ? l : undefined; }, 120_000, what, 1000);

  before(async () => {
    [source, target] = await Promise.all([startKafka(VERSION, { brokers: 2 }), startKafka(VERSION, { brokers: 1 })]);
    kafka = new Kafka({ clientId: 'fixture', brokers: source.bootstrap, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'web', replicaAssignment: [[1], [2], [1]].map((replicas, partition) => ({ partition, replicas })) },
        { topic: 'id-pay', replicaAssignment: [[1], [2]].map((replicas, partition) => ({ partition, replicas })) },
      ],
    });
    await produce('web', [10, 10, 10]);
    mm = await startMirrorMaker({ source, target, sourceAlias: 'src', targetAlias: 'dst', topics: 'web.*' });
  });

  after(async () => {
    await admin?.disconnect();
    await mm?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  test('caught up: lag 0 on every partition, the heartbeat latency, and MM2 stopped: stalled CRITICAL, ERROR over the threshold, figures equal to the Kafka tools; restarted: recovered', async () => {
    const run = mirrorTarget(target, { source_alias: 'src', source_brokers: source.bootstrap, topics: ['web'], lag_threshold: 5 });
    const caughtUp = await until('the mirror to catch up and a heartbeat to be mirrored', run, (l) => l.includes(lagLine('web', 'src->dst', [0, 0, 0])) && LAT.test(l[0]!));
    assert.match(caughtUp[0]!, LAT);
    assert.deepEqual(caughtUp.slice(1), [lagLine('web', 'src->dst', [0, 0, 0])]);

    // SIGTERM: MM2 commits its offsets on the way down, so they stand still from here.
    await mm!.stop();
    await run(); // the baseline of the stall rule
    const counts = [[7, 0, 2], [7, 0, 2], [7, 0, 2]] as const;
    let lines: string[] = [];
    for (const [i, c] of counts.entries()) {
      await produce('web', c);
      lines = await run();
      const stalled = `CRITICAL: Topic=web, Mirror stalled: source grew while MirrorMaker offsets stood still for ${i + 1} cycles, Mirror=src->dst`;
      assert.equal(lines.includes(stalled), i + 1 >= 3, `cycle ${i + 1}: ${lines.join('\n')}`);
    }
    const lags = await toolLags(source, target, 'src', 'web');
    assert.deepEqual([...lags.keys()].sort(), [0, 1, 2]);
    assert.deepEqual([0, 1, 2].map((p) => lags.get(p)), [21, 0, 6], 'what the tools report, stored + 1 against the end');
    assert.deepEqual(lines.slice(1), [
      lagLine('web', 'src->dst', [21, 0, 6], 'ERROR'),
      'CRITICAL: Topic=web, Mirror stalled: source grew while MirrorMaker offsets stood still for 3 cycles, Mirror=src->dst',
    ]);

    await mm!.start();
    const recovered = await until('the mirror to recover', run, (l) => l.includes(lagLine('web', 'src->dst', [0, 0, 0])));
    assert.deepEqual(recovered.slice(1), [lagLine('web', 'src->dst', [0, 0, 0])], 'no stall line once the offsets move');
  });

  test('a topic added to the source is reported once MM2 mirrors it (topics omitted: every topic MM2 stored offsets for)', async () => {
    const run = mirrorTarget(target, { source_alias: 'src', source_brokers: source.bootstrap });
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'web-new', replicaAssignment: [[1], [2]].map((replicas, partition) => ({ partition, replicas })) }] });
    await produce('web-new', [3, 4]);
    const lines = await until('web-new to be mirrored', run, (l) => l.includes(lagLine('web-new', 'src->dst', [0, 0])));
    assert.deepEqual(lines.slice(1), [lagLine('web', 'src->dst', [0, 0, 0]), lagLine('web-new', 'src->dst', [0, 0])]);
    const described = await target.tool(GET_OFFSET_SHELL, ['--topic', 'src.web-new']);
    assert.deepEqual(described.trim().split('\n').sort(), ['src.web-new:0:3', 'src.web-new:1:4']);
  });

  test('the identity replication policy: same topic names on the target, the same lines', async () => {
    await mm!.close();
    mm = await startMirrorMaker({ source, target, sourceAlias: 'east', targetAlias: 'west', topics: 'id-.*', policy: 'identity' });
    await produce('id-pay', [5, 6]);
    const run = mirrorTarget(target, { source_alias: 'east', target_alias: 'west', source_brokers: source.bootstrap, topics: ['id-pay'] });
    const lines = await until('id-pay to be mirrored', run, (l) => l.includes(lagLine('id-pay', 'east->west', [0, 0])) && l[0]!.startsWith('Status=OK'));
    assert.match(lines[0]!, /^Status=OK, Mirror=east->west, Heartbeats_Topic=east\.heartbeats, Replication_Latency_Ms=\d+, Max_Replication_Latency_Ms=60000$/);
    assert.deepEqual(lines.slice(1), [lagLine('id-pay', 'east->west', [0, 0])]);
    // What the tools say: the same end offsets on both sides, under the same name on the target.
    const [onSource, onTarget] = await Promise.all([source.tool(GET_OFFSET_SHELL, ['--topic', 'id-pay']), target.tool(GET_OFFSET_SHELL, ['--topic', 'id-pay'])]);
    assert.deepEqual(onTarget.trim().split('\n').sort(), ['id-pay:0:5', 'id-pay:1:6'], 'identity: the target topic keeps its name');
    assert.deepEqual(onSource.trim().split('\n').sort(), ['id-pay:0:5', 'id-pay:1:6']);
  });
  test('a source broker killed (kill -9): the partition it led is unknown, the other still mirrored', async () => {
    const run = mirrorTarget(target, { source_alias: 'east', target_alias: 'west', source_brokers: source.bootstrap, topics: ['id-pay'] });
    await source.stopBroker(2, { hard: true });
    await produce('id-pay', [4]);
    const lines = await until('p1 to be unknown and p0 caught up', run, (l) => l.includes(lagLine('id-pay', 'east->west', [0, 'unknown'])));
    assert.deepEqual(lines.slice(1), [lagLine('id-pay', 'east->west', [0, 'unknown'])]);
    const onTarget = await target.tool(GET_OFFSET_SHELL, ['--topic', 'id-pay']);
    assert.deepEqual(onTarget.trim().split('\n').sort(), ['id-pay:0:9', 'id-pay:1:6'], 'p0 mirrored on; p1 as it was');
  });
});
