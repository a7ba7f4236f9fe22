/**
 * Smoke test of the Kafka check's `mirrors:` on Kafka 3.9: real MirrorMaker 2 (dedicated mode)
 * between two one-broker KRaft clusters; the lag line per partition, as the Kafka tools compute it,
 * and the replication latency. The faults run on 4.x (mirror.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { CONSOLE_CONSUMER, GET_OFFSET_SHELL, kafkaCycle, startKafka, type KafkaCluster } from '../../../../test/harness/kafka.js';
import { startMirrorMaker, type MirrorMaker } from '../../../../test/harness/mirror-maker.js';
import { waitFor } from '../../../../test/harness/proc.js';
import { kafkaSchema } from './schema.js';

describe('kafka check mirrors: smoke test against real MirrorMaker 2, Kafka 3.9', () => {
  let source: KafkaCluster;
  let target: KafkaCluster;
  let mm: MirrorMaker | undefined;

  before(async () => {
    [source, target] = await Promise.all([startKafka('3.9', { brokers: 1 }), startKafka('3.9', { brokers: 1 })]);
    const kafka = new Kafka({ clientId: 'fixture', brokers: source.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'web', numPartitions: 2, replicationFactor: 1 }] });
    await admin.disconnect();
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic: 'web', acks: -1, messages: [...Array.from({ length: 7 }, () => ({ partition: 0, value: 'a' })), ...Array.from({ length: 4 }, () => ({ partition: 1, value: 'b' }))] });
    await p.disconnect();
    mm = await startMirrorMaker({ source, target, sourceAlias: 'src', targetAlias: 'dst', topics: 'web' });
  });

  after(async () => {
    await mm?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  test('caught up: lag 0 per partition (stored offset + 1 = the end offset, as the tools say) and the replication latency', async () => {
    const inst = kafkaSchema.parse({ name: 'dst', brokers: target.bootstrap, topics: ['src.web'], mirrors: [{ source_alias: 'src', source_brokers: source.bootstrap }] });
    const lines = await waitFor(async () => {
      const l = (await kafkaCycle(inst, 20_000)).filter((x) => x.includes('Mirror='));
      return l.includes('Status=OK, Topic=web, Mirror=src->dst, Total_Lag=0, p0=0, p1=0') && l[0]!.startsWith('Status=OK') ? l : undefined;
    }, 180_000, 'the mirror to catch up', 1000);
    assert.match(lines[0]!, /^Status=OK, Mirror=src->dst, Heartbeats_Topic=src\.heartbeats, Replication_Latency_Ms=\d+, Max_Replication_Latency_Ms=60000$/);
    assert.deepEqual(lines.slice(1), ['Status=OK, Topic=web, Mirror=src->dst, Total_Lag=0, p0=0, p1=0']);
    // Stopped, MM2 commits no more (its heartbeat connector commits to the same topic every second,
    // so the console consumer's --timeout-ms would never pass), and the figures stand still.
    await mm!.stop();
    const [ends, offsets] = await Promise.all([
      source.tool(GET_OFFSET_SHELL, ['--topic', 'web']),
      target.tool(CONSOLE_CONSUMER, ['--topic', 'mm2-offsets.src.internal', '--from-beginning', '--timeout-ms', '5000', '--property', 'print.key=true'], { allowFail: true }),
    ]);
    assert.deepEqual(ends.trim().split('\n').sort(), ['web:0:7', 'web:1:4']);
    // The last record per key, as compaction keeps it.
    const stored = new Map(offsets.split('\n').filter((l) => l.includes('"topic":"web"')).map((l) => l.split('\t') as [string, string]));
    assert.deepEqual([...stored].sort(), [
      ['["MirrorSourceConnector",{"cluster":"src","partition":0,"topic":"web"}]', '{"offset":6}'],
      ['["MirrorSourceConnector",{"cluster":"src","partition":1,"topic":"web"}]', '{"offset":3}'],
    ]);
  });
});
