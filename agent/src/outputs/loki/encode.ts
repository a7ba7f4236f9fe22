/**
 * Encodes a spooled batch as a logproto.PushRequest straight from the spool's frame bytes into
 * one reused buffer: no per-line objects on the way out (a protobufjs object tree and its
 * Writer ops per batch were most of what the transport promoted into V8's old generation).
 * The output is byte-for-byte what protobufjs makes of the same streams, which the tests check
 * with protobufjs (test/loki-push/proto.ts).
 *
 *   PushRequest   { repeated StreamAdapter streams = 1; }
 *   StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; }
 *   EntryAdapter  { Timestamp timestamp = 1; bytes line = 2; }
 *   Timestamp     { int64 seconds = 1; int32 nanos = 2; }
 *
 * The encoder also returns where each stream and entry went, so a request for one stream, or
 * for part of its entries, is cut from the body without parsing it again (streamRequest).
 */
import { entryLineLength, entryStream, entrySub, ENTRY_HDR, ENTRY_MS, firstEntry, forEachFrame, readStreamTable, entryCount } from './frame.js';
import type { Batch } from './batch.js';

/** Field tags: PushRequest.streams, StreamAdapter.labels and EntryAdapter.timestamp (1, bytes), StreamAdapter.entries and EntryAdapter.line (2, bytes), Timestamp's varints. */
const TAG_1_BYTES = 0x0a;
const TAG_2_BYTES = 0x12;
const TAG_1_VARINT = 0x08;
const TAG_2_VARINT = 0x10;

/** Where one stream of an encoded request is. */
export interface StreamSpan {
  /** body[start, end) is the stream's `streams` field: by itself a one-stream PushRequest. */
  readonly start: number;
  readonly end: number;
  /** body[labelsAt, entryAt[first]) is its labels field. */
  readonly labelsAt: number;
  /** Its entries are entryAt[first, first + count). */
  readonly first: number;
  readonly count: number;
}

/** An encoded batch; valid until the encoder's next encode(). */
export interface EncodedPush {
  readonly body: Uint8Array;
  /** In request order. */
  readonly streams: readonly StreamSpan[];
  /** Offset in body of each `entries` field, stream after stream. */
  readonly entryAt: Int32Array;
}

/**
 * The one-stream PushRequest of `span`'s entries [from, to) (indexes into entryAt): a view
 * into the body for the whole stream, else a new buffer with the stream's labels and those
 * entries.
 */
export function streamRequest(enc: EncodedPush, span: StreamSpan, from = span.first, to = span.first + span.count): Uint8Array {
  const last = span.first + span.count;
  if (from === span.first && to === last) return enc.body.subarray(span.start, span.end);
  const labels = enc.body.subarray(span.labelsAt, enc.entryAt[span.first]!);
  const entries = enc.body.subarray(enc.entryAt[from]!, to < last ? enc.entryAt[to]! : span.end);
  const len = labels.length + entries.length;
  const out = Buffer.allocUnsafe(1 + varintLen(len) + len);
  out[0] = TAG_1_BYTES;
  let p = writeVarint(out, 1, len);
  out.set(labels, p);
  p += labels.length;
  out.set(entries, p);
  return out;
}

export function varintLen(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export function writeVarint(buf: Buffer, p: number, v: number): number {
  if (v < 0) {
    // int64/int32 negative: 10-byte two's complement (a time before 1970).
    let b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 9; i++) {
      buf[p++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    buf[p++] = Number(b);
    return p;
  }
  while (v >= 128) {
    buf[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}

export class PushEncoder {
  private out = Buffer.allocUnsafe(0);
  /** Per entry, in spool order: buffer index, offset of its header, stream, next entry of the same stream. */
  private eBuf = new Int32Array(0);
  private eOff = new Int32Array(0);
  private eNext = new Int32Array(0);
  /** Per entry: its Timestamp, computed once (typed arrays: no boxed numbers per line). */
  private eSec = new Float64Array(0);
  private eNanos = new Int32Array(0);
  /** Per entry, in request order: the offset of its `entries` field in the output. */
  private eOut = new Int32Array(0);

  /**
   * The encoded request; valid until the next encode() (it is sent, and resent on retry,
   * before the next batch is read). `selector` maps a stream's labels JSON to its selector.
   */
  encode(batch: Batch, selector: (labelsJson: string) => string): EncodedPush {
    const n = batch.lines;
    if (this.eOff.length < n) {
      const cap = Math.max(n, this.eOff.length * 2, 1024);
      this.eBuf = new Int32Array(cap);
      this.eOff = new Int32Array(cap);
      this.eNext = new Int32Array(cap);
      this.eSec = new Float64Array(cap);
      this.eNanos = new Int32Array(cap);
      this.eOut = new Int32Array(cap);
    }
    const bufs: Buffer[] = [];
    const ids = new Map<string, number>();
    const sels: Buffer[] = [];
    const size: number[] = [];
    const head: number[] = [];
    const tail: number[] = [];
    let k = 0;
    const local: number[] = [];
    forEachFrame(batch.ranges, (buf, payload) => {
      let bi = bufs.indexOf(buf);
      if (bi < 0) bi = bufs.push(buf) - 1;
      local.length = 0;
      const countAt = readStreamTable(buf, payload, (labels) => {
        let id = ids.get(labels);
        if (id === undefined) {
          id = sels.length;
          ids.set(labels, id);
          sels.push(Buffer.from(selector(labels), 'utf8'));
          size.push(0);
          head.push(-1);
          tail.push(-1);
        }
        local.push(id);
      });
      const count = entryCount(buf, countAt);
      let p = firstEntry(countAt);
      for (let i = 0; i < count; i++, k++) {
        const id = local[entryStream(buf, p)]!;
        const len = entryLineLength(buf, p);
        const ms = readMs(buf, p + ENTRY_MS);
        const sec = Math.floor(ms / 1000);
        const nanos = (ms - sec * 1000) * 1_000_000 + entrySub(buf, p);
        const tsLen = timestampLen(sec, nanos);
        const el = 1 + varintLen(tsLen) + tsLen + (len ? 1 + varintLen(len) + len : 0);
        this.eSec[k] = sec;
        this.eNanos[k] = nanos;
        size[id]! += 1 + varintLen(el) + el;
        this.eBuf[k] = bi;
        this.eOff[k] = p;
        this.eNext[k] = -1;
        if (tail[id]! < 0) head[id] = k;
        else this.eNext[tail[id]!] = k;
        tail[id] = k;
        p += ENTRY_HDR + len;
      }
    });
    let total = 0;
    for (let id = 0; id < sels.length; id++) {
      size[id]! += 1 + varintLen(sels[id]!.length) + sels[id]!.length;
      total += 1 + varintLen(size[id]!) + size[id]!;
    }
    if (this.out.length < total) this.out = Buffer.allocUnsafe(Math.max(total, Math.min(this.out.length * 2, total + (total >> 1))));
    const out = this.out;
    const streams: StreamSpan[] = [];
    let q = 0;
    let o = 0;
    for (let id = 0; id < sels.length; id++) {
      const start = q;
      const first = o;
      out[q++] = TAG_1_BYTES;
      q = writeVarint(out, q, size[id]!);
      const labelsAt = q;
      const sel = sels[id]!;
      out[q++] = TAG_1_BYTES;
      q = writeVarint(out, q, sel.length);
      q += sel.copy(out, q);
      for (let e = head[id]!; e >= 0; e = this.eNext[e]!) {
        const buf = bufs[this.eBuf[e]!]!;
        const p = this.eOff[e]!;
        const len = entryLineLength(buf, p);
        const sec = this.eSec[e]!;
        const nanos = this.eNanos[e]!;
        const tsLen = timestampLen(sec, nanos);
        this.eOut[o++] = q;
        out[q++] = TAG_2_BYTES;
        q = writeVarint(out, q, 1 + varintLen(tsLen) + tsLen + (len ? 1 + varintLen(len) + len : 0));
        out[q++] = TAG_1_BYTES;
        q = writeVarint(out, q, tsLen);
        if (sec !== 0) {
          out[q++] = TAG_1_VARINT;
          q = writeVarint(out, q, sec);
        }
        if (nanos !== 0) {
          out[q++] = TAG_2_VARINT;
          q = writeVarint(out, q, nanos);
        }
        if (len) {
          out[q++] = TAG_2_BYTES;
          q = writeVarint(out, q, len);
          q = copyBytes(buf, p + ENTRY_HDR, len, out, q);
        }
      }
      streams.push({ start, end: q, labelsAt, first, count: o - first });
    }
    if (q !== total) throw new Error(`loki push encoder: wrote ${q} bytes, computed ${total}`);
    return { body: out.subarray(0, total), streams, entryAt: this.eOut };
  }
}

/**
 * Copies src[from, from+len) to dst at q and returns the end. Buffer#copy with offsets makes
 * a Uint8Array view per call (~90 bytes of garbage a line at push rates); a short line is
 * copied by hand instead.
 */
function copyBytes(src: Buffer, from: number, len: number, dst: Buffer, q: number): number {
  if (len > 256) return q + src.copy(dst, q, from, from + len);
  for (let i = 0; i < len; i++) dst[q + i] = src[from + i]!;
  return q + len;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
/** The spool stores little-endian; a big-endian host reads the bytes in reverse. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The f64 epoch ms at buf[p]: read by hand, as Buffer#readDoubleLE boxes its result. */
function readMs(buf: Buffer, p: number): number {
  if (HOST_LE) for (let i = 0; i < 8; i++) f64Bytes[i] = buf[p + i]!;
  else for (let i = 0; i < 8; i++) f64Bytes[7 - i] = buf[p + i]!;
  return f64[0]!;
}

/** proto3: fields at their default (0, empty) are not written, as protobufjs does. */
function timestampLen(sec: number, nanos: number): number {
  return (sec !== 0 ? 1 + varintLen(sec) : 0) + (nanos !== 0 ? 1 + varintLen(nanos) : 0);
}
