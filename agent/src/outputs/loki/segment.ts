/**
 * The spool's segment files, `seg-<16 digit seq>.spool`: append-only runs of frames (frame.ts),
 * oldest first. One is written (the active one), one at a time is read.
 */
import { closeSync, copyFileSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, frameCrc, frameEntryCount, framePayloadLength, FRAME_HDR, MIN_PAYLOAD } from './frame.js';
import type { SpoolReport } from './report.js';

export interface Segment {
  seq: number;
  path: string;
  /** Bytes of whole frames. */
  size: number;
  lines: number;
  /** Lines handed to readBatch (acknowledged ones included). */
  readLines: number;
  ackedLines: number;
}

const SEG_RE = /^seg-(\d{16})\.spool$/;

export function segName(seq: number): string {
  return `seg-${String(seq).padStart(16, '0')}.spool`;
}

export const segPath = (dir: string, seq: number): string => join(dir, segName(seq));

/** Sequence numbers of the segment files in `dir`, ascending. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map((n) => SEG_RE.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * Validates a segment's frames (CRC and layout); cuts off, copies aside and reports a torn or
 * corrupt tail (a write cut short by a crash: never accepted). Lines in frames ending at or
 * before `ackOffset` count as acknowledged.
 */
export function scanSegment(seq: number, path: string, ackOffset: number, report: (r: SpoolReport) => void): Segment {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    let off = 0;
    let lines = 0;
    let acked = 0;
    const hdr = Buffer.alloc(FRAME_HDR);
    let bad: string | undefined;
    while (off < size) {
      if (size - off < FRAME_HDR || readSync(fd, hdr, 0, FRAME_HDR, off) !== FRAME_HDR) { bad = 'torn frame header'; break; }
      const len = framePayloadLength(hdr, 0);
      if (len < MIN_PAYLOAD || off + FRAME_HDR + len > size) { bad = 'torn frame'; break; }
      const payload = Buffer.allocUnsafe(len);
      readSync(fd, payload, 0, len, off + FRAME_HDR);
      if (crc32(payload) !== frameCrc(hdr, 0)) { bad = 'CRC mismatch'; break; }
      const n = frameEntryCount(payload);
      if (n < 0) { bad = 'malformed frame'; break; }
      lines += n;
      off += FRAME_HDR + len;
      if (off <= ackOffset) acked += n;
    }
    if (bad) {
      const aside = `${path}.${off}.corrupt`;
      copyFileSync(path, aside);
      ftruncateSync(fd, off);
      report({
        level: 'WARN',
        code: 'spool_torn_tail',
        message: `loki spool: ${segName(seq)}: ${bad} at byte ${off}; cut ${size - off} bytes (a write interrupted by a crash: those lines were never accepted); copy kept in ${aside}`,
      });
    }
    return { seq, path, size: off, lines, readLines: acked, ackedLines: acked };
  } finally {
    closeSync(fd);
  }
}

export function removeSegmentFile(s: Segment): void {
  try { unlinkSync(s.path); } catch { /* gone */ }
}

/** The active segment's file: appended to, fdatasync'd on demand. */
export class SegmentWriter {
  private fd = -1;
  private dirty = false;

  /** Starts writing `seg` (a new, empty file); the previous one is synced and closed. */
  open(seg: Segment): void {
    this.close();
    this.fd = openSync(seg.path, 'a', 0o640);
  }

  /** Appends buf[start, end) with write(2); on failure the file is cut back to `size` (whole frames only). */
  append(buf: Buffer, start: number, end: number, size: number): void {
    const len = end - start;
    let done = 0;
    try {
      while (done < len) done += writeSync(this.fd, buf, start + done, len - done);
    } catch (e) {
      try { ftruncateSync(this.fd, size); } catch { /* keep the original error */ }
      throw e;
    }
    this.dirty = true;
  }

  sync(): void {
    if (this.dirty && this.fd >= 0) {
      fdatasyncSync(this.fd);
      this.dirty = false;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    this.dirty = false;
  }
}

/** One open file descriptor for reading, kept while reads stay in the same segment. */
export class SegmentReader {
  private fd = -1;
  private seq = -1;

  read(s: Segment, into: Buffer, at: number, length: number, position: number): number {
    if (this.seq !== s.seq) {
      this.close();
      this.fd = openSync(s.path, 'r');
      this.seq = s.seq;
    }
    return readSync(this.fd, into, at, length, position);
  }

  /** Closes the descriptor if it is for segment `seq` (about to be deleted). */
  forget(seq: number): void {
    if (this.seq === seq) this.close();
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.seq = -1;
  }
}
