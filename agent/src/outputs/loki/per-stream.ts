/**
 * One push request per stream, for both transports. Loki's ingester answers a push with the
 * error of the LAST stream only (pkg/ingester/instance.go, Push: "the returned error only
 * reflects what happened to the last stream in the request"), and the distributor forwards its
 * streams to the ingester in one call: a stream refused for per_stream_rate_limit, or too old,
 * is lost behind a 2xx when another stream follows it. A one-stream request's answer is that
 * stream's. Parts already accepted are remembered, so the retry of the same batch (the same
 * bytes) sends only those that were not: no line lost, none sent twice.
 *
 * A part that a rate limit keeps refusing is sent in halves: Loki's limiters check a request
 * (tenant) or its entries in order (stream) against a bucket, so a part bigger than the burst
 * would never get in, and its resends would spend the bucket on the same first entries.
 */
import { varintLen, writeVarint } from './encode.js';
import type { Sender, SendOutcome } from './senders.js';

/** Refusals of one part by a rate limit before it is sent in halves. */
const HALVE_AFTER = 3;

/** The varint at `p`: [value, next offset], or undefined past the end. */
function readVarint(b: Uint8Array, p: number): [number, number] | undefined {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (p >= b.length || mul > 2 ** 49) return undefined;
    const x = b[p++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) return [v, p];
  }
}

/** The length-delimited fields of `b[from, to)`: [tag, start of field, start of payload, end]. */
function fields(b: Uint8Array, from = 0, to = b.length): [number, number, number, number][] | undefined {
  const out: [number, number, number, number][] = [];
  for (let p = from; p < to; ) {
    const start = p;
    const tag = b[p++]!;
    if ((tag & 7) !== 2) return undefined;
    const len = readVarint(b, p);
    if (!len || len[1] + len[0] > to) return undefined;
    out.push([tag, start, len[1], len[1] + len[0]]);
    p = len[1] + len[0];
  }
  return out;
}

/**
 * The streams of an encoded PushRequest, each as a PushRequest of its own: the bytes of one
 * top-level `streams` field (tag 0x0a, length, StreamAdapter) are a valid one-stream request.
 * Undefined when the body is not a plain sequence of such fields (then it is sent whole).
 */
export function splitStreams(body: Uint8Array): Uint8Array[] | undefined {
  const f = fields(body);
  if (!f || f.some(([tag]) => tag !== 0x0a)) return undefined;
  return f.map(([, start, , end]) => body.subarray(start, end));
}

/**
 * A one-stream request cut into two, each with the stream's labels and half of its entries
 * (StreamAdapter: labels = 1, entries = 2). Undefined for fewer than two entries or any other
 * field (such as `hash`), which this does not carry over.
 */
export function halveStream(part: Uint8Array): [Buffer, Buffer] | undefined {
  const outer = fields(part);
  if (outer?.length !== 1 || outer[0]![0] !== 0x0a) return undefined;
  const inner = fields(part, outer[0]![2], outer[0]![3]);
  if (!inner || inner.some(([tag]) => tag !== 0x0a && tag !== 0x12)) return undefined;
  const labels = inner.filter(([tag]) => tag === 0x0a);
  const entries = inner.filter(([tag]) => tag === 0x12);
  if (entries.length < 2) return undefined;
  const cut = entries.length >> 1;
  const build = (es: typeof entries): Buffer => {
    const slices = [...labels, ...es].map(([, start, , end]) => part.subarray(start, end));
    const len = slices.reduce((n, s) => n + s.length, 0);
    const out = Buffer.allocUnsafe(1 + varintLen(len) + len);
    out[0] = 0x0a;
    let p = writeVarint(out, 1, len);
    for (const s of slices) {
      out.set(s, p);
      p += s.length;
    }
    return out;
  };
  return [build(entries.slice(0, cut)), build(entries.slice(cut))];
}

const isRateLimit = (o: SendOutcome): boolean => o.kind === 'retry' && (o.status === 429 || /rate limit/i.test(o.reason));

interface Pending {
  /** The batch this state is for (a copy). */
  body: Buffer;
  /** Its parts (copies): streams, or halves of streams. */
  parts: Uint8Array[];
  done: boolean[];
  refusals: number[];
}

export class PerStreamSender implements Sender {
  /** After a partial failure: the batch, its parts and which of them are accepted. */
  private pending: Pending | undefined;

  constructor(private readonly inner: Sender) {}

  async send(body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const known = this.pending?.body.equals(buf) ? this.pending : undefined;
    // Parts of a new batch are views into `body`, copied only if a retry must keep them.
    const parts = known?.parts ?? splitStreams(body);
    if (!parts) {
      this.pending = undefined;
      return this.inner.send(body, timeoutMs, signal);
    }
    const done = known?.done ?? parts.map(() => false);
    const refusals = known?.refusals ?? parts.map(() => 0);
    const outcomes = await Promise.all(parts.map((s, i) => (done[i] ? undefined : this.inner.send(s, timeoutMs, signal))));
    let retry: SendOutcome | undefined;
    let reject: SendOutcome | undefined;
    outcomes.forEach((o, i) => {
      if (!o || o.kind === 'ok') done[i] = true;
      else if (o.kind === 'retry') {
        retry ??= o;
        if (isRateLimit(o)) refusals[i]!++;
      } else reject ??= o;
    });
    // Retry first: a batch is dead-lettered only once nothing in it can still get through.
    if (!retry) {
      this.pending = undefined;
      return reject ?? { kind: 'ok' };
    }
    const copy = known?.body ?? Buffer.from(buf);
    // A new batch's parts are views into the caller's buffer: take them from the copy instead.
    const kept = known ? parts : splitStreams(copy)!;
    const next: Pending = { body: copy, parts: [], done: [], refusals: [] };
    kept.forEach((p, i) => {
      const halves = !done[i] && refusals[i]! >= HALVE_AFTER ? halveStream(p) : undefined;
      if (halves) {
        next.parts.push(...halves);
        next.done.push(false, false);
        next.refusals.push(0, 0);
      } else {
        next.parts.push(p);
        next.done.push(done[i]!);
        next.refusals.push(refusals[i]!);
      }
    });
    this.pending = next;
    return retry;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
