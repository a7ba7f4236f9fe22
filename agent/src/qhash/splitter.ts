/**
 * The streaming core of `imom qhash split`: bytes in, console bytes and query-log lines out.
 *
 * Every byte that is not SQL is copied through unchanged and in order (slices of the input
 * chunk, not copies). A SQL record becomes its original prefix plus `"QHash":"<md5>"`; a shape's
 * first execution also writes one JSON line to the query log.
 *
 * The splitter is deterministic given its snapshot and the input from `safeOffset()`: `follow`
 * relies on that to resume after a crash without losing or repeating a line.
 */
import { fingerprintSql, type Fingerprint } from './fingerprint.js';
import { bindMyBatis, classify, isRecordStart, isStackTraceLine, parseMyBatisParams, timestampEnd, type CompiledParser, type SqlStart } from './parser.js';

export interface SplitOptions {
  parser: CompiledParser;
  /** Put the SQL with its literals into the query log. Off by default: literals are customer data. */
  example: boolean;
  /** Bound on the seen-shape set (LRU). */
  maxShapes: number;
  /** Longer lines are passed through (or swallowed, if SQL) in pieces. */
  maxLine?: number;
  /** A SQL record longer than this is fingerprinted on its first maxSql bytes. */
  maxSql?: number;
  now?: () => Date;
}

interface Preparing {
  qhash: string;
  fingerprint: string;
  /** Set while the query-log entry waits for the Parameters line to build the example. */
  awaiting?: { sql: string; firstSeen: string };
}

export interface SplitterSnapshot {
  /** Seen QHashes, least recently used first. */
  seen: string[];
  /** Last MyBatis Preparing per thread not yet matched with its Parameters. */
  preparing: [string, Preparing][];
  /** The resume point is inside a long line: its rest is passed through or swallowed. */
  midLine: 'no' | 'pass' | 'swallow';
}

export interface SplitStats {
  bytesIn: number;
  consoleBytes: number;
  queryBytes: number;
  sqlRecords: number;
  newShapes: number;
  fallbackShapes: number;
  /** What a query log with one `{"QHash":…,"sql":<raw sql>}` line per execution would weigh. */
  perExecutionQueryBytes: number;
}

interface Block {
  start: SqlStart;
  prefix: Buffer;
  eol: Buffer;
  /** SQL bytes: views into the current chunk, copied by detachBlock() when the chunk ends. */
  parts: Buffer[];
  /** The part being extended line by line: [spanStart, spanEnd) of spanBuf. */
  spanBuf: Buffer | undefined;
  spanStart: number;
  spanEnd: number;
  size: number;
  truncated: boolean;
  firstSeen: string;
  startAbs: number;
}

const MB = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');
const PREPARING_LIMIT = 4096;
const CACHE_LIMIT = 20_000;

export class Splitter {
  readonly stats: SplitStats = { bytesIn: 0, consoleBytes: 0, queryBytes: 0, sqlRecords: 0, newShapes: 0, fallbackShapes: 0, perExecutionQueryBytes: 0 };
  private readonly maxLine: number;
  private readonly maxSql: number;
  private readonly now: () => Date;
  private readonly seen = new Map<string, true>();
  private readonly preparing = new Map<string, Preparing>();
  /** Raw SQL text → fingerprint. SQL with `?` placeholders repeats verbatim, so most lookups hit. */
  private readonly cache = new Map<string, Fingerprint & { tag?: Buffer }>();

  private consoleOut: Buffer[] = [];
  private queryOut: Buffer[] = [];
  private block: Block | undefined;
  private carry: Buffer[] = [];
  private carryLen = 0;
  private carryAbs = 0;
  private midLine: 'no' | 'pass' | 'swallow' | 'block' = 'no';
  /** Absolute input offset of the current chunk's first byte. */
  private base = 0;
  /** Pending pass-through run [runStart, runEnd) in `cur`. */
  private cur: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;

  constructor(private readonly opts: SplitOptions, snapshot?: SplitterSnapshot, startOffset = 0) {
    this.maxLine = opts.maxLine ?? MB;
    this.maxSql = opts.maxSql ?? MB;
    this.now = opts.now ?? (() => new Date());
    this.base = startOffset;
    if (snapshot) {
      for (const h of snapshot.seen.slice(-opts.maxShapes)) this.seen.set(h, true);
      for (const [t, p] of snapshot.preparing) this.preparing.set(t, p);
      this.midLine = snapshot.midLine;
    }
  }

  /** Forget every seen shape: the query log rotated, so it no longer holds them. */
  resetSeen(): void {
    this.seen.clear();
  }

  snapshot(): SplitterSnapshot {
    const midLine = this.midLine === 'block' ? 'no' : this.midLine;
    return { seen: [...this.seen.keys()], preparing: [...this.preparing], midLine };
  }

  /** Input offset up to which all output has been produced; resume here with snapshot(). */
  safeOffset(): number {
    if (this.block) return this.block.startAbs;
    if (this.carryLen > 0) return this.carryAbs;
    return this.base;
  }

  /** Output produced so far; the caller writes it and the splitter forgets it. */
  take(): { console: Buffer[]; query: Buffer[] } {
    this.flushRun();
    const out = { console: this.consoleOut, query: this.queryOut };
    this.consoleOut = [];
    this.queryOut = [];
    return out;
  }

  push(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length;
    const n = chunk.length;
    let pos = 0;
    if (this.midLine !== 'no') {
      const nl = chunk.indexOf(10);
      const end = nl < 0 ? n : nl + 1;
      this.longPiece(chunk, 0, end);
      if (nl >= 0) this.midLine = 'no';
      pos = end;
    } else if (this.carryLen > 0) {
      const nl = chunk.indexOf(10);
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
      this.line(line, 0, line.length, abs);
      pos = nl + 1;
    }
    this.cur = chunk;
    this.runStart = this.runEnd = pos;
    while (pos < n) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.flushRun();
        this.carry.push(Buffer.from(chunk.subarray(pos)));
        this.carryLen = n - pos;
        this.carryAbs = this.base + pos;
        if (this.carryLen > this.maxLine) this.startLongLine();
        break;
      }
      this.line(chunk, pos, nl + 1, this.base + pos);
      pos = nl + 1;
    }
    this.flushRun();
    this.cur = undefined;
    this.base += n;
    if (this.block) this.detachBlock(this.block);
  }

  /**
   * Copies an open block out of the chunk, so that the caller may reuse its read buffer once it
   * has written take()'s output: a fixed buffer keeps RSS flat.
   */
  private detachBlock(blk: Block): void {
    if (blk.spanBuf) blk.parts.push(blk.spanBuf.subarray(blk.spanStart, blk.spanEnd));
    const joined = Buffer.concat(blk.parts);
    blk.parts = [];
    blk.spanBuf = joined;
    blk.spanStart = 0;
    blk.spanEnd = joined.length;
    blk.prefix = Buffer.from(blk.prefix);
    blk.eol = Buffer.from(blk.eol);
  }

  /** End of input: the last line may lack its newline, and an open SQL block is complete. */
  end(): void {
    if (this.carryLen > 0) {
      const line = Buffer.concat(this.carry);
      const abs = this.carryAbs;
      this.carry = [];
      this.carryLen = 0;
      this.line(line, 0, line.length, abs);
    }
    this.finishBlock();
    this.midLine = 'no';
    for (const [t, p] of this.preparing) {
      if (p.awaiting) {
        this.writeAwaiting(p);
        this.preparing.delete(t);
      }
    }
    this.flushRun();
  }

  /** The next input byte is at `offset` of a new file; call after end(). */
  rebase(offset: number): void {
    this.base = offset;
  }

  /** No new input for a while (follow mode): a SQL block at the end of the file is complete. */
  idle(): void {
    this.finishBlock();
  }

  // --- lines -------------------------------------------------------------------------------

  /** One line [s, end) of `b`, newline included when there is one; `abs` is its input offset. */
  private line(b: Buffer, s: number, end: number, abs: number): void {
    let e = end;
    if (e > s && b[e - 1] === 10) e--;
    if (e > s && b[e - 1] === 13) e--;
    const tsEnd = timestampEnd(b, s, e);
    const start = isRecordStart(b, s, e, tsEnd, this.opts.parser.custom);
    if (this.block) {
      if (!start && !isStackTraceLine(b, s, e)) {
        this.appendBlock(b, s, end);
        return;
      }
      this.finishBlock();
    }
    if (!start) return this.pass(b, s, end);
    const c = classify(b, s, e, tsEnd, this.opts.parser);
    if (!c) return this.pass(b, s, end);
    if (c.params) {
      const p = this.preparing.get(c.params.thread);
      if (!p) return this.pass(b, s, end);
      // The Parameters line holds literal values: it is folded into its Preparing line's QHash.
      this.preparing.delete(c.params.thread);
      this.skipTo(b, end);
      if (p.awaiting) {
        const params = parseMyBatisParams(b.toString('utf8', c.params.paramsStart, e));
        this.writeQuery(p.qhash, p.fingerprint, p.awaiting.firstSeen, bindMyBatis(p.awaiting.sql, params));
      }
      return;
    }
    const sql = c.sql!;
    const firstSeen = tsEnd >= 0 ? b.toString('latin1', s, tsEnd) : this.firstSeenOf(b, s, e);
    const blk: Block = {
      start: sql,
      prefix: b.subarray(s, sql.prefixEnd),
      eol: b.subarray(e, end),
      parts: [],
      spanBuf: undefined,
      spanStart: 0,
      spanEnd: 0,
      size: 0,
      truncated: false,
      firstSeen,
      startAbs: abs,
    };
    this.skipTo(b, end);
    this.block = blk;
    // A multi-line block keeps its newlines so that continuation lines do not run together.
    this.appendBlock(b, sql.sqlStart, sql.multiline ? end : e);
    if (!sql.multiline) this.finishBlock();
  }

  /** Drops [.., end) of `b` from the pass-through run: those bytes were SQL. */
  private skipTo(b: Buffer, end: number): void {
    this.flushRun();
    if (b === this.cur) this.runStart = this.runEnd = end;
  }

  private firstSeenOf(b: Buffer, s: number, e: number): string {
    let j = s;
    while (j < e && j - s < 20 && b[j]! >= 48 && b[j]! <= 57) j++;
    if (j - s >= 12 && j - s <= 14 && b[j] === 124) return new Date(Number(b.toString('latin1', s, j))).toISOString();
    return this.now().toISOString();
  }

  /** The rest of a line longer than maxLine. */
  private longPiece(b: Buffer, s: number, end: number): void {
    if (this.midLine === 'block') this.appendBlock(b, s, end);
    else if (this.midLine === 'pass') this.consoleOut.push(b.subarray(s, end)), (this.stats.consoleBytes += end - s);
    // 'swallow': the rest of a single-line SQL statement already replaced by its QHash.
  }

  /** The carried partial line exceeds maxLine: handle what we have and stream the rest. */
  private startLongLine(): void {
    const piece = Buffer.concat(this.carry);
    const abs = this.carryAbs;
    this.carry = [];
    this.carryLen = 0;
    this.line(piece, 0, piece.length, abs);
    // The rest of the line joins an open block, or follows what happened to its start:
    // swallowed if it was single-line SQL (already replaced), else passed through.
    if (this.block) this.midLine = 'block';
    else this.midLine = this.lastWasSql ? 'swallow' : 'pass';
    this.flushRun();
  }

  private lastWasSql = false;

  private pass(b: Buffer, s: number, end: number): void {
    this.lastWasSql = false;
    if (b === this.cur && s === this.runEnd) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    if (b === this.cur) {
      this.runStart = s;
      this.runEnd = end;
    } else {
      this.consoleOut.push(b.subarray(s, end));
      this.stats.consoleBytes += end - s;
    }
  }

  private flushRun(): void {
    if (this.cur && this.runEnd > this.runStart) {
      this.consoleOut.push(this.cur.subarray(this.runStart, this.runEnd));
      this.stats.consoleBytes += this.runEnd - this.runStart;
    }
    this.runStart = this.runEnd;
  }

  // --- SQL ---------------------------------------------------------------------------------

  private appendBlock(b: Buffer, s: number, end: number): void {
    const blk = this.block!;
    let n = end - s;
    if (n > this.maxSql - blk.size) {
      blk.truncated = true;
      n = this.maxSql - blk.size;
      if (n <= 0) return;
    }
    blk.size += n;
    if (b === blk.spanBuf && s === blk.spanEnd) {
      blk.spanEnd = s + n;
      return;
    }
    if (blk.spanBuf) blk.parts.push(blk.spanBuf.subarray(blk.spanStart, blk.spanEnd));
    blk.spanBuf = b;
    blk.spanStart = s;
    blk.spanEnd = s + n;
  }

  private finishBlock(): void {
    const blk = this.block;
    if (!blk) return;
    this.block = undefined;
    let text: string;
    if (blk.parts.length === 0) text = blk.spanBuf ? blk.spanBuf.toString('utf8', blk.spanStart, blk.spanEnd) : '';
    else text = Buffer.concat([...blk.parts, blk.spanBuf!.subarray(blk.spanStart, blk.spanEnd)]).toString('utf8');
    const raw = text.trimEnd();
    const st = blk.start;
    const shapeText = st.shapeSql ?? raw;
    let fp = this.cache.get(shapeText);
    if (!fp) {
      fp = fingerprintSql(shapeText);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(shapeText, fp);
    }
    this.stats.sqlRecords++;
    this.stats.perExecutionQueryBytes += 52 + (st.exampleSql === undefined ? blk.size : st.exampleSql.length);
    this.flushRun();
    const tag = fp.tag ?? (fp.tag = Buffer.from(`"QHash":"${fp.qhash}"`));
    if (st.multiline && !blk.truncated && blk.spanBuf) {
      // The record ends where its last line ends: with that line's CRLF or LF, or none at EOF.
      const sb = blk.spanBuf;
      const end = blk.spanEnd;
      blk.eol = sb[end - 1] !== 10 || end <= blk.spanStart ? EMPTY : sb[end - 2] === 13 && end - 2 >= blk.spanStart ? CRLF : LF;
    }
    let n = blk.prefix.length + tag.length + blk.eol.length;
    this.consoleOut.push(blk.prefix);
    if (st.lead) {
      const l = Buffer.from(st.lead);
      this.consoleOut.push(l);
      n += l.length;
    }
    this.consoleOut.push(tag);
    if (st.extra) {
      const x = Buffer.from(st.extra);
      this.consoleOut.push(x);
      n += x.length;
    }
    this.consoleOut.push(blk.eol);
    this.stats.consoleBytes += n;
    this.lastWasSql = true;

    const isNew = !this.seen.has(fp.qhash);
    if (isNew) {
      this.seen.set(fp.qhash, true);
      if (this.seen.size > this.opts.maxShapes) this.seen.delete(this.seen.keys().next().value!);
      if (fp.fallback) this.stats.fallbackShapes++;
    } else {
      // Touch: a shape in use stays in the bounded set.
      this.seen.delete(fp.qhash);
      this.seen.set(fp.qhash, true);
    }
    if (st.kind === 'mybatis') {
      const prev = this.preparing.get(st.thread);
      if (prev) this.writeAwaiting(prev);
      this.preparing.delete(st.thread);
      const p: Preparing = { qhash: fp.qhash, fingerprint: fp.fingerprint };
      if (isNew && this.opts.example) p.awaiting = { sql: raw, firstSeen: blk.firstSeen };
      this.preparing.set(st.thread, p);
      if (this.preparing.size > PREPARING_LIMIT) {
        const [t, old] = this.preparing.entries().next().value!;
        this.preparing.delete(t);
        this.writeAwaiting(old);
      }
      if (isNew && this.opts.example) return;
    }
    if (isNew) this.writeQuery(fp.qhash, fp.fingerprint, blk.firstSeen, st.exampleSql ?? raw, blk.truncated);
  }

  /** A Preparing whose Parameters never came: its query-log entry goes out with the unbound SQL. */
  private writeAwaiting(p: Preparing): void {
    if (p.awaiting) this.writeQuery(p.qhash, p.fingerprint, p.awaiting.firstSeen, p.awaiting.sql);
  }

  private writeQuery(qhash: string, fingerprint: string, firstSeen: string, example: string, truncated = false): void {
    const entry: Record<string, unknown> = { QHash: qhash, sql: fingerprint, first_seen: firstSeen, example: this.opts.example ? example.trim() : null };
    if (truncated) entry.truncated = true;
    const b = Buffer.from(JSON.stringify(entry) + '\n');
    this.queryOut.push(b);
    this.stats.queryBytes += b.length;
    this.stats.newShapes++;
  }
}
