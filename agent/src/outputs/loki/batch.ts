/**
 * Batches: whole frames read from the segments after the read position, up to the batch
 * limits, into one read buffer reused by every batch (one batch is in flight at a time).
 */
import type { Pos } from './cursor.js';
import { decodeFrame, entryCount, forEachFrame, frameEntriesAt, framePayloadLength, FRAME_HDR, type BatchEntry, type FrameRange } from './frame.js';
import { SegmentReader, type Segment } from './segment.js';

/**
 * A batch refers to the spool's read buffer (no per-line objects): it is valid until the next
 * read, i.e. while it is in flight. `streams` decodes it into objects on demand (dead letter,
 * tests); the push request is encoded straight from `ranges` (encode.ts).
 */
export class Batch {
  lines = 0;
  bytes = 0;
  readonly ranges: FrameRange[] = [];
  /** Segment seq → lines of the batch in it. */
  readonly perSegment = new Map<number, number>();
  private decoded: Map<string, BatchEntry[]> | undefined;
  constructor(
    public start: Pos,
    public end: Pos,
  ) {}

  /** labels JSON → entries, in spool order. */
  get streams(): Map<string, BatchEntry[]> {
    if (!this.decoded) {
      const decoded = new Map<string, BatchEntry[]>();
      forEachFrame(this.ranges, (buf, p, len) => decodeFrame(buf.subarray(p, p + len), decoded));
      this.decoded = decoded;
    }
    return this.decoded;
  }
}

/** Bytes read from a segment at once: the batch limit and a quarter, plus 64 KiB, at least 1 MiB (≈ 1.3 × max_bytes resident). */
const readSize = (maxBytes: number): number => Math.max(maxBytes + (maxBytes >> 2) + 65_536, 1 << 20);

export class BatchReader {
  private rbuf = Buffer.allocUnsafe(0);
  readonly files = new SegmentReader();

  /**
   * The next batch of whole frames of `segs` from `from`, or undefined when nothing is unread.
   * `active` is the segment being written: reading stops at its end.
   */
  read(segs: readonly Segment[], active: Segment, from: Pos, maxLines: number, maxBytes: number): Batch | undefined {
    const batch = new Batch({ ...from }, { ...from });
    let pos = { ...from };
    let used = 0; // bytes of this.rbuf holding the batch's frames
    outer: for (;;) {
      const seg = segs.find((s) => s.seq >= pos.seq);
      if (!seg) break;
      if (seg.seq !== pos.seq) pos = { seq: seg.seq, offset: 0 };
      if (pos.offset >= seg.size) {
        if (seg === active) break;
        pos = { seq: seg.seq + 1, offset: 0 };
        continue;
      }
      const want = Math.min(seg.size - pos.offset, readSize(maxBytes));
      if (this.rbuf.length - used < want) {
        // Frames already taken keep the old buffer alive through their range; it goes with the batch.
        this.rbuf = Buffer.allocUnsafe(Math.max(want, Math.min(this.rbuf.length * 2, want + used)));
        used = 0;
      }
      let chunk = this.rbuf;
      let base = used;
      let got = this.files.read(seg, chunk, base, want, pos.offset);
      let end = base + got;
      let p = base;
      const range: FrameRange = { buf: chunk, start: base, end: base };
      while (p + FRAME_HDR <= end) {
        const len = framePayloadLength(chunk, p);
        if (p + FRAME_HDR + len > end) {
          if (p > base) break;
          // A frame longer than the chunk: read it alone.
          chunk = Buffer.allocUnsafe(FRAME_HDR + len);
          got = this.files.read(seg, chunk, 0, FRAME_HDR + len, pos.offset);
          if (got < FRAME_HDR + len) break outer; // cannot happen: size counts whole frames only
          base = 0;
          p = 0;
          end = got;
          range.buf = chunk;
          range.start = range.end = 0;
          continue;
        }
        const n = entryCount(chunk, frameEntriesAt(chunk, p + FRAME_HDR));
        if (batch.lines > 0 && (batch.lines + n > maxLines || batch.bytes + len > maxBytes)) {
          if (range.end > range.start) batch.ranges.push(range);
          break outer;
        }
        batch.lines += n;
        batch.bytes += len;
        batch.perSegment.set(seg.seq, (batch.perSegment.get(seg.seq) ?? 0) + n);
        p += FRAME_HDR + len;
        range.end = p;
        pos = { seq: seg.seq, offset: pos.offset + FRAME_HDR + len };
        batch.end = { ...pos };
        if (batch.lines >= maxLines || batch.bytes >= maxBytes) {
          batch.ranges.push(range);
          break outer;
        }
      }
      if (range.end === range.start) break;
      batch.ranges.push(range);
      if (range.buf === this.rbuf) used = range.end;
    }
    return batch.lines === 0 ? undefined : batch;
  }
}
