/**
 * A gRPC push to Loki's single binary goes straight to its ingester (pkg/ingester/instance.go,
 * Push, Loki 3.5.7): every stream of a request is tried, a refused stream's lines are dropped,
 * and the answer is the error of the LAST stream only. Shown against the real ingester with a
 * small per-stream rate limit, and why the transport sends each stream on its own (delivery.ts).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import winston from 'winston';
import { BatchDelivery } from '../../agent/src/outputs/loki/delivery.js';
import { PushEncoder } from '../../agent/src/outputs/loki/encode.js';
import { GrpcSender } from '../../agent/src/outputs/loki/grpc-sender.js';
import { lokiOutputSchema } from '../../agent/src/outputs/loki/schema.js';
import type { SendOutcome } from '../../agent/src/outputs/loki/sender.js';
import { Spool } from '../../agent/src/outputs/loki/spool.js';
import { LokiTransport } from '../../agent/src/outputs/loki/transport.js';
import { queryAll, startLoki, type LokiHandle } from '../harness/loki.js';
import { tempDirs } from '../harness/proc.js';
import { encodePushRequest } from './proto.js';
import { countBySeq, linesOf, lossAndDup } from './util.js';

// Each stream may take 2 KB/s with a 4 KB burst: one 4 KB line empties a stream's bucket.
const RATE = 2_048;
const BURST = 2 * RATE;
let loki: LokiHandle;
const spools = tempDirs('loki-grpc');

before(async () => {
  loki = await startLoki({ extraArgs: [`-ingester.per-stream-rate-limit=${RATE}`, `-ingester.per-stream-rate-limit-burst=${BURST}`] });
});
after(async () => {
  await loki?.close();
  spools.removeAll();
});

const grpcUrl = () => `grpc://127.0.0.1:${loki.grpcPort}`;
const labels = (host: string, level: string) => `{job="imom", env="test", host="${host}", level="${level}"}`;
let tick = 0;
const entry = (line: string) => {
  const ms = Date.now() - 10_000 + tick++;
  return { timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }, line: Buffer.from(line) };
};
const signal = () => AbortSignal.timeout(10_000);

/** Empties the rate bucket of stream `{host, level="OK"}` with one accepted line of all but ~100 bytes of the burst. */
async function drain(sender: GrpcSender, host: string): Promise<void> {
  const r = await sender.send(encodePushRequest([{ labels: labels(host, 'OK'), entries: [entry(`filler ${'f'.repeat(BURST - 100)}`)] }]), 5_000, signal());
  assert.equal(r.kind, 'ok', JSON.stringify(r));
}

/**
 * A batch whose first stream (OK, 5 KB) is over its limit and whose last (ERROR) is not. The OK
 * line is longer than the burst, so the ingester refuses it whatever its bucket holds, however
 * long after any earlier push this one arrives.
 */
const batch = (host: string, tag: string) =>
  encodePushRequest([
    { labels: labels(host, 'OK'), entries: [entry(`${tag}-ok ${'o'.repeat(BURST + 1_000)}`)] },
    { labels: labels(host, 'ERROR'), entries: [entry(`${tag}-err`)] },
  ]);

/**
 * The same batch as the transport delivers it: spooled, read back and encoded (labels spelled
 * as `labels()` spells them, so the streams are the ones drain() emptied). The spool is closed
 * at once; the encoded request lives in the encoder until its next encode(). Its OK line (~3.9 KB)
 * fits the burst, so it is stored once the bucket has refilled, and after drain() the bucket needs
 * ~1.9 s at 2 KB/s to take it: the first send, right after drain(), is refused with that margin.
 */
function delivery(host: string, tag: string): BatchDelivery {
  const spool = new Spool({ dir: spools.make(), maxBytes: 1 << 20, policy: 'drop_oldest', fsync: 1000, frameMaxLines: 1000, frameMaxBytes: 1 << 20, report: () => undefined });
  spool.open();
  try {
    const line = (level: string, text: string) => ({ labels: JSON.stringify({ level }), ms: Date.now() - 10_000 + tick++, sub: 0, line: text });
    spool.append([line('OK', `${tag}-ok ${'o'.repeat(BURST - 200)}`), line('ERROR', `${tag}-err`)]);
    const batch = spool.readBatch(1000, 1 << 20)!;
    return new BatchDelivery(new PushEncoder().encode(batch, (json) => labels(host, (JSON.parse(json) as { level: string }).level)));
  } finally {
    spool.close();
  }
}

async function stored(host: string, tag: string): Promise<string[]> {
  const got = await queryAll(loki.url, `{host="${host}"} |~ "^${tag}-"`, { start: Date.now() - 3_600_000 });
  return got.map((e) => e.line.split(' ')[0]!).sort();
}

describe('gRPC push to the real ingester, one stream refused', () => {
  it('as one request: the ingester answers OK and drops the refused stream (why each stream goes alone)', async () => {
    const host = 'whole.example.com';
    const sender = new GrpcSender(grpcUrl(), {}, 'test');
    try {
      const r = await sender.send(batch(host, 'whole'), 5_000, signal());
      assert.equal(r.kind, 'ok', 'the last stream was accepted, so the request is answered OK');
      assert.deepEqual(await stored(host, 'whole'), ['whole-err'], 'the first stream is gone');
    } finally {
      await sender.close();
    }
  });

  it('per-stream delivery: the refused stream is retried until stored, and the accepted one is not resent', async () => {
    const host = 'split.example.com';
    const raw = new GrpcSender(grpcUrl(), {}, 'test');
    const sender = new GrpcSender(grpcUrl(), {}, 'test');
    try {
      await drain(raw, host);
      const batch = delivery(host, 'split');
      const first = await batch.send(sender, 5_000, signal());
      assert.equal(first.kind, 'retry', JSON.stringify(first));
      assert.match(first.kind === 'retry' ? first.reason : '', /rate limit/i);
      let outcome: SendOutcome = first;
      for (let i = 0; i < 10 && outcome.kind !== 'ok'; i++) {
        await sleep(1_000); // the bucket refills at 2 KB/s: ~2 s to take the OK line
        outcome = await batch.send(sender, 5_000, signal());
      }
      assert.equal(outcome.kind, 'ok');
      assert.deepEqual(await stored(host, 'split'), ['split-err', 'split-ok']);
    } finally {
      await Promise.all([raw.close(), sender.close()]);
    }
  });

  it('LokiTransport over gRPC, a batch 5x the stream burst: sent in halves until it fits, every line stored', { timeout: 120_000 }, async (t) => {
    const host = 'transport.example.com';
    // One batch of ~20 KB against a 4 KB burst: it can never be accepted whole (the ingester
    // rate-limits entry by entry, so each resend spends the bucket on the same first entries).
    // The transport halves it after three such refusals, until the pieces fit.
    const cfg = lokiOutputSchema.parse({ url: grpcUrl(), transport: 'grpc', spool_dir: spools.make(), batch: { max_wait: '20ms' }, retry: { min_backoff: '100ms', max_backoff: '1s' } });
    const tr = new LokiTransport(cfg, { env: 'test', host, onReport: () => undefined });
    const logger = winston.createLogger({ level: 'debug', transports: [tr] });
    const N = 200; // ~20 KB on the OK stream: several seconds of its 2 KB/s
    const pad = 'p'.repeat(90);
    for (let i = 0; i < N; i++) logger.log({ level: 'info', message: `g seq=${i} ${pad}`, check: 'mysql', status: i % 10 === 9 ? 'ERROR' : 'OK' });
    assert.equal(await tr.forceFlush(90_000), true);
    await tr.shutdown();
    const { lost, dup } = lossAndDup(countBySeq(await linesOf(loki.url, host), 'g'), N);
    t.diagnostic(`${tr.stats().retries} retries; ${lost.length} lost, ${dup.length} shown twice`);
    assert.ok(tr.stats().retries > 0, 'the limit was met');
    assert.deepEqual(lost, []);
  });
});
