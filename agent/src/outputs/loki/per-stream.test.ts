/**
 * Cutting a PushRequest into one-stream requests without decoding it. What the ingester does
 * with a multi-stream gRPC push, and why we cut: test/loki-push/grpc-partial.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { halveStream, splitStreams } from './per-stream.js';
import { decodePushRequest, encodePushRequest } from './proto.js';

const entry = (line: string) => ({ timestamp: { seconds: 1_700_000_000, nanos: 0 }, line: Buffer.from(line) });

describe('splitStreams', () => {
  it('splits a PushRequest into one-stream requests, byte for byte', () => {
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
});

describe('halveStream', () => {
  it('cuts a one-stream request into two with the same labels and half the entries each', () => {
    const part = encodePushRequest([{ labels: '{level="OK"}', entries: ['a', 'b', 'c', 'd', 'e'].map(entry) }]);
    const [x, y] = halveStream(part)!;
    const dx = decodePushRequest(x).streams;
    const dy = decodePushRequest(y).streams;
    assert.deepEqual(dx.map((s) => s.labels), ['{level="OK"}']);
    assert.deepEqual(dy.map((s) => s.labels), ['{level="OK"}']);
    assert.deepEqual(dx[0]!.entries.map((e) => Buffer.from(e.line).toString()), ['a', 'b']);
    assert.deepEqual(dy[0]!.entries.map((e) => Buffer.from(e.line).toString()), ['c', 'd', 'e']);
    assert.equal(Number(dy[0]!.entries[0]!.timestamp.seconds), 1_700_000_000);
    assert.equal(halveStream(encodePushRequest([{ labels: '{a="1"}', entries: [entry('only')] }])), undefined);
    assert.equal(halveStream(Buffer.from([0x12, 0x00])), undefined);
  });
});
