/**
 * GrpcSender against an in-process logproto.Pusher that answers as Loki's ingester does
 * (pkg/ingester/instance.go, Push, Loki 3.5.7): every stream of a request is tried, a refused
 * stream's lines are dropped, and the answer is the error of the LAST stream only. A single
 * binary's gRPC port is such an ingester; a 429 on the first stream used to come back as OK.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import winston from 'winston';
import { removeDir, tempDir } from '../../../../test/harness/proc.js';
import { GrpcSender } from './grpc-sender.js';
import { PerStreamSender, splitStreams } from './per-stream.js';
import { decodePushRequest, encodePushRequest } from './proto.js';
import { lokiOutputSchema } from './schema.js';
import { LokiTransport } from './transport.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

/** Refuses the next `refuse` pushes of streams whose labels contain `match` with 429, as a rate-limited stream. */
async function fakeIngester(match: string, refuse: number) {
  const stored: string[] = [];
  let calls = 0;
  const server = new grpc.Server();
  server.addService(
    {
      Push: {
        path: '/logproto.Pusher/Push', requestStream: false, responseStream: false,
        requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Push: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        calls++;
        let appendErr: grpc.ServiceError | null = null;
        for (const s of decodePushRequest(call.request).streams) {
          if (s.labels.includes(match) && refuse > 0) {
            refuse--;
            appendErr = Object.assign(new Error('Per stream rate limit exceeded'), { code: 429 as grpc.status, details: 'Per stream rate limit exceeded', metadata: new grpc.Metadata() });
            continue;
          }
          for (const e of s.entries) stored.push(Buffer.from(e.line).toString('utf8'));
          appendErr = null; // only the last stream's outcome is returned
        }
        cb(appendErr, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { url: `grpc://127.0.0.1:${port}`, stored, calls: () => calls, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

const entry = (line: string) => ({ timestamp: { seconds: 1_700_000_000, nanos: 0 }, line: Buffer.from(line) });

describe('GrpcSender', () => {
  it('splits a PushRequest into one-stream requests', () => {
    const body = encodePushRequest([
      { labels: '{level="OK"}', entries: [entry('a'), entry('b')] },
      { labels: '{level="ERROR"}', entries: [entry('x'.repeat(300))] },
    ]);
    const parts = splitStreams(body)!;
    assert.equal(parts.length, 2);
    assert.deepEqual(parts.map((p) => decodePushRequest(p).streams.map((s) => s.labels)), [['{level="OK"}'], ['{level="ERROR"}']]);
    assert.equal(Buffer.concat(parts).equals(Buffer.from(body)), true);
    assert.equal(splitStreams(Buffer.from([0x12, 0x00])), undefined);
  });

  it('a stream refused before an accepted one is retried, not lost; accepted streams are not resent', async () => {
    const f = await fakeIngester('level="OK"', 1);
    const s = new PerStreamSender(new GrpcSender(f.url, {}, 'test'));
    try {
      const body = encodePushRequest([
        { labels: '{level="OK"}', entries: [entry('ok-1'), entry('ok-2')] },
        { labels: '{level="ERROR"}', entries: [entry('err-1')] },
      ]);
      const first = await s.send(body, 5_000, new AbortController().signal);
      assert.equal(first.kind, 'retry');
      assert.deepEqual(f.stored, ['err-1']);
      assert.equal((await s.send(body, 5_000, new AbortController().signal)).kind, 'ok');
      assert.deepEqual(f.stored.sort(), ['err-1', 'ok-1', 'ok-2']);
    } finally {
      await s.close();
      await f.close();
    }
  });

  it('LokiTransport over gRPC: every line is stored when the ingester refuses the first stream of a batch', async () => {
    const f = await fakeIngester('level="OK"', 3);
    const d = tempDir('loki-grpc');
    dirs.push(d);
    const cfg = lokiOutputSchema.parse({ url: f.url, transport: 'grpc', spool_dir: d, batch: { max_wait: '20ms' }, retry: { min_backoff: '10ms', max_backoff: '50ms' } });
    const t = new LokiTransport(cfg, { env: 'test', host: 'h', onReport: () => undefined });
    const logger = winston.createLogger({ level: 'debug', transports: [t] });
    try {
      const N = 200;
      for (let i = 0; i < N; i++) logger.log({ level: 'info', message: `seq=${i}`, check: 'mysql', status: i % 10 === 9 ? 'ERROR' : 'OK', time: new Date() });
      assert.equal(await t.forceFlush(30_000), true);
      await t.shutdown();
      const got = f.stored.map((l) => Number(l.slice(4))).sort((a, b) => a - b);
      assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
    } finally {
      await f.close();
    }
  });
});
