/**
 * The streaming core of `imom qhash split`: bytes in, console bytes and query-log lines out.
 *
 * Every byte that is not SQL is copied through unchanged and in order (slices of the input
 * chunk, not copies). A SQL record becomes its original prefix plus `"QHash":"<md5>"`; a shape's
 * first execution also writes one JSON line to the query log.
 *
 * The parts: framing.ts cuts lines, parser.ts and its recognisers say which open SQL,
 * sql-block.ts collects a record, shapes.ts remembers what the query log holds, console-out.ts
 * and query-log.ts produce the two outputs.
 *
 * The splitter is deterministic given its snapshot and the input from `safeOffset()`: `follow`
 * relies on that to resume after a crash without losing or repeating a line.
 */
import { Byte } from './bytes.js';
import { ConsoleOut } from './console-out.js';
import { FingerprintCache } from './fingerprint-cache.js';
import { LineFramer, type LineSink, type LongLineMode } from './framing.js';
import { bindMyBatis, parseMyBatisParams } from './mybatis.js';
import { PendingPreparing, type Preparing } from './mybatis-pairing.js';
import { epochFirstSeen } from './p6spy.js';
import { classify, isRecordStart, type CompiledParser } from './parser.js';
import { PER_EXECUTION_ENTRY_OVERHEAD, queryLogLine } from './query-log.js';
import { isStackTraceLine, timestampEnd } from './record.js';
import { ShapeSet } from './shapes.js';
import { CRLF_EOL, LF_EOL, SqlBlock } from './sql-block.js';

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

const MB = 1024 * 1024;
/** A SQL record longer than this is fingerprinted on its first this many bytes (and so is `qhash fingerprint`'s input). */
export const DEFAULT_MAX_SQL = MB;

/** What the lines say: pass-through, SQL records, MyBatis pairs. Fed by the LineFramer. */
class RecordHandler implements LineSink {
  readonly console = new ConsoleOut();
  queryOut: Buffer[] = [];
  queryBytes = 0;
  sqlRecords = 0;
  newShapes = 0;
  fallbackShapes = 0;
  perExecutionQueryBytes = 0;
  block: SqlBlock | undefined;
  readonly shapes: ShapeSet;
  readonly preparing: PendingPreparing;
  private readonly fingerprints = new FingerprintCache();
  /** The last line's start was replaced by its QHash: the rest of a long line is swallowed. */
  private lastWasSql = false;
  /** The swallowed rest's line ending goes out (a SQL record's), or not (a folded Parameters line's). */
  private swallowKeepsEol = true;
  /** The swallowed bytes so far end with a CR: with the LF after it, the line ending is CRLF. */
  private swallowedCr = false;
  private readonly now: () => Date;
  private readonly maxSql: number;

  constructor(private readonly opts: SplitOptions, snapshot: SplitterSnapshot | undefined) {
    this.now = opts.now ?? (() => new Date());
    this.maxSql = opts.maxSql ?? DEFAULT_MAX_SQL;
    this.shapes = new ShapeSet(opts.maxShapes, snapshot?.seen);
    this.preparing = new PendingPreparing(snapshot?.preparing);
  }

  chunkStart(chunk: Buffer, pos: number): void {
    this.console.chunkStart(chunk, pos);
  }

  chunkEnd(): void {
    this.console.chunkEnd();
    this.block?.detach();
  }

  line(b: Buffer, s: number, end: number, abs: number, cut = false): void {
    let e = end;
    if (e > s && b[e - 1] === Byte.LF) e--;
    if (e > s && b[e - 1] === Byte.CR) e--;
    const tsEnd = timestampEnd(b, s, e);
    const start = isRecordStart(b, s, e, tsEnd, this.opts.parser.custom);
    if (this.block) {
      if (!start && !isStackTraceLine(b, s, e)) {
        this.block.append(b, s, end);
        return;
      }
      this.finishBlock();
    }
    if (!start) return this.pass(b, s, end);
    const c = classify(b, s, e, tsEnd, this.opts.parser);
    if (!c) return this.pass(b, s, end);
    if (c.params) {
      const p = this.preparing.take(c.params.thread);
      if (!p) return this.pass(b, s, end);
      // The Parameters line holds literal values: it is folded into its Preparing line's QHash.
      this.console.skipTo(b, end);
      // So is the rest of it, line ending included, when it is longer than maxLine.
      this.lastWasSql = true;
      this.swallowKeepsEol = false;
      if (p.awaiting) {
        const params = parseMyBatisParams(b.toString('utf8', c.params.paramsStart, e));
        this.writeQuery(p.qhash, p.fingerprint, p.awaiting.firstSeen, bindMyBatis(p.awaiting.sql, params));
      }
      return;
    }
    const sql = c.sql!;
    const firstSeen = tsEnd >= 0 ? b.toString('latin1', s, tsEnd) : (epochFirstSeen(b, s, e) ?? this.now().toISOString());
    // A line cut by maxLine has no line ending yet (a CR at the cut is the line's, not its ending).
    const blk = new SqlBlock(sql, b.subarray(s, sql.prefixEnd), cut ? b.subarray(end, end) : b.subarray(e, end), firstSeen, abs, this.maxSql);
    if (cut && !sql.multiline) {
      // Fingerprinted on its start: truncated, like a record over maxSql; its rest is swallowed.
      blk.truncated = true;
      this.swallowedCr = b[end - 1] === Byte.CR;
    }
    this.console.skipTo(b, end);
    this.block = blk;
    // A multi-line block keeps its newlines so that continuation lines do not run together.
    blk.append(b, sql.sqlStart, sql.multiline ? end : e);
    if (!sql.multiline) this.finishBlock();
  }

  longLineMode(): LongLineMode {
    // The rest of the line joins an open block, or follows what happened to its start:
    // swallowed if it was single-line SQL (already replaced), else passed through.
    if (this.block) return 'block';
    return this.lastWasSql ? 'swallow' : 'pass';
  }

  longLineRest(b: Buffer, s: number, end: number, mode: LongLineMode): void {
    if (mode === 'block') this.block!.append(b, s, end);
    else if (mode === 'pass') this.console.push(b.subarray(s, end));
    else this.swallowRest(b, s, end);
  }

  /**
   * The rest of a single-line SQL statement already replaced by its QHash: its bytes go, but its
   * line ending is the QHash line's (which went out without one), else the next line would join it.
   */
  private swallowRest(b: Buffer, s: number, end: number): void {
    if (end <= s) return;
    if (b[end - 1] !== Byte.LF) {
      this.swallowedCr = b[end - 1] === Byte.CR;
      return;
    }
    if (!this.swallowKeepsEol) return;
    const cr = end - s >= 2 ? b[end - 2] === Byte.CR : this.swallowedCr;
    this.console.push(cr ? CRLF_EOL : LF_EOL);
  }

  private pass(b: Buffer, s: number, end: number): void {
    this.lastWasSql = false;
    this.console.pass(b, s, end);
  }

  finishBlock(): void {
    const blk = this.block;
    if (!blk) return;
    this.block = undefined;
    const raw = blk.text().trimEnd();
    const st = blk.start;
    // A truncated record may end inside a literal: fingerprinted as cut, that literal becomes ? (never the fallback's raw text).
    const fp = this.fingerprints.get(st.shapeSql ?? raw, blk.truncated);
    this.sqlRecords++;
    this.perExecutionQueryBytes += PER_EXECUTION_ENTRY_OVERHEAD + (st.exampleSql === undefined ? blk.size : st.exampleSql.length);
    const con = this.console;
    con.push(blk.keptPrefix());
    if (st.lead) con.push(Buffer.from(st.lead));
    con.push(fp.tag);
    if (st.extra) con.push(Buffer.from(st.extra));
    con.push(blk.recordEol());
    this.lastWasSql = true;
    this.swallowKeepsEol = true;

    const isNew = this.shapes.use(fp.qhash);
    if (isNew && fp.fallback) this.fallbackShapes++;
    if (st.kind === 'mybatis') {
      const p: Preparing = { qhash: fp.qhash, fingerprint: fp.fingerprint };
      if (isNew && this.opts.example) p.awaiting = { sql: raw, firstSeen: blk.firstSeen };
      const prev = this.preparing.put(st.thread, p);
      if (prev) this.writeAwaiting(prev);
      const evicted = this.preparing.evictOverLimit();
      if (evicted) this.writeAwaiting(evicted);
      // With --example the entry waits for the Parameters line, which fills in the literals.
      if (isNew && this.opts.example) return;
    }
    if (isNew) this.writeQuery(fp.qhash, fp.fingerprint, blk.firstSeen, st.exampleSql ?? raw, blk.truncated);
  }

  /** A Preparing whose Parameters never came: its query-log entry goes out with the unbound SQL. */
  writeAwaiting(p: Preparing): void {
    if (p.awaiting) this.writeQuery(p.qhash, p.fingerprint, p.awaiting.firstSeen, p.awaiting.sql);
  }

  private writeQuery(qhash: string, fingerprint: string, firstSeen: string, example: string, truncated = false): void {
    const b = queryLogLine(qhash, fingerprint, firstSeen, this.opts.example ? example.trim() : null, truncated);
    this.queryOut.push(b);
    this.queryBytes += b.length;
    this.newShapes++;
  }
}

export class Splitter {
  private bytesIn = 0;
  private readonly records: RecordHandler;
  private readonly framer: LineFramer;

  constructor(opts: SplitOptions, snapshot?: SplitterSnapshot, startOffset = 0) {
    this.records = new RecordHandler(opts, snapshot);
    this.framer = new LineFramer(this.records, opts.maxLine ?? MB, startOffset, snapshot?.midLine ?? 'no');
  }

  get stats(): SplitStats {
    const r = this.records;
    return {
      bytesIn: this.bytesIn,
      consoleBytes: r.console.bytes,
      queryBytes: r.queryBytes,
      sqlRecords: r.sqlRecords,
      newShapes: r.newShapes,
      fallbackShapes: r.fallbackShapes,
      perExecutionQueryBytes: r.perExecutionQueryBytes,
    };
  }

  /** Forget every seen shape: the query log rotated, so it no longer holds them. */
  resetSeen(): void {
    this.records.shapes.clear();
  }

  snapshot(): SplitterSnapshot {
    const m = this.framer.midLine;
    return { seen: this.records.shapes.list(), preparing: this.records.preparing.entries(), midLine: m === 'block' ? 'no' : m };
  }

  /** Input offset up to which all output has been produced; resume here with snapshot(). */
  safeOffset(): number {
    return this.records.block ? this.records.block.startAbs : this.framer.safeOffset();
  }

  /** Output produced so far; the caller writes it and the splitter forgets it. */
  take(): { console: Buffer[]; query: Buffer[] } {
    const r = this.records;
    const out = { console: r.console.take(), query: r.queryOut };
    r.queryOut = [];
    return out;
  }

  push(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.framer.push(chunk);
  }

  /** End of input: the last line may lack its newline, and an open SQL block is complete. */
  end(): void {
    this.framer.end();
    this.records.finishBlock();
    for (const p of this.records.preparing.takeAwaiting()) this.records.writeAwaiting(p);
  }

  /** The next input byte is at `offset` of a new file; call after end(). */
  rebase(offset: number): void {
    this.framer.rebase(offset);
  }

  /** No new input for a while (follow mode): a SQL block at the end of the file is complete. */
  idle(): void {
    this.records.finishBlock();
  }
}
