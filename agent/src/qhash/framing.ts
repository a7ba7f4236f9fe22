/**
 * Line framing: chunks in, whole lines out (newline included), each with its input offset. A line
 * cut by a chunk boundary is carried (copied) into the next chunk; a line longer than `maxLine` is
 * handed over in pieces: its start as a line, then its rest as it arrives.
 */
import { Byte } from './bytes.js';

/** What happens to the rest of a line longer than maxLine: it follows its start. */
export type LongLineMode = 'pass' | 'swallow' | 'block';
/** 'no' unless the next input byte is inside a long line. */
export type MidLine = 'no' | LongLineMode;

export interface LineSink {
  /** A chunk's complete lines start at `pos` and are views into `chunk`, valid until chunkEnd(). */
  chunkStart(chunk: Buffer, pos: number): void;
  chunkEnd(): void;
  /**
   * One line [s, end) of `b`, newline included when there is one; `abs` is its input offset.
   * `cut`: only the start of a line longer than maxLine, its rest follows through longLineRest().
   */
  line(b: Buffer, s: number, end: number, abs: number, cut?: boolean): void;
  /** The start of a line longer than maxLine was just handed to line(): how to treat its rest. */
  longLineMode(): LongLineMode;
  /** More of a line longer than maxLine. */
  longLineRest(b: Buffer, s: number, end: number, mode: LongLineMode): void;
}

export class LineFramer {
  midLine: MidLine;
  private carry: Buffer[] = [];
  private carryLen = 0;
  private carryAbs = 0;
  /** Absolute input offset of the next chunk's first byte. */
  private base: number;

  constructor(private readonly sink: LineSink, private readonly maxLine: number, startOffset: number, midLine: MidLine) {
    this.base = startOffset;
    this.midLine = midLine;
  }

  /** Input offset of the first byte not yet handed over as part of a line. */
  safeOffset(): number {
    return this.carryLen > 0 ? this.carryAbs : this.base;
  }

  /** The next input byte is at `offset` of a new file; call after end(). */
  rebase(offset: number): void {
    this.base = offset;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let pos = 0;
    if (this.midLine !== 'no') {
      const nl = chunk.indexOf(Byte.LF);
      const end = nl < 0 ? n : nl + 1;
      this.sink.longLineRest(chunk, 0, end, this.midLine);
      if (nl >= 0) this.midLine = 'no';
      pos = end;
    } else if (this.carryLen > 0) {
      const nl = chunk.indexOf(Byte.LF);
      if (nl < 0) {
        this.carry.push(Buffer.from(chunk));
        this.carryLen += n;
        if (this.carryLen > this.maxLine) this.startLongLine();
        this.base += n;
        return;
      }
      const line = Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)]);
      const abs = this.carryAbs;
      this.carry = [];
      this.carryLen = 0;
      this.sink.line(line, 0, line.length, abs);
      pos = nl + 1;
    }
    this.sink.chunkStart(chunk, pos);
    while (pos < n) {
      const nl = chunk.indexOf(Byte.LF, pos);
      if (nl < 0) {
        this.carry.push(Buffer.from(chunk.subarray(pos)));
        this.carryLen = n - pos;
        this.carryAbs = this.base + pos;
        if (this.carryLen > this.maxLine) this.startLongLine();
        break;
      }
      this.sink.line(chunk, pos, nl + 1, this.base + pos);
      pos = nl + 1;
    }
    this.base += n;
    this.sink.chunkEnd();
  }

  /** End of input: a carried last line without its newline is a line. */
  end(): void {
    if (this.carryLen > 0) {
      const line = Buffer.concat(this.carry);
      const abs = this.carryAbs;
      this.carry = [];
      this.carryLen = 0;
      this.sink.line(line, 0, line.length, abs);
    }
    this.midLine = 'no';
  }

  /** The carried partial line exceeds maxLine: hand over what we have and stream the rest. */
  private startLongLine(): void {
    const piece = Buffer.concat(this.carry);
    const abs = this.carryAbs;
    this.carry = [];
    this.carryLen = 0;
    this.sink.line(piece, 0, piece.length, abs, true);
    this.midLine = this.sink.longLineMode();
  }
}
