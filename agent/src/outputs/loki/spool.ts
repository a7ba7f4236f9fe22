/**
 * The on-disk spool behind the Loki transport.
 *
 * Layout of spool_dir:
 *   seg-<16 digit seq>.spool  append-only segment files, oldest first
 *   cursor                    {"seq":N,"offset":M}: everything before it was answered 2xx (or dead-lettered)
 *   lock                      pid of the process that owns the spool
 *   dead-letter.ndjson        batches Loki refused for good (see transport.ts)
 *
 * A segment is a sequence of frames. A frame is one group commit (all lines that arrived in
 * one event-loop turn, split at batch.max_lines / batch.max_bytes):
 *   u32 payloadLength | u32 crc32(payload) | payload
 *   payload = u16 nStreams, nStreams × (u32 len, JSON object of labels),
 *             u32 nEntries, nEntries × (u16 stream, f64 epochMs, u32 subMsNanos, u32 len, UTF-8 line)
 * Frames are self-contained, so a reader can start at any frame boundary.
 *
 * A line is accepted once its frame has been written with write(2) (so it is in the kernel and
 * survives kill -9 of the agent); fdatasync follows per `fsync` ('always': before acceptance;
 * N ms: at most every N ms, and on rotation and close). On open, every segment after the
 * cursor is scanned and CRC-checked; a torn or corrupt tail (a write cut short by a crash, so
 * never accepted) is cut off, copied aside and reported.
 */
import { closeSync, copyFileSync, existsSync, fdatasyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { pidAlive } from '../../core/pid.js';

export interface Pos {
  seq: number;
  offset: number;
}

export function cmpPos(a: Pos, b: Pos): number {
  return a.seq - b.seq || a.offset - b.offset;
}

/** A line on its way into the spool. `labels` is the JSON of the stream's label object (sorted keys). */
export interface SpoolLine {
  labels: string;
  ms: number;
  sub: number;
  line: string;
}

export interface BatchEntry {
  ms: number;
  sub: number;
  line: Buffer;
}

/** Whole frames, back to back: `buf[start, end)`. */
export interface FrameRange {
  buf: Buffer;
  start: number;
  end: number;
}

/**
 * A batch refers to the spool's read buffer (no per-line objects): it is valid until the next
 * readBatch(), i.e. while it is in flight. `streams` decodes it into objects on demand (dead
 * letter, tests); the push request is encoded straight from `ranges` (encode.ts).
 */
export class Batch {
  lines = 0;
  bytes = 0;
  readonly ranges: FrameRange[] = [];
  readonly perSegment = new Map<number, number>();
  private decoded: Map<string, BatchEntry[]> | undefined;
  constructor(
    public start: Pos,
    public end: Pos,
  ) {}

  /** labels JSON → entries, in spool order. */
  get streams(): Map<string, BatchEntry[]> {
    if (!this.decoded) {
      this.decoded = new Map();
      forEachFrame(this.ranges, (buf, p, len) => decodeFrame(buf.subarray(p, p + len), this.decoded!));
    }
    return this.decoded;
  }
}

/** Calls fn(buf, payloadStart, payloadLength) for every frame of the ranges, in order. */
export function forEachFrame(ranges: readonly FrameRange[], fn: (buf: Buffer, payload: number, len: number) => void): void {
  for (const r of ranges) {
    for (let p = r.start; p < r.end; ) {
      const len = r.buf.readUInt32LE(p);
      fn(r.buf, p + HDR, len);
      p += HDR + len;
    }
  }
}

export interface SpoolReport {
  level: 'ERROR' | 'WARN' | 'INFO';
  code: string;
  message: string;
  count?: number;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  policy: 'drop_oldest' | 'drop_newest';
  fsync: 'always' | number;
  /** Frame limits (the batch limits, so a frame never needs splitting when read). */
  frameMaxLines: number;
  frameMaxBytes: number;
  report: (r: SpoolReport) => void;
  /** Segment size; default clamp(maxBytes/8, 64 KiB, 32 MiB). */
  segmentBytes?: number;
}

interface Segment {
  seq: number;
  path: string;
  size: number;
  lines: number;
  readLines: number;
  ackedLines: number;
}

export const HDR = 8;
export const ENTRY_HDR = 18;
const SEG_RE = /^seg-(\d{16})\.spool$/;

const crc32: (b: Uint8Array) => number =
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

function segName(seq: number): string {
  return `seg-${String(seq).padStart(16, '0')}.spool`;
}

export class Spool {
  private readonly o: Required<SpoolOptions>;
  private segs: Segment[] = [];
  private active!: Segment;
  private wfd = -1;
  private rfd = -1;
  private rfdSeq = -1;
  private readPos: Pos = { seq: 0, offset: 0 };
  private ackPos: Pos = { seq: 0, offset: 0 };
  private inflight: { start: Pos; end: Pos } | undefined;
  /** Sealed frames waiting for commit(), back to back from 0 to wpos; `sealed` holds start, end, lines per frame. */
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
  /** Read buffer, reused by every batch (one batch is in flight at a time). */
  private rbuf = Buffer.allocUnsafe(0);
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private totalBytes = 0;
  private opened = false;
  /** Lines dropped at the bound (by either policy), since open. */
  droppedAtBound = 0;
  private boundEpisode: { since: number; dropped: number; lastReport: number } | undefined;

  constructor(opts: SpoolOptions) {
    this.o = {
      segmentBytes: Math.min(32 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 8))),
      ...opts,
    };
  }

  get dir(): string {
    return this.o.dir;
  }

  /** Lines spooled and not yet acknowledged (in-flight included). */
  get pendingLines(): number {
    let n = 0;
    for (const s of this.segs) n += s.lines - s.ackedLines;
    return n;
  }

  /** Lines spooled and not yet handed to readBatch. */
  get unreadLines(): number {
    let n = 0;
    for (const s of this.segs) n += s.lines - s.readLines;
    return n;
  }

  /** Bytes of frames after the read position. */
  get unreadBytes(): number {
    let n = 0;
    for (const s of this.segs) {
      if (s.seq > this.readPos.seq) n += s.size;
      else if (s.seq === this.readPos.seq) n += s.size - this.readPos.offset;
    }
    return n;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Position after the last frame written: a forceFlush target. */
  get writePos(): Pos {
    return { seq: this.active.seq, offset: this.active.size };
  }

  get acked(): Pos {
    return this.ackPos;
  }

  open(): { recoveredLines: number } {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o750 });
    this.lock();
    const cursor = this.readCursor();
    const seqs = readdirSync(this.o.dir)
      .map((n) => SEG_RE.exec(n))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let recovered = 0;
    for (const seq of seqs) {
      const path = join(this.o.dir, segName(seq));
      if (cursor && seq < cursor.seq) {
        unlinkSync(path);
        continue;
      }
      const seg = this.scan(seq, path, cursor && cursor.seq === seq ? cursor.offset : 0);
      if (seg.lines === seg.ackedLines && !(cursor && cursor.seq === seq && seg.size > cursor.offset)) {
        unlinkSync(path);
        continue;
      }
      recovered += seg.lines - seg.ackedLines;
      this.segs.push(seg);
    }
    const first = this.segs[0];
    if (first) {
      const off = cursor && cursor.seq === first.seq ? Math.min(cursor.offset, first.size) : 0;
      this.ackPos = { seq: first.seq, offset: off };
    }
    const nextSeq = (seqs.length ? seqs[seqs.length - 1]! : cursor?.seq ?? 0) + 1;
    this.newActive(nextSeq);
    if (!first) this.ackPos = { seq: this.active.seq, offset: 0 };
    this.readPos = { ...this.ackPos };
    this.totalBytes = this.segs.reduce((n, s) => n + s.size, 0);
    this.writeCursor();
    if (typeof this.o.fsync === 'number') {
      this.syncTimer = setInterval(() => this.sync(), this.o.fsync);
      this.syncTimer.unref();
    }
    this.opened = true;
    if (recovered > 0) this.o.report({ level: 'INFO', code: 'spool_recovered', message: `loki spool: ${recovered} unsent lines found in ${this.o.dir}; resending them with their original timestamps`, count: recovered });
    return { recoveredLines: recovered };
  }

  private lock(): void {
    const p = join(this.o.dir, 'lock');
    if (existsSync(p)) {
      const pid = Number(readFileSync(p, 'utf8').trim());
      if (pid && pid !== process.pid && pidAlive(pid)) throw new Error(`loki spool ${this.o.dir} is in use by process ${pid}`);
    }
    writeFileSync(p, `${process.pid}\n`);
  }

  private readCursor(): Pos | undefined {
    try {
      const c = JSON.parse(readFileSync(join(this.o.dir, 'cursor'), 'utf8')) as Pos;
      if (Number.isInteger(c.seq) && Number.isInteger(c.offset)) return c;
    } catch {
      /* no cursor yet */
    }
    return undefined;
  }

  private writeCursor(): void {
    const p = join(this.o.dir, 'cursor');
    writeFileSync(`${p}.tmp`, JSON.stringify(this.ackPos));
    renameSync(`${p}.tmp`, p);
  }

  /** Validates a segment's frames; cuts off (and copies aside) a torn or corrupt tail. */
  private scan(seq: number, path: string, ackOffset: number): Segment {
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      let off = 0;
      let lines = 0;
      let acked = 0;
      const hdr = Buffer.alloc(HDR);
      let bad: string | undefined;
      while (off < size) {
        if (size - off < HDR || readSync(fd, hdr, 0, HDR, off) !== HDR) { bad = 'torn frame header'; break; }
        const len = hdr.readUInt32LE(0);
        if (len < 6 || off + HDR + len > size) { bad = 'torn frame'; break; }
        const payload = Buffer.allocUnsafe(len);
        readSync(fd, payload, 0, len, off + HDR);
        if (crc32(payload) !== hdr.readUInt32LE(4)) { bad = 'CRC mismatch'; break; }
        const n = frameEntryCount(payload);
        if (n < 0) { bad = 'malformed frame'; break; }
        lines += n;
        off += HDR + len;
        if (off <= ackOffset) acked += n;
      }
      if (bad) {
        const aside = `${path}.${off}.corrupt`;
        copyFileSync(path, aside);
        ftruncateSync(fd, off);
        this.o.report({
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

  private newActive(seq: number): void {
    if (this.wfd >= 0) {
      fdatasyncSync(this.wfd);
      closeSync(this.wfd);
    }
    const path = join(this.o.dir, segName(seq));
    this.wfd = openSync(path, 'a', 0o640);
    this.active = { seq, path, size: 0, lines: 0, readLines: 0, ackedLines: 0 };
    this.segs.push(this.active);
    this.dirty = false;
  }

  sync(): void {
    if (this.dirty && this.wfd >= 0) {
      fdatasyncSync(this.wfd);
      this.dirty = false;
    }
  }

  /** Stages lines and commits them: how many were accepted (see commit()). */
  append(lines: readonly SpoolLine[]): number {
    for (const l of lines) this.stage(l.labels, l.ms, l.sub, l.line);
    return this.commit();
  }

  /** Lines staged and not yet committed. */
  get stagedLines(): number {
    return this.sealedLines + this.openLines;
  }

  /**
   * Encodes one line into the open frame, in memory (no object per line: at push rates those
   * were the transport's main garbage). It counts only once commit() has written it.
   */
  stage(labels: string, ms: number, sub: number, line: string): void {
    const need = this.epos + ENTRY_HDR + line.length * 3;
    if (need > this.ebuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.ebuf.length * 2));
      this.ebuf.copy(grown, 0, 0, this.epos);
      this.ebuf = grown;
    }
    let e = this.epos;
    const n = this.ebuf.write(line, e + ENTRY_HDR, 'utf8');
    if (this.openLines > 0 && this.openLineBytes + n > this.o.frameMaxBytes) {
      // This line would overflow the frame: seal what precedes it; the line opens the next one.
      this.sealOpenFrame();
      this.ebuf.copy(this.ebuf, ENTRY_HDR, e + ENTRY_HDR, e + ENTRY_HDR + n);
      e = 0;
    }
    let si = this.openStreams.get(labels);
    if (si === undefined) {
      si = this.openStreams.size;
      this.openStreams.set(labels, si);
      this.openTableBytes += 4 + Buffer.byteLength(labels);
    }
    this.ebuf.writeUInt16LE(si, e);
    this.ebuf.writeDoubleLE(ms, e + 2);
    this.ebuf.writeUInt32LE(sub, e + 10);
    this.ebuf.writeUInt32LE(n, e + 14);
    this.epos = e + ENTRY_HDR + n;
    this.openLines++;
    this.openLineBytes += n;
    if (this.openLines >= this.o.frameMaxLines) this.sealOpenFrame();
  }

  /** Frames the open frame into wbuf, after the frames sealed before it, and empties it. */
  private sealOpenFrame(): void {
    const lines = this.openLines;
    if (lines === 0) return;
    const size = HDR + 2 + this.openTableBytes + 4 + this.epos;
    if (this.wpos + size > this.wbuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.wpos + size, this.wbuf.length * 2));
      this.wbuf.copy(grown, 0, 0, this.wpos);
      this.wbuf = grown;
    }
    const buf = this.wbuf;
    const start = this.wpos;
    let p = start + HDR;
    buf.writeUInt16LE(this.openStreams.size, p);
    p += 2;
    for (const labels of this.openStreams.keys()) {
      const n = buf.write(labels, p + 4, 'utf8');
      buf.writeUInt32LE(n, p);
      p += 4 + n;
    }
    buf.writeUInt32LE(lines, p);
    p += 4;
    p += this.ebuf.copy(buf, p, 0, this.epos);
    buf.writeUInt32LE(p - start - HDR, start);
    buf.writeUInt32LE(crc32(buf.subarray(start + HDR, p)), start + 4);
    this.wpos = p;
    this.sealed.push(start, p, lines);
    this.sealedLines += lines;
    this.openStreams = new Map();
    this.openTableBytes = 0;
    this.openLines = 0;
    this.openLineBytes = 0;
    this.epos = 0;
  }

  /**
   * Writes every staged line, in whole frames, with one write(2) per run of frames (a new
   * segment starts a new run). Returns how many were accepted (written); the rest were refused
   * at the bound (drop_newest, or drop_oldest with nothing left to drop) and are counted.
   */
  commit(): number {
    if (!this.opened) throw new Error('loki spool is not open');
    this.sealOpenFrame();
    const frames = this.sealed;
    const buf = this.wbuf;
    this.sealed = [];
    this.sealedLines = 0;
    this.wpos = 0;
    let accepted = 0;
    let runStart = -1;
    let runEnd = -1;
    let runLines = 0;
    const writeRun = () => {
      if (runStart < 0) return;
      const len = runEnd - runStart;
      let done = 0;
      try {
        while (done < len) done += writeSync(this.wfd, buf, runStart + done, len - done);
      } catch (e) {
        // Nothing of this run counts: cut the file back to the last whole frame.
        try { ftruncateSync(this.wfd, this.active.size); } catch { /* keep the original error */ }
        throw e;
      }
      this.active.size += len;
      this.active.lines += runLines;
      this.totalBytes += len;
      accepted += runLines;
      this.dirty = true;
      runStart = -1;
      runLines = 0;
    };
    for (let f = 0; f < frames.length; f += 3) {
      const start = frames[f]!;
      const end = frames[f + 1]!;
      const lines = frames[f + 2]!;
      const size = end - start;
      if (!this.makeRoom(size + (runStart < 0 ? 0 : runEnd - runStart), lines)) {
        // Refused: the frame is skipped, the frames before it are written as they are.
        writeRun();
        continue;
      }
      const queued = runStart < 0 ? 0 : runEnd - runStart;
      if (this.active.size + queued > 0 && this.active.size + queued + size > this.o.segmentBytes) {
        writeRun();
        this.rotate();
      }
      if (runStart < 0) runStart = start;
      runEnd = end;
      runLines += lines;
    }
    writeRun();
    if (this.o.fsync === 'always') this.sync();
    if (this.boundEpisode && this.totalBytes < this.o.maxBytes * 0.9) this.endBoundEpisode();
    return accepted;
  }

  private rotate(): void {
    this.newActive(this.active.seq + 1);
  }

  /** Applies the at-bound policy so `bytes` more fit. False: refuse the frame. */
  private makeRoom(bytes: number, lines: number): boolean {
    if (this.totalBytes + bytes <= this.o.maxBytes) return true;
    if (this.o.policy === 'drop_oldest') {
      while (this.totalBytes + bytes > this.o.maxBytes) {
        const victim = this.segs.find((s) => s !== this.active && !this.isInflight(s.seq));
        if (!victim) break;
        this.dropSegment(victim);
      }
      if (this.totalBytes + bytes <= this.o.maxBytes) return true;
    }
    this.noteDropped(lines, this.o.policy === 'drop_newest' ? 'refused new lines (drop_newest)' : 'refused new lines (drop_oldest found no unsent segment to delete)');
    return false;
  }

  private isInflight(seq: number): boolean {
    return !!this.inflight && seq >= this.inflight.start.seq && seq <= this.inflight.end.seq;
  }

  private dropSegment(s: Segment): void {
    const lost = s.lines - s.ackedLines;
    this.segs = this.segs.filter((x) => x !== s);
    this.totalBytes -= s.size;
    if (this.rfdSeq === s.seq) this.closeReader();
    try { unlinkSync(s.path); } catch { /* gone */ }
    const next = this.segs.find((x) => x.seq > s.seq) ?? this.active;
    if (this.readPos.seq === s.seq) this.readPos = { seq: next.seq, offset: 0 };
    if (this.ackPos.seq === s.seq) {
      this.ackPos = { seq: next.seq, offset: 0 };
      this.writeCursor();
    }
    this.noteDropped(lost, `deleted the oldest unsent segment ${segName(s.seq)} (drop_oldest)`);
  }

  private noteDropped(lines: number, what: string): void {
    if (lines <= 0) return;
    this.droppedAtBound += lines;
    const now = Date.now();
    const ep = (this.boundEpisode ??= { since: now, dropped: 0, lastReport: 0 });
    ep.dropped += lines;
    if (now - ep.lastReport >= 10_000) {
      ep.lastReport = now;
      this.o.report({
        level: 'ERROR',
        code: 'spool_full',
        message: `loki spool full (${this.totalBytes} of spool_max_bytes ${this.o.maxBytes} bytes, Loki unreachable or slow): ${what}; ${ep.dropped} lines dropped so far in this episode, ${this.droppedAtBound} since start`,
        count: lines,
      });
    }
  }

  private endBoundEpisode(): void {
    const ep = this.boundEpisode!;
    this.boundEpisode = undefined;
    this.o.report({ level: 'WARN', code: 'spool_below_bound', message: `loki spool below its bound again; ${ep.dropped} lines were dropped at the bound in this episode (${this.droppedAtBound} since start)`, count: ep.dropped });
  }

  private closeReader(): void {
    if (this.rfd >= 0) closeSync(this.rfd);
    this.rfd = -1;
    this.rfdSeq = -1;
  }

  private readerFor(s: Segment): number {
    if (this.rfdSeq !== s.seq) {
      this.closeReader();
      this.rfd = openSync(s.path, 'r');
      this.rfdSeq = s.seq;
    }
    return this.rfd;
  }

  /** The next batch of whole frames from the read position, or undefined when nothing is unread. */
  readBatch(maxLines: number, maxBytes: number): Batch | undefined {
    if (this.inflight) throw new Error('loki spool: a batch is already in flight');
    const batch = new Batch({ ...this.readPos }, { ...this.readPos });
    let pos = { ...this.readPos };
    let used = 0; // bytes of this.rbuf holding the batch's frames
    outer: for (;;) {
      const seg = this.segs.find((s) => s.seq >= pos.seq);
      if (!seg) break;
      if (seg.seq !== pos.seq) pos = { seq: seg.seq, offset: 0 };
      if (pos.offset >= seg.size) {
        if (seg === this.active) break;
        pos = { seq: seg.seq + 1, offset: 0 };
        continue;
      }
      const fd = this.readerFor(seg);
      const want = Math.min(seg.size - pos.offset, Math.max(maxBytes + (maxBytes >> 2) + 65_536, 1 << 20));
      if (this.rbuf.length - used < want) {
        // Frames already taken keep the old buffer alive through their range; it goes with the batch.
        this.rbuf = Buffer.allocUnsafe(Math.max(want, Math.min(this.rbuf.length * 2, want + used)));
        used = 0;
      }
      let chunk = this.rbuf;
      let base = used;
      let got = readSync(fd, chunk, base, want, pos.offset);
      let end = base + got;
      let p = base;
      const range: FrameRange = { buf: chunk, start: base, end: base };
      while (p + HDR <= end) {
        const len = chunk.readUInt32LE(p);
        if (p + HDR + len > end) {
          if (p > base) break;
          // A frame longer than the chunk: read it alone.
          chunk = Buffer.allocUnsafe(HDR + len);
          got = readSync(fd, chunk, 0, HDR + len, pos.offset);
          if (got < HDR + len) break outer; // cannot happen: size counts whole frames only
          base = 0;
          p = 0;
          end = got;
          range.buf = chunk;
          range.start = range.end = 0;
          continue;
        }
        const n = chunk.readUInt32LE(frameEntriesAt(chunk, p + HDR));
        if (batch.lines > 0 && (batch.lines + n > maxLines || batch.bytes + len > maxBytes)) {
          if (range.end > range.start) batch.ranges.push(range);
          break outer;
        }
        batch.lines += n;
        batch.bytes += len;
        batch.perSegment.set(seg.seq, (batch.perSegment.get(seg.seq) ?? 0) + n);
        p += HDR + len;
        range.end = p;
        pos = { seq: seg.seq, offset: pos.offset + HDR + len };
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
    if (batch.lines === 0) return undefined;
    for (const [seq, n] of batch.perSegment) {
      const s = this.segs.find((x) => x.seq === seq);
      if (s) s.readLines += n;
    }
    this.readPos = { ...batch.end };
    this.inflight = { start: batch.start, end: batch.end };
    return batch;
  }

  /** Loki answered 2xx (or the batch was dead-lettered): forget it. */
  ack(batch: Batch): void {
    this.inflight = undefined;
    for (const [seq, n] of batch.perSegment) {
      const s = this.segs.find((x) => x.seq === seq);
      if (s) s.ackedLines += n;
    }
    if (cmpPos(batch.end, this.ackPos) > 0) this.ackPos = { ...batch.end };
    // Delete fully acknowledged segments (never the active one).
    for (const s of [...this.segs]) {
      if (s === this.active) break;
      const done = s.seq < this.ackPos.seq || (s.seq === this.ackPos.seq && this.ackPos.offset >= s.size);
      if (!done) break;
      this.segs = this.segs.filter((x) => x !== s);
      this.totalBytes -= s.size;
      if (this.rfdSeq === s.seq) this.closeReader();
      try { unlinkSync(s.path); } catch { /* gone */ }
    }
    const first = this.segs[0]!;
    if (this.ackPos.seq < first.seq) this.ackPos = { seq: first.seq, offset: 0 };
    this.writeCursor();
    if (this.boundEpisode && this.totalBytes < this.o.maxBytes * 0.9) this.endBoundEpisode();
  }

  /** The in-flight batch was not delivered (shutdown): read it again next time. */
  release(batch: Batch): void {
    this.inflight = undefined;
    for (const [seq, n] of batch.perSegment) {
      const s = this.segs.find((x) => x.seq === seq);
      if (s) s.readLines -= n;
    }
    this.readPos = { ...batch.start };
  }

  close(): void {
    if (!this.opened) return;
    this.opened = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.closeReader();
    if (this.wfd >= 0) {
      fdatasyncSync(this.wfd);
      closeSync(this.wfd);
      this.wfd = -1;
    }
    // An empty active segment is not worth keeping.
    if (this.active.size === 0) {
      try { unlinkSync(this.active.path); } catch { /* gone */ }
    }
    try { unlinkSync(join(this.o.dir, 'lock')); } catch { /* gone */ }
  }
}

/** Offset (in buf) of the entry count of the frame payload starting at `payload`. */
export function frameEntriesAt(buf: Buffer, payload: number): number {
  const ns = buf.readUInt16LE(payload);
  let p = payload + 2;
  for (let i = 0; i < ns; i++) p += 4 + buf.readUInt32LE(p);
  return p;
}

function frameEntriesOffset(frame: Buffer): number {
  return frameEntriesAt(frame, 0);
}

/** Entry count of a frame payload, or -1 if it does not parse. */
function frameEntryCount(frame: Buffer): number {
  try {
    const p = frameEntriesOffset(frame);
    const n = frame.readUInt32LE(p);
    let q = p + 4;
    for (let i = 0; i < n; i++) {
      q += ENTRY_HDR + frame.readUInt32LE(q + 14);
      if (q > frame.length) return -1;
    }
    return q === frame.length ? n : -1;
  } catch {
    return -1;
  }
}

function decodeFrame(frame: Buffer, streams: Map<string, BatchEntry[]>): void {
  const ns = frame.readUInt16LE(0);
  let p = 2;
  const lists: BatchEntry[][] = [];
  for (let i = 0; i < ns; i++) {
    const n = frame.readUInt32LE(p);
    const labels = frame.toString('utf8', p + 4, p + 4 + n);
    p += 4 + n;
    let list = streams.get(labels);
    if (!list) streams.set(labels, (list = []));
    lists.push(list);
  }
  const n = frame.readUInt32LE(p);
  p += 4;
  for (let i = 0; i < n; i++) {
    const si = frame.readUInt16LE(p);
    const ms = frame.readDoubleLE(p + 2);
    const sub = frame.readUInt32LE(p + 10);
    const len = frame.readUInt32LE(p + 14);
    lists[si]!.push({ ms, sub, line: frame.subarray(p + ENTRY_HDR, p + ENTRY_HDR + len) });
    p += ENTRY_HDR + len;
  }
}
