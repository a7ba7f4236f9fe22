/**
 * The spool's frame codec: the one place that knows the byte layout of a frame.
 *
 * A frame is one group commit (the lines of one event-loop turn, cut at the batch limits):
 *   header  = u32 payloadLength | u32 crc32(payload)
 *   payload = u16 nStreams, nStreams × (u32 len, JSON object of labels),
 *             u32 nEntries, nEntries × entry
 *   entry   = u16 stream | f64 epochMs | u32 subMsNanos | u32 lineLength | UTF-8 line
 * All little-endian. Frames are self-contained, so a reader can start at any frame boundary.
 */
import * as zlib from 'node:zlib';

/** Frame header fields (offsets from the frame's start) and its size. */
export const FRAME_LEN = 0;
export const FRAME_CRC = 4;
export const FRAME_HDR = 8;

/** Payload: the stream count (u16), each label table entry's length prefix (u32), the entry count (u32). */
const STREAM_COUNT_BYTES = 2;
const LABELS_LEN_BYTES = 4;
const ENTRY_COUNT_BYTES = 4;
/** The smallest payload: no streams, no entries. */
export const MIN_PAYLOAD = STREAM_COUNT_BYTES + ENTRY_COUNT_BYTES;

/** Entry header fields (offsets from the entry's start) and its size; the line follows it. */
export const ENTRY_STREAM = 0;
export const ENTRY_MS = 2;
export const ENTRY_SUB = 10;
export const ENTRY_LEN = 14;
export const ENTRY_HDR = 18;

/** Node ≥ 20.15 / 22.2 has zlib.crc32; the table version is for older ones. */
export const crc32: (b: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (b) => (zlib as unknown as { crc32(b: Uint8Array): number }).crc32(b)
    : (() => {
        const t = new Int32Array(256);
        for (let n = 0; n < 256; n++) {
          let c = n;
          for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
          t[n] = c;
        }
        return (b: Uint8Array) => {
          let c = -1;
          for (let i = 0; i < b.length; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
          return (c ^ -1) >>> 0;
        };
      })();

/** Whole frames, back to back: `buf[start, end)`. */
export interface FrameRange {
  buf: Buffer;
  start: number;
  end: number;
}

export interface BatchEntry {
  ms: number;
  sub: number;
  line: Buffer;
}

/** Payload length of the frame at `frame`. */
export const framePayloadLength = (buf: Buffer, frame: number): number => buf.readUInt32LE(frame + FRAME_LEN);
export const frameCrc = (buf: Buffer, frame: number): number => buf.readUInt32LE(frame + FRAME_CRC);

/** Calls fn(buf, payloadStart, payloadLength) for every frame of the ranges, in order. */
export function forEachFrame(ranges: readonly FrameRange[], fn: (buf: Buffer, payload: number, len: number) => void): void {
  for (const r of ranges) {
    for (let p = r.start; p < r.end; ) {
      const len = framePayloadLength(r.buf, p);
      fn(r.buf, p + FRAME_HDR, len);
      p += FRAME_HDR + len;
    }
  }
}

/**
 * Reads the label table of the payload at `payload`, calling fn(labelsJson) per stream in
 * index order; returns the offset of the entry count.
 */
export function readStreamTable(buf: Buffer, payload: number, fn?: (labels: string) => void): number {
  const ns = buf.readUInt16LE(payload);
  let p = payload + STREAM_COUNT_BYTES;
  for (let i = 0; i < ns; i++) {
    const len = buf.readUInt32LE(p);
    fn?.(buf.toString('utf8', p + LABELS_LEN_BYTES, p + LABELS_LEN_BYTES + len));
    p += LABELS_LEN_BYTES + len;
  }
  return p;
}

/** Offset (in buf) of the entry count of the frame payload starting at `payload`. */
export const frameEntriesAt = (buf: Buffer, payload: number): number => readStreamTable(buf, payload);
export const entryCount = (buf: Buffer, countAt: number): number => buf.readUInt32LE(countAt);
/** Offset of the first entry, given the offset of the entry count. */
export const firstEntry = (countAt: number): number => countAt + ENTRY_COUNT_BYTES;
export const entryStream = (buf: Buffer, e: number): number => buf.readUInt16LE(e + ENTRY_STREAM);
export const entrySub = (buf: Buffer, e: number): number => buf.readUInt32LE(e + ENTRY_SUB);
export const entryLineLength = (buf: Buffer, e: number): number => buf.readUInt32LE(e + ENTRY_LEN);

/** Entry count of a frame payload, or -1 if it does not parse. */
export function frameEntryCount(payload: Buffer): number {
  try {
    const at = frameEntriesAt(payload, 0);
    const n = entryCount(payload, at);
    let q = firstEntry(at);
    for (let i = 0; i < n; i++) {
      q += ENTRY_HDR + entryLineLength(payload, q);
      if (q > payload.length) return -1;
    }
    return q === payload.length ? n : -1;
  } catch {
    return -1;
  }
}

/** Decodes a frame payload into objects, appending to `streams` (labels JSON → entries). */
export function decodeFrame(payload: Buffer, streams: Map<string, BatchEntry[]>): void {
  const lists: BatchEntry[][] = [];
  const at = readStreamTable(payload, 0, (labels) => {
    let list = streams.get(labels);
    if (!list) streams.set(labels, (list = []));
    lists.push(list);
  });
  const n = entryCount(payload, at);
  let p = firstEntry(at);
  for (let i = 0; i < n; i++) {
    const len = entryLineLength(payload, p);
    lists[entryStream(payload, p)]!.push({ ms: payload.readDoubleLE(p + ENTRY_MS), sub: entrySub(payload, p), line: payload.subarray(p + ENTRY_HDR, p + ENTRY_HDR + len) });
    p += ENTRY_HDR + len;
  }
}

export interface FrameLimits {
  /** Lines per frame (the batch's max_lines, so a frame never needs splitting when read). */
  maxLines: number;
  /** Line bytes per frame (the batch's max_bytes). */
  maxBytes: number;
}

/**
 * Builds frames in memory: stage() encodes one line into the open frame (no object per line:
 * at push rates those were the transport's main garbage); a full open frame is sealed into the
 * run of frames that take() hands over for writing.
 */
export class FrameStager {
  /** Sealed frames back to back from 0 to wpos; `sealed` holds start, end, lines per frame. */
  private wbuf = Buffer.allocUnsafe(1 << 20);
  private wpos = 0;
  private sealed: number[] = [];
  private sealedLines = 0;
  /** The open frame: its entries in ebuf[0, epos), its stream table, and its size so far. */
  private ebuf = Buffer.allocUnsafe(1 << 16);
  private epos = 0;
  private openStreams = new Map<string, number>();
  private openTableBytes = 0;
  private openLines = 0;
  private openLineBytes = 0;

  constructor(private readonly limits: FrameLimits) {}

  /** Lines staged and not yet taken. */
  get lines(): number {
    return this.sealedLines + this.openLines;
  }

  stage(labels: string, ms: number, sub: number, line: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const need = this.epos + ENTRY_HDR + line.length * 3;
    if (need > this.ebuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.ebuf.length * 2));
      this.ebuf.copy(grown, 0, 0, this.epos);
      this.ebuf = grown;
    }
    let e = this.epos;
    const n = this.ebuf.write(line, e + ENTRY_HDR, 'utf8');
    if (this.openLines > 0 && this.openLineBytes + n > this.limits.maxBytes) {
      // This line would overflow the frame: seal what precedes it; the line opens the next one.
      this.seal();
      this.ebuf.copy(this.ebuf, ENTRY_HDR, e + ENTRY_HDR, e + ENTRY_HDR + n);
      e = 0;
    }
    let si = this.openStreams.get(labels);
    if (si === undefined) {
      si = this.openStreams.size;
      this.openStreams.set(labels, si);
      this.openTableBytes += LABELS_LEN_BYTES + Buffer.byteLength(labels);
    }
    this.ebuf.writeUInt16LE(si, e + ENTRY_STREAM);
    this.ebuf.writeDoubleLE(ms, e + ENTRY_MS);
    this.ebuf.writeUInt32LE(sub, e + ENTRY_SUB);
    this.ebuf.writeUInt32LE(n, e + ENTRY_LEN);
    this.epos = e + ENTRY_HDR + n;
    this.openLines++;
    this.openLineBytes += n;
    if (this.openLines >= this.limits.maxLines) this.seal();
  }

  /**
   * Seals the open frame and hands over every sealed frame: `buf` holds them, `frames` lists
   * start, end and line count of each. Both are valid until the next stage().
   */
  take(): { buf: Buffer; frames: number[] } {
    this.seal();
    const out = { buf: this.wbuf, frames: this.sealed };
    this.sealed = [];
    this.sealedLines = 0;
    this.wpos = 0;
    return out;
  }

  /** Frames the open frame into wbuf, after the frames sealed before it, and empties it. */
  private seal(): void {
    const lines = this.openLines;
    if (lines === 0) return;
    const size = FRAME_HDR + STREAM_COUNT_BYTES + this.openTableBytes + ENTRY_COUNT_BYTES + this.epos;
    if (this.wpos + size > this.wbuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.wpos + size, this.wbuf.length * 2));
      this.wbuf.copy(grown, 0, 0, this.wpos);
      this.wbuf = grown;
    }
    const buf = this.wbuf;
    const start = this.wpos;
    let p = start + FRAME_HDR;
    buf.writeUInt16LE(this.openStreams.size, p);
    p += STREAM_COUNT_BYTES;
    for (const labels of this.openStreams.keys()) {
      const n = buf.write(labels, p + LABELS_LEN_BYTES, 'utf8');
      buf.writeUInt32LE(n, p);
      p += LABELS_LEN_BYTES + n;
    }
    buf.writeUInt32LE(lines, p);
    p += ENTRY_COUNT_BYTES;
    p += this.ebuf.copy(buf, p, 0, this.epos);
    buf.writeUInt32LE(p - start - FRAME_HDR, start + FRAME_LEN);
    buf.writeUInt32LE(crc32(buf.subarray(start + FRAME_HDR, p)), start + FRAME_CRC);
    this.wpos = p;
    this.sealed.push(start, p, lines);
    this.sealedLines += lines;
    this.openStreams = new Map();
    this.openTableBytes = 0;
    this.openLines = 0;
    this.openLineBytes = 0;
    this.epos = 0;
  }
}
