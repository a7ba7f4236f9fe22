/**
 * Cutting a batch's request into one-stream requests, and halves of them, from where the
 * encoder put each stream and entry. What the ingester does with a multi-stream push, and why
 * we cut: test/loki-push/grpc-partial.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDirs } from '../../../../test/harness/proc.js';
import { decodePushRequest } from '../../../../test/loki-push/proto.js';
import { halve, streamParts } from './delivery.js';
import { PushEncoder, type EncodedPush } from './encode.js';
import { Spool } from './spool.js';

const dirs = tempDirs('loki-delivery');
after(dirs.removeAll);

const SECONDS = 1_700_000_000;
const OK = '{"level":"OK"}';
const ERROR = '{"level":"ERROR"}';
const selector = (labels: string) => `{level=${JSON.stringify((JSON.parse(labels) as { level: string }).level)}}`;

/** The request the transport would send for these lines: spooled, read back, encoded. */
function encoded(lines: [labels: string, line: string][]): EncodedPush {
  const spool = new Spool({ dir: dirs.make(), maxBytes: 1 << 20, policy: 'drop_oldest', fsync: 1000, frameMaxLines: 1000, frameMaxBytes: 1 << 20, report: () => undefined });
  spool.open();
  try {
    spool.append(lines.map(([labels, line]) => ({ labels, ms: SECONDS * 1000, sub: 0, line })));
    const batch = spool.readBatch(1000, 1 << 20)!;
    // The encoder's buffer is reused by its next encode(): keep a copy of what is checked.
    const enc = new PushEncoder().encode(batch, selector);
    return { ...enc, body: Buffer.from(enc.body), entryAt: enc.entryAt.slice() };
  } finally {
    spool.close();
  }
}

const linesOf = (request: Uint8Array) => decodePushRequest(request).streams.map((s) => ({ labels: s.labels, lines: s.entries.map((e) => Buffer.from(e.line).toString()) }));

describe('streamParts', () => {
  it('cuts a PushRequest into one-stream requests, byte for byte', () => {
    const enc = encoded([[OK, 'a'], [ERROR, 'x'.repeat(300)], [OK, 'b']]);
    const parts = streamParts(enc);
    assert.equal(parts.length, 2);
    assert.deepEqual(parts.map((p) => linesOf(p.request)), [[{ labels: '{level="OK"}', lines: ['a', 'b'] }], [{ labels: '{level="ERROR"}', lines: ['x'.repeat(300)] }]]);
    assert.equal(Buffer.concat(parts.map((p) => p.request)).equals(Buffer.from(enc.body)), true);
  });
});

describe('halve', () => {
  it('cuts a one-stream request into two with the same labels and half the entries each', () => {
    const enc = encoded(['a', 'b', 'c', 'd', 'e'].map((l) => [OK, l]));
    const [x, y] = halve(enc, streamParts(enc)[0]!)!;
    assert.deepEqual(linesOf(x.request), [{ labels: '{level="OK"}', lines: ['a', 'b'] }]);
    assert.deepEqual(linesOf(y.request), [{ labels: '{level="OK"}', lines: ['c', 'd', 'e'] }]);
    assert.equal(Number(decodePushRequest(y.request).streams[0]!.entries[0]!.timestamp.seconds), SECONDS);
    // Halves halve again, down to single lines.
    const [y1, y2] = halve(enc, y)!;
    assert.deepEqual([linesOf(y1.request)[0]!.lines, linesOf(y2.request)[0]!.lines], [['c'], ['d', 'e']]);
    assert.equal(halve(enc, y1), undefined);
    const single = encoded([[OK, 'only']]);
    assert.equal(halve(single, streamParts(single)[0]!), undefined);
  });
});
