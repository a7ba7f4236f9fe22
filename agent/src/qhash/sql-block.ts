/**
 * One SQL record being collected: its kept console prefix and its SQL bytes, as views into the
 * current input chunk until detach() copies them (the caller reuses its read buffer).
 */
import { Byte } from './bytes.js';
import type { SqlStart } from './sql-start.js';

const NO_EOL = Buffer.alloc(0);
export const LF_EOL = Buffer.from([Byte.LF]);
export const CRLF_EOL = Buffer.from([Byte.CR, Byte.LF]);

export class SqlBlock {
  /** SQL bytes kept (at most maxSql). */
  size = 0;
  /** More than maxSql bytes came: the record is fingerprinted on its first maxSql. */
  truncated = false;
  private parts: Buffer[] = [];
  /** The part being extended line by line: [spanStart, spanEnd) of spanBuf. */
  private spanBuf: Buffer | undefined;
  private spanStart = 0;
  private spanEnd = 0;
  /** Past maxSql: the last byte seen and whether a CR came before it, for the record's line ending. */
  private cutLast = -1;
  private cutCrBeforeLast = false;

  constructor(
    readonly start: SqlStart,
    /** Kept on the console line, before the QHash. */
    private prefix: Buffer,
    /** The first line's end of line. */
    private eol: Buffer,
    readonly firstSeen: string,
    /** Input offset of the record's first byte. */
    readonly startAbs: number,
    private readonly maxSql: number,
  ) {}

  append(b: Buffer, s: number, end: number): void {
    let n = end - s;
    if (n > this.maxSql - this.size) {
      this.truncated = true;
      if (end > s) {
        this.cutCrBeforeLast = end - s >= 2 ? b[end - 2] === Byte.CR : this.cutLast === Byte.CR;
        this.cutLast = b[end - 1]!;
      }
      n = this.maxSql - this.size;
      if (n <= 0) return;
    }
    this.size += n;
    if (b === this.spanBuf && s === this.spanEnd) {
      this.spanEnd = s + n;
      return;
    }
    if (this.spanBuf) this.parts.push(this.spanBuf.subarray(this.spanStart, this.spanEnd));
    this.spanBuf = b;
    this.spanStart = s;
    this.spanEnd = s + n;
  }

  /** Copies the block out of the input chunk, so that the chunk's buffer may be reused. */
  detach(): void {
    if (this.spanBuf) this.parts.push(this.spanBuf.subarray(this.spanStart, this.spanEnd));
    const joined = Buffer.concat(this.parts);
    this.parts = [];
    this.spanBuf = joined;
    this.spanStart = 0;
    this.spanEnd = joined.length;
    this.prefix = Buffer.from(this.prefix);
    this.eol = Buffer.from(this.eol);
  }

  /** The SQL bytes as text. */
  text(): string {
    if (this.parts.length === 0) return this.spanBuf ? this.spanBuf.toString('utf8', this.spanStart, this.spanEnd) : '';
    return Buffer.concat([...this.parts, this.spanBuf!.subarray(this.spanStart, this.spanEnd)]).toString('utf8');
  }

  keptPrefix(): Buffer {
    return this.prefix;
  }

  /** A complete multi-line record ends where its last line ends: with that line's CRLF or LF, or none at EOF. */
  recordEol(): Buffer {
    // A truncated block whose first line was itself cut (no line ending yet) ends with its last line's.
    if (this.truncated && this.start.multiline && this.eol.length === 0) return this.cutLast !== Byte.LF ? NO_EOL : this.cutCrBeforeLast ? CRLF_EOL : LF_EOL;
    if (!this.start.multiline || this.truncated || !this.spanBuf) return this.eol;
    const sb = this.spanBuf;
    const end = this.spanEnd;
    if (sb[end - 1] !== Byte.LF || end <= this.spanStart) return NO_EOL;
    return sb[end - 2] === Byte.CR && end - 2 >= this.spanStart ? CRLF_EOL : LF_EOL;
  }
}
