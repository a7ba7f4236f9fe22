/**
 * The Kafka check against a real 3-broker KRaft cluster, Kafka 3.9 and Kafka 4.x in turn
 * (one cluster per version, shared by the tests of that version, run in order).
 *
 * Fixtures (created with kafkajs, which is only a test dependency):
 *   web    6 partitions, RF 1, p0,p3 on broker 1, p1,p4 on 2, p2,p5 on 3
 *   orders 3 partitions, RF 3, preferred leaders 1, 2, 3
 *   pay    2 partitions, RF 2, replicas [1,3] and [3,1]
 *   group analysis-weblog consumes web for real; group archiver has offsets on web p0-p2 only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { KAFKA_VERSIONS, kafkaCycle, startKafka, type KafkaCluster } from '../../../../test/harness/kafka.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, imom, linesOf, stripStamp } from '../../../../test/harness/cli.js';
import { startBlackhole } from '../../../../test/harness/redis.js';
import { formatLine } from '../../core/format.js';
import { kafkaSchema } from './schema.js';
import { kafkaTargets } from './check.js';

const THRESHOLD = 100;
const GROUP = 'analysis-weblog';

function instance(brokers: string[], extra: Record<string, unknown> = {}) {
  return kafkaSchema.parse({
    name: 'weblog',
    brokers,
    topics: ['web', 'orders', 'pay'],
    consumer_groups: [{ name: GROUP, topics: ['web'] }, { name: 'archiver', topics: ['web'] }],
    lag_threshold: THRESHOLD,
    ...extra,
  });
}

/** One check cycle, as the scheduler runs it, formatted. */
function cycle(brokers: string[], extra: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<string[]> {
  return kafkaCycle(instance(brokers, extra), timeoutMs);
}

const pLines = (vals: (number | string)[]) => vals.map((v, i) => `p${i}=${v}`).join(', ');

/** The consumer-group health lines (state, slow, no consumer, stalled): asserted on their own below, left out where a test is about the others. */
const isHealth = (l: string) => /Group_State=|: Topic=[^,]+, (no consumer|consumer stalled|consumer slow): /.test(l);
const withoutHealth = (lines: string[]) => lines.filter((l) => !isHealth(l));

for (const version of KAFKA_VERSIONS) {
  describe(`kafka check against a real 3-broker KRaft cluster, Kafka ${version}`, () => {
    let cluster: KafkaCluster;
    let kafka: Kafka;
    let admin: Admin;
    let dir: string;
    const all = () => cluster.bootstrap;

    /** Polls until a cycle's lines satisfy `ok` (the cluster takes a moment to notice a stopped broker). */
    const until = (what: string, ok: (lines: string[]) => boolean, extra: Record<string, unknown> = {}) =>
      waitFor(async () => { const l = await cycle(all(), extra); return ok(l) ? l : undefined; }, 60_000, what, 500);

    const produce = async (partition: number, n: number) => {
      const p = kafka.producer();
      await p.connect();
      await p.send({ topic: 'web', acks: -1, messages: Array.from({ length: n }, (_, i) => ({ partition, value: `m${i}` })) });
      await p.disconnect();
    };

    before(async () => {
      dir = tempDir(`kafka-check-${version}`);
      cluster = await startKafka(version);
      kafka = new Kafka({ clientId: 'fixture', brokers: all(), logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: 'web', replicaAssignment: [[1], [2], [3], [1], [2], [3]].map((replicas, partition) => ({ partition, replicas })) },
          { topic: 'orders', replicaAssignment: [[1, 2, 3], [2, 3, 1], [3, 1, 2]].map((replicas, partition) => ({ partition, replicas })) },
          { topic: 'pay', replicaAssignment: [[1, 3], [3, 1]].map((replicas, partition) => ({ partition, replicas })) },
        ],
      });
      for (let p = 0; p < 6; p++) await produce(p, 10);
      // A real consumer reads everything and commits.
      const consumer = kafka.consumer({ groupId: GROUP });
      await consumer.connect();
      await consumer.subscribe({ topic: 'web', fromBeginning: true });
      let seen = 0;
      await consumer.run({ autoCommitInterval: 100, eachMessage: async () => { seen++; } });
      await waitFor(async () => {
        if (seen < 60) return false;
        const [o] = await admin.fetchOffsets({ groupId: GROUP, topics: ['web'] });
        return o!.partitions.every((p) => p.offset === '10');
      }, 60_000, 'analysis-weblog to consume and commit web');
      await consumer.disconnect();
      // archiver committed p0-p2 at 0 and never touched p3-p5.
      await admin.setOffsets({ groupId: 'archiver', topic: 'web', partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })) });
    });

    after(async () => {
      await admin?.disconnect();
      await cluster?.stop();
      if (dir) removeDir(dir);
    });

    test('healthy cluster, through the CLI: an OK line per topic/group, lag per partition, exit 0', async () => {
      const cfg = checkConfig(dir, `
  kafka:
    - name: weblog
      brokers: [${all().join(', ')}]
      topics: [web, orders, pay]
      consumer_groups:
        - { name: ${GROUP}, topics: [web] }
        - { name: archiver, topics: [web] }
      lag_threshold: ${THRESHOLD}
`);
      const r = await imom(['check', '--config', cfg, '--once', '--only', 'kafka']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(linesOf(r.stdout).map(stripStamp), [
        `Status=OK, Topic=web, Offline_Partitions=0, Partitions_without_Leader=0, Lag_Exceeded_Brokers=0, Threshold=100, Consumer_Group=${GROUP}`,
        `Status=OK, Topic=web, Consumer_Group=${GROUP}, Total_Lag=0, ${pLines([0, 0, 0, 0, 0, 0])}`,
        // Its consumer read everything and left: the group is Empty, with nothing to read.
        `Status=OK, Topic=web, Consumer_Group=${GROUP}, Group_State=Empty, Members=0, Group_Protocol=classic`,
        'Status=OK, Topic=web, Offline_Partitions=0, Partitions_without_Leader=0, Lag_Exceeded_Brokers=0, Threshold=100, Consumer_Group=archiver',
        `Status=OK, Topic=web, Consumer_Group=archiver, Total_Lag=30, ${pLines([10, 10, 10, 'none', 'none', 'none'])}`,
        'Status=OK, Topic=web, Consumer_Group=archiver, Group_State=Empty, Members=0, Group_Protocol=classic',
        'Status=OK, Topic=web, Partitions=6, Under_Replicated_Partitions=0',
        'Status=OK, Topic=web, Leader_Skew=0, Tolerance=1, Leaders_1=2, Leaders_2=2, Leaders_3=2',
        'Status=OK, Topic=orders, Offline_Partitions=0, Partitions_without_Leader=0',
        'Status=OK, Topic=orders, Partitions=3, Under_Replicated_Partitions=0',
        'Status=OK, Topic=orders, Leader_Skew=0, Tolerance=1, Leaders_1=1, Leaders_2=1, Leaders_3=1',
        'Status=OK, Topic=pay, Offline_Partitions=0, Partitions_without_Leader=0',
        'Status=OK, Topic=pay, Partitions=2, Under_Replicated_Partitions=0',
        'Status=OK, Topic=pay, Leader_Skew=0, Tolerance=1, Leaders_1=1, Leaders_3=1',
      ]);
    });

    test('a group left behind: lag over the threshold, counted by distinct leader brokers', async () => {
      // p1 and p4 are both led by broker 2: two partitions over the threshold, one broker.
      await produce(1, 150);
      await produce(4, 120);
      const all1 = await cycle(all());
      // Both groups are Empty (no member) with a partition over the threshold: no consumer.
      assert.deepEqual(all1.filter(isHealth), [
        `Status=OK, Topic=web, Consumer_Group=${GROUP}, Group_State=Empty, Members=0, Group_Protocol=classic`,
        `CRITICAL: Topic=web, no consumer: group Empty with lag over threshold, Threshold=100, Consumer_Group=${GROUP}`,
        'Status=OK, Topic=web, Consumer_Group=archiver, Group_State=Empty, Members=0, Group_Protocol=classic',
        'CRITICAL: Topic=web, no consumer: group Empty with lag over threshold, Threshold=100, Consumer_Group=archiver',
      ]);
      let lines = withoutHealth(all1);
      assert.deepEqual(lines.slice(0, 2), [
        `CRITICAL: Topic=web, Lag exceeded threshold on 1 brokers, Threshold=100, Consumer_Group=${GROUP}`,
        `Status=ERROR, Topic=web, Consumer_Group=${GROUP}, Total_Lag=270, ${pLines([0, 150, 0, 0, 120, 0])}`,
      ]);
      // archiver: p1 lag 160 > 100 too (broker 2); p4 has no committed offset, so it is "none", not 120.
      assert.deepEqual(lines.slice(2, 4), [
        'CRITICAL: Topic=web, Lag exceeded threshold on 1 brokers, Threshold=100, Consumer_Group=archiver',
        `Status=ERROR, Topic=web, Consumer_Group=archiver, Total_Lag=180, ${pLines([10, 160, 10, 'none', 'none', 'none'])}`,
      ]);
      // p2 is led by broker 3: now two brokers.
      await produce(2, 101);
      lines = withoutHealth(await cycle(all()));
      assert.equal(lines[0], `CRITICAL: Topic=web, Lag exceeded threshold on 2 brokers, Threshold=100, Consumer_Group=${GROUP}`);
      assert.equal(lines[1], `Status=ERROR, Topic=web, Consumer_Group=${GROUP}, Total_Lag=371, ${pLines([0, 150, 101, 0, 120, 0])}`);
      // The same lag under a higher threshold is OK.
      lines = withoutHealth(await cycle(all(), { lag_threshold: 10_000 }));
      assert.equal(lines[0], `Status=OK, Topic=web, Offline_Partitions=0, Partitions_without_Leader=0, Lag_Exceeded_Brokers=0, Threshold=10000, Consumer_Group=${GROUP}`);
      assert.equal(lines[1], `Status=OK, Topic=web, Consumer_Group=${GROUP}, Total_Lag=371, ${pLines([0, 150, 101, 0, 120, 0])}`);
    });

    test('broker 3 stopped: its only-replica partitions are offline, the rest under-replicated', async () => {
      await cluster.stopBroker(3);
      const lines = withoutHealth(await until('offline partitions and ISR shrink', (l) =>
        l.some((x) => x.includes('Offline_Partitions=2')) && l.includes('Status=ERROR, Topic=orders, Partitions=3, Under_Replicated_Partitions=3')));
      assert.deepEqual(lines, [
        `CRITICAL: Topic=web, Offline_Partitions=2 across brokers, Consumer_Group=${GROUP}`,
        `CRITICAL: Topic=web, Lag exceeded threshold on 1 brokers, Threshold=100, Consumer_Group=${GROUP}`,
        `Status=ERROR, Topic=web, Consumer_Group=${GROUP}, Total_Lag=270, ${pLines([0, 150, 'unknown', 0, 120, 'unknown'])}`,
        'CRITICAL: Topic=web, Offline_Partitions=2 across brokers, Consumer_Group=archiver',
        'CRITICAL: Topic=web, Lag exceeded threshold on 1 brokers, Threshold=100, Consumer_Group=archiver',
        `Status=ERROR, Topic=web, Consumer_Group=archiver, Total_Lag=170, ${pLines([10, 160, 'unknown', 'none', 'none', 'none'])}`,
        'Status=OK, Topic=web, Partitions=6, Under_Replicated_Partitions=0',
        'Status=OK, Topic=web, Leader_Skew=0, Tolerance=1, Leaders_1=2, Leaders_2=2',
        'Status=OK, Topic=orders, Offline_Partitions=0, Partitions_without_Leader=0',
        'Status=ERROR, Topic=orders, Partitions=3, Under_Replicated_Partitions=3',
        'Status=OK, Topic=orders, Leader_Skew=1, Tolerance=1, Leaders_1=2, Leaders_2=1',
        'Status=OK, Topic=pay, Offline_Partitions=0, Partitions_without_Leader=0',
        'Status=ERROR, Topic=pay, Partitions=2, Under_Replicated_Partitions=2',
        // Broker 1 is the only live broker holding pay's replicas: nothing to skew against.
        'Status=OK, Topic=pay, Leader_Skew=0, Tolerance=1, Leaders_1=2',
      ]);
    });

    test('broker 1 stopped too, broker 3 back: pay has live replicas but no leader', async () => {
      await cluster.stopBroker(1);
      await cluster.startBroker(3);
      const lines = await until('pay without leader', (l) =>
        l.includes('CRITICAL: Topic=pay, Partitions_without_Leader=2 across brokers')
        && l.includes('Status=ERROR, Topic=orders, Partitions=3, Under_Replicated_Partitions=3')
        && l.some((x) => x.startsWith(`CRITICAL: Topic=web, Offline_Partitions=2 across brokers, Consumer_Group=${GROUP}`)));
      assert.deepEqual(lines.filter((l) => l.includes('Topic=pay')), [
        'CRITICAL: Topic=pay, Partitions_without_Leader=2 across brokers',
        'Status=OK, Topic=pay, Partitions=2, Under_Replicated_Partitions=0',
        'Status=OK, Topic=pay, Leader_Skew=0, Tolerance=1, Leaders_3=0',
      ]);
      assert.deepEqual(withoutHealth(lines).filter((l) => l.includes('Topic=web') && l.includes(GROUP)), [
        `CRITICAL: Topic=web, Offline_Partitions=2 across brokers, Consumer_Group=${GROUP}`,
        `CRITICAL: Topic=web, Lag exceeded threshold on 2 brokers, Threshold=100, Consumer_Group=${GROUP}`,
        `Status=ERROR, Topic=web, Consumer_Group=${GROUP}, Total_Lag=371, ${pLines(['unknown', 150, 101, 'unknown', 120, 0])}`,
      ]);
      // Every orders partition is led by broker 2, the only broker left throughout.
      assert.ok(lines.includes('Status=ERROR, Topic=orders, Leader_Skew=3, Tolerance=1, Leaders_2=3, Leaders_3=0'), lines.join('\n'));
    });

    test('all brokers back, leaders left unbalanced: leader skew over the tolerance, and within a wider one', async () => {
      await cluster.startBroker(1);
      const healthy = (l: string[]) => !l.some((x) => x.startsWith('CRITICAL: Topic=web, Offline') || x.startsWith('CRITICAL: Topic=pay') || x.includes('Under_Replicated_Partitions=1') || x.includes('Under_Replicated_Partitions=2') || x.includes('Under_Replicated_Partitions=3'));
      const lines = await until('all partitions led and in sync', healthy);
      assert.deepEqual(lines.filter((l) => l.includes('Leader_Skew')), [
        'Status=OK, Topic=web, Leader_Skew=0, Tolerance=1, Leaders_1=2, Leaders_2=2, Leaders_3=2',
        'Status=ERROR, Topic=orders, Leader_Skew=3, Tolerance=1, Leaders_1=0, Leaders_2=3, Leaders_3=0',
        'Status=ERROR, Topic=pay, Leader_Skew=2, Tolerance=1, Leaders_1=2, Leaders_3=0',
      ]);
      const wider = await cycle(all(), { leader_skew_tolerance: 3 });
      assert.deepEqual(wider.filter((l) => l.includes('Leader_Skew')), [
        'Status=OK, Topic=web, Leader_Skew=0, Tolerance=3, Leaders_1=2, Leaders_2=2, Leaders_3=2',
        'Status=OK, Topic=orders, Leader_Skew=3, Tolerance=3, Leaders_1=0, Leaders_2=3, Leaders_3=0',
        'Status=OK, Topic=pay, Leader_Skew=2, Tolerance=3, Leaders_1=2, Leaders_3=0',
      ]);
    });
  });
}

describe('kafka check without a cluster', () => {
  test('unreachable cluster: one CRITICAL line naming every broker tried', async () => {
    const lines = await cycle(['127.0.0.1:1', '127.0.0.1:2']);
    assert.deepEqual(lines, ['CRITICAL: Kafka cluster unreachable, brokers tried: 127.0.0.1:1 (connect ECONNREFUSED), 127.0.0.1:2 (connect ECONNREFUSED)']);
  });

  test('a broker that accepts but never answers: the run aborts at the timeout, and the failure line names the brokers', async () => {
    const hole = await startBlackhole();
    try {
      const [t] = kafkaTargets(instance([`127.0.0.1:${hole.port}`]), { stateDir: '/nonexistent' });
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('timeout after 1s')), 1000);
      await assert.rejects(t!.run({ signal: ac.signal, timeoutMs: 1000 }), /timeout after 1s/);
      // The run gave up on the abort's reason (it has no timer of its own that says so) while the broker held the request.
      assert.ok(hole.accepted() >= 1);
      assert.deepEqual(t!.failure('timeout after 1s', new Date()).map(formatLine), [
        `CRITICAL: Kafka cluster check failed, brokers tried: 127.0.0.1:${hole.port} (timeout after 1s)`,
      ]);
    } finally {
      await hole.close();
    }
  });
});
