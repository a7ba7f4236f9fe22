/**
 * The console output of the splitter: runs of pass-through lines are kept as one view into the
 * input chunk (not copied) and cut only where SQL was replaced.
 */
export class ConsoleOut {
  /** Bytes produced so far. */
  bytes = 0;
  private parts: Buffer[] = [];
  /** Pending pass-through run [runStart, runEnd) in `cur`. */
  private cur: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;

  /** Lines of `chunk` from `pos` on may extend one run. */
  chunkStart(chunk: Buffer, pos: number): void {
    this.cur = chunk;
    this.runStart = this.runEnd = pos;
  }

  chunkEnd(): void {
    this.flushRun();
    this.cur = undefined;
  }

  /** Bytes [s, end) of `b` go out unchanged. */
  pass(b: Buffer, s: number, end: number): void {
    if (b === this.cur && s === this.runEnd) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    if (b === this.cur) {
      this.runStart = s;
      this.runEnd = end;
    } else this.push(b.subarray(s, end));
  }

  /** Drops [.., end) of `b` from the pass-through run: those bytes were SQL. */
  skipTo(b: Buffer, end: number): void {
    this.flushRun();
    if (b === this.cur) this.runStart = this.runEnd = end;
  }

  /** One piece after what is pending. */
  push(b: Buffer): void {
    this.flushRun();
    this.parts.push(b);
    this.bytes += b.length;
  }

  /** Output produced so far; the caller writes it and this forgets it. */
  take(): Buffer[] {
    this.flushRun();
    const out = this.parts;
    this.parts = [];
    return out;
  }

  private flushRun(): void {
    if (this.cur && this.runEnd > this.runStart) {
      this.parts.push(this.cur.subarray(this.runStart, this.runEnd));
      this.bytes += this.runEnd - this.runStart;
    }
    this.runStart = this.runEnd;
  }
}
