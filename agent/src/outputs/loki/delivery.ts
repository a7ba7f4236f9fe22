/**
 * Delivering one batch: one request per stream, for both transports. Loki's ingester answers a
 * push with the error of the LAST stream only (pkg/ingester/instance.go, Push: "the returned
 * error only reflects what happened to the last stream in the request"), and the distributor
 * forwards its streams to the ingester in one call: a stream refused for per_stream_rate_limit,
 * or too old, is lost behind a 2xx when another stream follows it. A one-stream request's
 * answer is that stream's. The parts already accepted are remembered, so a retry sends only
 * those that were not: no line lost, none sent twice.
 *
 * A part that a rate limit keeps refusing is sent in halves: Loki's limiters check a request
 * (tenant) or its entries in order (stream) against a bucket, so a part bigger than the burst
 * would never get in, and its resends would spend the bucket on the same first entries.
 *
 * The parts are cut from where the encoder put each stream and entry (encode.ts): nothing is
 * parsed. A whole stream is a view into the encoded body, valid while the batch is in flight.
 */
import { streamRequest, type EncodedPush, type StreamSpan } from './encode.js';
import type { Sender, SendOutcome } from './sender.js';

/** Refusals of one part by a rate limit before it is sent in halves. */
const HALVE_AFTER = 3;

/** A one-stream request: entries [from, to) of `span` (indexes into EncodedPush.entryAt). */
export interface Part {
  readonly span: StreamSpan;
  readonly from: number;
  readonly to: number;
  readonly request: Uint8Array;
  accepted: boolean;
  rateLimited: number;
}

const part = (enc: EncodedPush, span: StreamSpan, from: number, to: number): Part => ({ span, from, to, request: streamRequest(enc, span, from, to), accepted: false, rateLimited: 0 });

/** One part per stream of the request. */
export const streamParts = (enc: EncodedPush): Part[] => enc.streams.map((s) => part(enc, s, s.first, s.first + s.count));

/** The part in two, each with the stream's labels and half of the entries; undefined for one entry. */
export function halve(enc: EncodedPush, p: Part): [Part, Part] | undefined {
  if (p.to - p.from < 2) return undefined;
  const cut = p.from + ((p.to - p.from) >> 1);
  return [part(enc, p.span, p.from, cut), part(enc, p.span, cut, p.to)];
}

const isRateLimit = (o: SendOutcome): boolean => o.kind === 'retry' && (o.status === 429 || /rate limit/i.test(o.reason));

export class BatchDelivery {
  private parts: Part[];

  constructor(private readonly enc: EncodedPush) {
    this.parts = streamParts(enc);
  }

  /**
   * Sends every part not yet accepted, concurrently. ok once every part is accepted; retry
   * (the first retryable part's outcome) while any part may still get in; reject (the first
   * refusal) once every part left is refused for good: a batch is dead-lettered only then.
   */
  async send(sender: Sender, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    const outcomes = await Promise.all(this.parts.map((p) => (p.accepted ? undefined : sender.send(p.request, timeoutMs, signal))));
    let retry: SendOutcome | undefined;
    let reject: SendOutcome | undefined;
    outcomes.forEach((o, i) => {
      const p = this.parts[i]!;
      if (!o || o.kind === 'ok') p.accepted = true;
      else if (o.kind === 'retry') {
        retry ??= o;
        if (isRateLimit(o)) p.rateLimited++;
      } else reject ??= o;
    });
    if (!retry) return reject ?? { kind: 'ok' };
    this.parts = this.parts.flatMap((p) => (!p.accepted && p.rateLimited >= HALVE_AFTER ? halve(this.enc, p) ?? [p] : [p]));
    return retry;
  }
}
