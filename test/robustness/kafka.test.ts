/**
 * The kafka check against a hostile broker (kafka-server.ts) in each of the six modes: alone
 * through `imom check --once`, and under `imom agent` beside a real single-broker Kafka 4.x,
 * which must keep reporting while the agent lives within its RSS bound. Then the framing rules
 * one at a time: a correlation id that answers no request, a response shorter than its fields.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka, type KafkaCluster } from '../harness/kafka.js';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { tempDirs } from '../harness/proc.js';
import { AGENT_RSS_LIMIT, MODES, agentUntil, bothReported, hostileServers, oneOf, type HostileServer, type Mode, type Protocol } from './hostile.js';
import { kafkaProtocol } from './kafka-server.js';

/** The check's default cap (KAFKA_MAX_REPLY_BYTES), and the one `imom check --once` is configured with here. */
const DEFAULT_MAX = 4194304;
const CONFIGURED_MAX = 65536;
const TOPIC = 'alive';

/** The lines the hostile broker may get in each mode (one of them, exactly; random bytes give whatever reason the framing finds). */
function expected(mode: Mode, address: string, max: number): (string | RegExp)[] {
  const unreachable = (reason: string) => `CRITICAL: Kafka cluster unreachable, brokers tried: ${address} (${reason})`;
  const closed = unreachable('connection closed by broker before answering ApiVersions (a TLS listener? tls is not set)');
  // The run's timeout and the request's own timeout are both 1s: either may fire first.
  const timedOut = [`CRITICAL: Kafka cluster check failed, brokers tried: ${address} (timeout after 1s)`, unreachable(`ApiVersions request to ${address} timed out after 1000ms`)];
  switch (mode) {
    case 'random': return [new RegExp(`^CRITICAL: Kafka cluster (unreachable|check failed), brokers tried: ${address.replace(/\./g, '\\.')} \\(.+\\)$`)];
    case 'truncated': return [closed];
    case 'oversized': return [unreachable(`reply over ${max} bytes`)];
    case 'extra': return [unreachable('malformed response: frame size 2, under 4 bytes')];
    case 'silent': return timedOut;
    // A close right after accept is a FIN, or a reset when ApiVersions was already in.
    case 'close': return [closed, unreachable('read ECONNRESET')];
  }
}

/** A response frame: size, correlation id, body. */
function frame(correlationId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(4 + body.length);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, body]);
}

/** The correlation id of the request at the start of `pending` (size, api key, version, id). */
const requestId = (pending: Buffer) => pending.readInt32BE(8);

describe('kafka check against a hostile broker', () => {
  let cluster: KafkaCluster;
  const dirs = tempDirs('robust-kafka');
  const hostiles = hostileServers();
  before(async () => {
    cluster = await startKafka('4', { brokers: 1 });
    const admin = new Kafka({ brokers: cluster.bootstrap, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  });
  after(async () => {
    await hostiles.closeAll();
    await cluster?.stop();
    dirs.removeAll();
  });

  const hostile = (mode: Mode, change: Partial<Protocol> = {}) => hostiles.start((port) => ({ ...kafkaProtocol(port), ...change }), mode);
  const hostileEntry = (h: HostileServer, extra = '') => `
    - name: hostile
      brokers: [${h.address}]
      topics: [web]
      timeout: 1s${extra}`;
  const checkAlone = async (h: HostileServer) => {
    const r = await checkOnce(checkConfig(dirs.make(), `  kafka:${hostileEntry(h, `\n      max_reply_bytes: ${CONFIGURED_MAX}`)}`));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines.length, 1, r.stdout + r.stderr);
    return r.lines[0]!;
  };

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the cluster's CRITICAL line, exit 1`, async () => {
      const h = await hostile(mode);
      const line = await checkAlone(h);
      assert.ok(oneOf(line, expected(mode, h.address, CONFIGURED_MAX)), `${line} should be one of ${expected(mode, h.address, CONFIGURED_MAX).join(' | ')}`);
    });

    test(`${mode}: under imom agent, the hostile broker's cluster gets its line every cycle, the real cluster keeps reporting, the agent lives and stays under its RSS bound`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const config = checkConfig(dir, `  kafka:${hostileEntry(h)}
    - name: healthy
      brokers: [${cluster.bootstrap.join(', ')}]
      topics: [${TOPIC}]`, { interval: '2s', timeout: '5s' });
      const healthy = (l: string) => l === `Status=OK, Topic=${TOPIC}, Offline_Partitions=0, Partitions_without_Leader=0`;
      const isHostile = (l: string) => l.includes(`brokers tried: ${h.address} `);
      const out = await agentUntil(config, `${dir}/check.log`, bothReported(isHostile, healthy), 90_000, `two cycles of the hostile (${mode}) and the healthy cluster`);
      assert.equal(out.code, 0, out.stderr);
      for (const l of out.lines.filter(isHostile)) assert.ok(oneOf(l, expected(mode, h.address, DEFAULT_MAX)), `${l} should be one of ${expected(mode, h.address, DEFAULT_MAX).join(' | ')}`);
      assert.ok(out.peakRss < AGENT_RSS_LIMIT, `peak RSS ${out.peakRss} bytes`);
      process.stdout.write(`# kafka ${mode}: peak agent RSS ${(out.peakRss / 1024 ** 2).toFixed(1)} MB, ${h.bytesSent()} bytes sent by the hostile server\n`);
    });
  }

  test('a response whose correlation id answers no request drops the connection: CRITICAL naming the id', async () => {
    const h = await hostile('extra', { extra: () => frame(999, Buffer.alloc(2)) });
    assert.equal(await checkAlone(h), `CRITICAL: Kafka cluster unreachable, brokers tried: ${h.address} (malformed response: correlation id 999 answers no request)`);
  });

  test('a well-framed ApiVersions response shorter than its fields: CRITICAL naming the API', async () => {
    // Error code 0 and nothing else: the array count the decoder reads next is missing.
    const h = await hostile('extra', {
      reply: (pending) => (pending.length >= 12 && pending.length >= 4 + pending.readInt32BE(0)
        ? { reply: frame(requestId(pending), Buffer.alloc(2)), consumed: 4 + pending.readInt32BE(0) }
        : undefined),
      extra: () => Buffer.alloc(0),
    });
    assert.equal(await checkAlone(h), `CRITICAL: Kafka cluster unreachable, brokers tried: ${h.address} (malformed ApiVersions response: response ends at byte 2, a field needs 6)`);
  });

  test('twelve hostile brokers of twelve instances under imom agent: no MaxListenersExceededWarning', async () => {
    const servers = await Promise.all(Array.from({ length: 12 }, () => hostile('silent')));
    const dir = dirs.make();
    const config = checkConfig(dir, `  kafka:${servers.map((s, i) => `
    - name: many-${i}
      brokers: [${s.address}]
      topics: [web]
      timeout: 1s`).join('')}`, { interval: '2s' });
    const out = await agentUntil(config, `${dir}/check.log`, (lines) => lines.length >= 24, 60_000, 'two cycles of twelve clusters');
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /MaxListenersExceededWarning/);
  });
});
