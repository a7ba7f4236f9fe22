/**
 * One push request per stream, for both transports. Loki's ingester answers a push with the
 * error of the LAST stream only (pkg/ingester/instance.go, Push: "the returned error only
 * reflects what happened to the last stream in the request"), and the distributor forwards its
 * streams to the ingester in one call: a stream refused for per_stream_rate_limit, or too old,
 * is lost behind a 2xx when another stream follows it. A one-stream request's answer is that
 * stream's. Streams already accepted are remembered, so the retry of the same batch (the same
 * bytes) sends only those that were not: no line lost, none sent twice.
 */
import type { Sender, SendOutcome } from './senders.js';

/**
 * The streams of an encoded PushRequest, each as a PushRequest of its own: the bytes of one
 * top-level `streams` field (tag 0x0a, length, StreamAdapter) are a valid one-stream request.
 * Undefined when the body is not a plain sequence of such fields (then it is sent whole).
 */
export function splitStreams(body: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < body.length) {
    const start = p;
    if (body[p++] !== 0x0a) return undefined;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p >= body.length || mul > 2 ** 49) return undefined;
      const b = body[p++]!;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    p += len;
    if (p > body.length) return undefined;
    out.push(body.subarray(start, p));
  }
  return out;
}

export class PerStreamSender implements Sender {
  /** After a partial failure: the batch (a copy) and the indexes of its streams already accepted. */
  private partial: { body: Buffer; done: Set<number> } | undefined;

  constructor(private readonly inner: Sender) {}

  async send(body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    const streams = splitStreams(body);
    if (!streams || streams.length <= 1) {
      this.partial = undefined;
      return this.inner.send(body, timeoutMs, signal);
    }
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const done = this.partial?.body.equals(buf) ? this.partial.done : new Set<number>();
    const outcomes = await Promise.all(streams.map((s, i) => (done.has(i) ? undefined : this.inner.send(s, timeoutMs, signal))));
    let retry: SendOutcome | undefined;
    let reject: SendOutcome | undefined;
    outcomes.forEach((o, i) => {
      if (!o || o.kind === 'ok') done.add(i);
      else if (o.kind === 'retry') retry ??= o;
      else reject ??= o;
    });
    // Retry first: a batch is dead-lettered only once nothing in it can still get through.
    if (retry) {
      if (this.partial?.done !== done) this.partial = { body: Buffer.from(buf), done };
      return retry;
    }
    this.partial = undefined;
    return reject ?? { kind: 'ok' };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
