/**
 * The on-disk spool behind the Loki transport: lines in, batches out, acknowledged batches gone.
 *
 * Layout of spool_dir:
 *   seg-<16 digit seq>.spool  append-only segment files of frames, oldest first (segment.ts, frame.ts)
 *   cursor                    everything before it was answered 2xx or dead-lettered (cursor.ts)
 *   lock                      pid of the process that owns the spool (lock.ts)
 *   dead-letter.ndjson        batches Loki refused for good (dead-letter.ts)
 *
 * A line is accepted once its frame has been written with write(2) (so it is in the kernel and
 * survives kill -9 of the agent); fdatasync follows per `fsync` ('always': before acceptance;
 * N ms: at most every N ms, and on rotation and close). On open, every segment after the
 * cursor is scanned and CRC-checked; a torn or corrupt tail (a write cut short by a crash, so
 * never accepted) is cut off, copied aside and reported.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { BatchReader, type Batch } from './batch.js';
import { BoundReporter } from './bound.js';
import { cmpPos, readCursor, writeCursor, type Pos } from './cursor.js';
import { FrameStager } from './frame.js';
import { lockSpool, unlockSpool } from './lock.js';
import type { SpoolReport } from './report.js';
import { listSegments, removeSegmentFile, scanSegment, segName, segPath, SegmentWriter, type Segment } from './segment.js';

/** A line on its way into the spool. `labels` is the JSON of the stream's label object (sorted keys). */
export interface SpoolLine {
  labels: string;
  ms: number;
  sub: number;
  line: string;
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

export class Spool {
  private readonly o: Required<SpoolOptions>;
  private segs: Segment[] = [];
  private active!: Segment;
  private readonly writer = new SegmentWriter();
  private readonly reader = new BatchReader();
  private readonly stager: FrameStager;
  private readonly bound: BoundReporter;
  private readPos: Pos = { seq: 0, offset: 0 };
  private ackPos: Pos = { seq: 0, offset: 0 };
  private inflight: { start: Pos; end: Pos } | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private totalBytes = 0;
  private opened = false;

  constructor(opts: SpoolOptions) {
    this.o = {
      segmentBytes: Math.min(32 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 8))),
      ...opts,
    };
    this.stager = new FrameStager({ maxLines: opts.frameMaxLines, maxBytes: opts.frameMaxBytes });
    this.bound = new BoundReporter(opts.maxBytes, opts.report);
  }

  get dir(): string {
    return this.o.dir;
  }

  /** Lines dropped at the bound (by either policy), since open. */
  get droppedAtBound(): number {
    return this.bound.dropped;
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
    const dir = this.o.dir;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    lockSpool(dir);
    const cursor = readCursor(dir);
    const seqs = listSegments(dir);
    let recovered = 0;
    for (const seq of seqs) {
      const path = segPath(dir, seq);
      if (cursor && seq < cursor.seq) {
        unlinkSync(path);
        continue;
      }
      const seg = scanSegment(seq, path, cursor && cursor.seq === seq ? cursor.offset : 0, this.o.report);
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
    writeCursor(dir, this.ackPos);
    if (typeof this.o.fsync === 'number') {
      this.syncTimer = setInterval(() => this.sync(), this.o.fsync);
      this.syncTimer.unref();
    }
    this.opened = true;
    if (recovered > 0) this.o.report({ level: 'INFO', code: 'spool_recovered', message: `loki spool: ${recovered} unsent lines found in ${dir}; resending them with their original timestamps`, count: recovered });
    return { recoveredLines: recovered };
  }

  private newActive(seq: number): void {
    this.active = { seq, path: segPath(this.o.dir, seq), size: 0, lines: 0, readLines: 0, ackedLines: 0 };
    this.writer.open(this.active);
    this.segs.push(this.active);
  }

  sync(): void {
    this.writer.sync();
  }

  /** Stages lines and commits them: how many were accepted (see commit()). */
  append(lines: readonly SpoolLine[]): number {
    for (const l of lines) this.stage(l.labels, l.ms, l.sub, l.line);
    return this.commit();
  }

  /** Lines staged and not yet committed. */
  get stagedLines(): number {
    return this.stager.lines;
  }

  /** Encodes one line into the open frame, in memory; it counts only once commit() has written it. */
  stage(labels: string, ms: number, sub: number, line: string): void {
    this.stager.stage(labels, ms, sub, line);
  }

  /**
   * Writes every staged line, in whole frames, with one write(2) per run of frames (a new
   * segment starts a new run). Returns how many were accepted (written); the rest were refused
   * at the bound (drop_newest, or drop_oldest with nothing left to drop) and are counted.
   */
  commit(): number {
    if (!this.opened) throw new Error('loki spool is not open');
    const { buf, frames } = this.stager.take();
    let accepted = 0;
    let runStart = -1;
    let runEnd = -1;
    let runLines = 0;
    const writeRun = () => {
      if (runStart < 0) return;
      // On failure nothing of this run counts: the writer cuts the file back to its last whole frame.
      this.writer.append(buf, runStart, runEnd, this.active.size);
      const len = runEnd - runStart;
      this.active.size += len;
      this.active.lines += runLines;
      this.totalBytes += len;
      accepted += runLines;
      runStart = -1;
      runLines = 0;
    };
    for (let f = 0; f < frames.length; f += 3) {
      const start = frames[f]!;
      const end = frames[f + 1]!;
      const lines = frames[f + 2]!;
      const size = end - start;
      const queued = runStart < 0 ? 0 : runEnd - runStart;
      if (!this.makeRoom(size + queued, lines)) {
        // Refused: the frame is skipped, the frames before it are written as they are.
        writeRun();
        continue;
      }
      if (this.active.size + queued > 0 && this.active.size + queued + size > this.o.segmentBytes) {
        writeRun();
        this.newActive(this.active.seq + 1);
      }
      if (runStart < 0) runStart = start;
      runEnd = end;
      runLines += lines;
    }
    writeRun();
    if (this.o.fsync === 'always') this.sync();
    this.bound.shrankTo(this.totalBytes);
    return accepted;
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
    this.bound.noteDropped(lines, this.o.policy === 'drop_newest' ? 'refused new lines (drop_newest)' : 'refused new lines (drop_oldest found no unsent segment to delete)', this.totalBytes);
    return false;
  }

  private isInflight(seq: number): boolean {
    return !!this.inflight && seq >= this.inflight.start.seq && seq <= this.inflight.end.seq;
  }

  /** Removes a segment from the list and its file. */
  private forget(s: Segment): void {
    this.segs = this.segs.filter((x) => x !== s);
    this.totalBytes -= s.size;
    this.reader.files.forget(s.seq);
    removeSegmentFile(s);
  }

  private dropSegment(s: Segment): void {
    const lost = s.lines - s.ackedLines;
    this.forget(s);
    const next = this.segs.find((x) => x.seq > s.seq) ?? this.active;
    if (this.readPos.seq === s.seq) this.readPos = { seq: next.seq, offset: 0 };
    if (this.ackPos.seq === s.seq) {
      this.ackPos = { seq: next.seq, offset: 0 };
      writeCursor(this.o.dir, this.ackPos);
    }
    this.bound.noteDropped(lost, `deleted the oldest unsent segment ${segName(s.seq)} (drop_oldest)`, this.totalBytes);
  }

  /** The next batch of whole frames from the read position, or undefined when nothing is unread. */
  readBatch(maxLines: number, maxBytes: number): Batch | undefined {
    if (this.inflight) throw new Error('loki spool: a batch is already in flight');
    const batch = this.reader.read(this.segs, this.active, this.readPos, maxLines, maxBytes);
    if (!batch) return undefined;
    this.countRead(batch, 1);
    this.readPos = { ...batch.end };
    this.inflight = { start: batch.start, end: batch.end };
    return batch;
  }

  private countRead(batch: Batch, sign: 1 | -1): void {
    for (const [seq, n] of batch.perSegment) {
      const s = this.segs.find((x) => x.seq === seq);
      if (s) s.readLines += sign * n;
    }
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
      this.forget(s);
    }
    const first = this.segs[0]!;
    if (this.ackPos.seq < first.seq) this.ackPos = { seq: first.seq, offset: 0 };
    writeCursor(this.o.dir, this.ackPos);
    this.bound.shrankTo(this.totalBytes);
  }

  /** The in-flight batch was not delivered (shutdown): read it again next time. */
  release(batch: Batch): void {
    this.inflight = undefined;
    this.countRead(batch, -1);
    this.readPos = { ...batch.start };
  }

  close(): void {
    if (!this.opened) return;
    this.opened = false;
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.reader.files.close();
    this.writer.close();
    // An empty active segment is not worth keeping.
    if (this.active.size === 0) removeSegmentFile(this.active);
    unlockSpool(this.o.dir);
  }
}
