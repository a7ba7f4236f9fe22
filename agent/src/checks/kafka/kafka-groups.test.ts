/**
 * Consumer-group health against a real one-broker Kafka 4.x: the state line next to each lag
 * line, for a classic group (a kafkajs consumer) and a group of the consumer protocol (KIP-848:
 * Kafka's own console consumer with group.protocol=consumer), a stalled, a slow and a stopped
 * consumer. The classic consumer's eachMessage waits on a gate the test opens one message at a
 * time, so "slow" is a real consumer committing one record per cycle while 30 arrive, and
 * "stalled" one that holds a record and commits nothing; no timing decides a result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { CONSOLE_CONSUMER, javaArgs, kafkaCycle, startKafka, type KafkaCluster } from '../../../../test/harness/kafka.js';
import { startDaemon, waitFor, type Daemon } from '../../../../test/harness/proc.js';
import { stripStamp } from '../../../../test/harness/cli.js';
import { formatLine } from '../../core/format.js';
import { kafkaSchema } from './schema.js';
import { kafkaTargets } from './check.js';

const TOPIC = 'events';
const CLASSIC = 'classic-app';
const NEW = 'kip848-app';

describe('kafka check consumer-group health against a real Kafka 4.x broker', () => {
  let cluster: KafkaCluster;
  let kafka: Kafka;
  let admin: Admin;
  let consumer: Consumer | undefined;
  let console848: Daemon | undefined;
  /** Resolvers of eachMessage calls held at the gate. */
  const held: (() => void)[] = [];
  let gateOpen = true;

  const instance = (threshold: number) => kafkaSchema.parse({ name: 'events', brokers: cluster.bootstrap, topics: [TOPIC], consumer_groups: [CLASSIC, NEW], lag_threshold: threshold });
  const groupLines = (lines: string[], group: string) => lines.filter((l) => l.includes(`Consumer_Group=${group}`) && !l.includes('Offline_Partitions'));
  const produce = async (n: number) => {
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: `e${i}` })) });
    await p.disconnect();
  };
  const committed = async (group: string) => {
    const [o] = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
    return Number(o!.partitions[0]!.offset);
  };
  const waitCommitted = (group: string, offset: number) =>
    waitFor(async () => (await committed(group)) === offset, 60_000, `${group} to commit ${offset}`, 200);
  /** Lets the consumer finish the record it holds, then it holds the next one. */
  const releaseOne = () => { held.shift()?.(); };

  before(async () => {
    cluster = await startKafka('4', { brokers: 1 });
    kafka = new Kafka({ clientId: 'fixture', brokers: cluster.bootstrap, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }] });
  });

  after(async () => {
    gateOpen = true;
    while (held.length) releaseOne();
    await consumer?.disconnect();
    await console848?.stop(15_000);
    await admin?.disconnect();
    await cluster?.stop();
  });

  test('classic group: Stable with its member, then stalled (holds a record, commits nothing) CRITICAL, then slow (commits one while 30 arrive) ERROR', async () => {
    consumer = kafka.consumer({ groupId: CLASSIC, sessionTimeout: 120_000, heartbeatInterval: 3000 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: async () => { if (!gateOpen) await new Promise<void>((r) => held.push(r)); },
    });
    await produce(10);
    await waitCommitted(CLASSIC, 10);

    const [t] = kafkaTargets(instance(1000), { stateDir: '/nonexistent' });
    const run = async () => {
      const ac = new AbortController();
      return (await t!.run({ signal: ac.signal, timeoutMs: 10_000 })).map((r) => stripStamp(formatLine(r)));
    };
    const healthy = await waitFor(async () => {
      const l = groupLines(await run(), CLASSIC);
      return l.includes(`Status=OK, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Group_State=Stable, Members=1, Group_Protocol=classic`) ? l : undefined;
    }, 60_000, 'the group to be Stable', 500);
    assert.deepEqual(healthy, [
      `Status=OK, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Total_Lag=0, p0=0`,
      `Status=OK, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Group_State=Stable, Members=1, Group_Protocol=classic`,
    ]);

    // Stalled: the consumer holds offset 10 and commits nothing while 20 wait.
    gateOpen = false;
    await produce(20);
    await waitFor(() => held.length === 1, 60_000, 'the consumer to hold a record');
    for (let cycle = 1; cycle <= 3; cycle++) {
      const l = groupLines(await run(), CLASSIC);
      const stalled = `CRITICAL: Topic=${TOPIC}, consumer stalled: commits did not move while lag stayed above 0 for ${cycle} cycles, Total_Lag=20, Consumer_Group=${CLASSIC}`;
      assert.equal(l.includes(stalled), cycle >= 3, `cycle ${cycle}:\n${l.join('\n')}`);
      assert.ok(l.includes(`Status=OK, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Group_State=Stable, Members=1, Group_Protocol=classic`), 'a hung consumer still looks Stable');
    }

    // Slow: each cycle 30 arrive and the consumer commits one.
    let lines: string[] = [];
    for (let cycle = 1; cycle <= 3; cycle++) {
      await produce(30);
      releaseOne();
      await waitCommitted(CLASSIC, 10 + cycle);
      await waitFor(() => held.length === 1, 60_000, 'the consumer to hold the next record');
      lines = groupLines(await run(), CLASSIC);
      assert.equal(lines.some((x) => x.includes('consumer stalled')), false, `commits moved: no stall line\n${lines.join('\n')}`);
      assert.equal(lines.some((x) => x.startsWith('ERROR: ')), cycle >= 3, `cycle ${cycle}:\n${lines.join('\n')}`);
    }
    assert.equal(lines.at(-1), `ERROR: Topic=${TOPIC}, consumer slow: lag grew while commits moved for 3 cycles, Total_Lag=107, Consumer_Group=${CLASSIC}`);
  });

  test('classic consumer stopped: Empty with lag over the threshold is CRITICAL "no consumer"', async () => {
    gateOpen = true;
    while (held.length) releaseOne();
    await consumer!.disconnect();
    consumer = undefined;
    const at = await committed(CLASSIC);
    await produce(200);
    const lines = groupLines(await kafkaCycle(instance(100)), CLASSIC).map(stripStamp);
    // 120 produced before, 200 now: the end offset is 320.
    assert.deepEqual(lines, [
      `CRITICAL: Topic=${TOPIC}, Lag exceeded threshold on 1 brokers, Threshold=100, Consumer_Group=${CLASSIC}`,
      `Status=ERROR, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Total_Lag=${320 - at}, p0=${320 - at}`,
      `Status=OK, Topic=${TOPIC}, Consumer_Group=${CLASSIC}, Group_State=Empty, Members=0, Group_Protocol=classic`,
      `CRITICAL: Topic=${TOPIC}, no consumer: group Empty with lag over threshold, Threshold=100, Consumer_Group=${CLASSIC}`,
    ]);
  });

  test('a group of the consumer protocol (KIP-848, Kafka\'s console consumer): Stable with its member, then Empty once it stops', async () => {
    console848 = startDaemon('console-consumer-848', 'java', javaArgs('4', cluster.dir, CONSOLE_CONSUMER, [
      '--bootstrap-server', cluster.bootstrap.join(','), '--topic', TOPIC, '--group', NEW, '--from-beginning',
      '--consumer-property', 'group.protocol=consumer',
    ], { tool: true }), { cwd: cluster.dir, logFile: join(cluster.dir, 'console-848.log') });
    const stable = `Status=OK, Topic=${TOPIC}, Consumer_Group=${NEW}, Group_State=Stable, Members=1, Group_Protocol=consumer`;
    await waitFor(async () => groupLines(await kafkaCycle(instance(100_000)), NEW).map(stripStamp).includes(stable), 120_000, 'the KIP-848 group to be Stable', 1000);
    await console848.stop(30_000);
    console848 = undefined;
    const empty = `Status=OK, Topic=${TOPIC}, Consumer_Group=${NEW}, Group_State=Empty, Members=0, Group_Protocol=consumer`;
    await waitFor(async () => groupLines(await kafkaCycle(instance(100_000)), NEW).map(stripStamp).includes(empty), 120_000, 'the KIP-848 group to be Empty', 1000);
  });
});
