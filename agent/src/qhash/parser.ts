/**
 * Recognises the lines that carry SQL in Java application logs, by asking each format's
 * recogniser in turn. Works on Buffers with byte checks first, because most lines are not SQL and
 * must be rejected in a few nanoseconds.
 *
 * Formats, one module each:
 * - Spring Boot / logback record lines (record.ts): `2021-05-25 18:32:35.710 -DEBUG 10788 --- [thread] logger : message`
 *   (also `HH:mm:ss.SSS [thread] LEVEL logger - message`);
 * - MyBatis `==>  Preparing: …` / `==> Parameters: …` (mybatis.ts);
 * - `boundSql : …` blocks and other configured markers that run until the next timestamped line (block-marker.ts);
 * - p6spy's default single line `now|elapsed|category|connection N|url U|prepared|sql`, alone or as
 *   the message of a logback line (p6spy.ts), and custom `logMessageFormat` patterns (p6spy-custom.ts).
 */
import { compileBlockMarkers, matchBlockMarker, type BlockMarkers } from './block-marker.js';
import { Byte } from './bytes.js';
import { matchMyBatis } from './mybatis.js';
import { compileCustomFormat, type CustomFormat } from './p6spy-custom.js';
import { matchP6spyDefault, startsWithEpochPipe } from './p6spy.js';
import { findSep } from './record.js';
import { isDigit, skipSpaces } from './scan.js';
import type { SqlStart } from './sql-start.js';

export interface ParserConfig {
  /** Message prefixes that open a multi-line SQL block, e.g. "boundSql :". */
  blockMarkers: string[];
  /** Custom p6spy logMessageFormat patterns. */
  p6spyFormats: string[];
}

export const DEFAULT_PARSER_CONFIG: ParserConfig = { blockMarkers: ['boundSql :', 'boundSql:'], p6spyFormats: [] };

export interface CompiledParser {
  blocks: BlockMarkers;
  custom: CustomFormat[];
}

export function compileParser(cfg: ParserConfig): CompiledParser {
  return { blocks: compileBlockMarkers(cfg.blockMarkers), custom: cfg.p6spyFormats.map((f) => compileCustomFormat(f)) };
}

/** True for a line that starts a new log record: timestamped, or a bare p6spy line. `tsEnd` is timestampEnd() of the line. */
export function isRecordStart(b: Buffer, s: number, e: number, tsEnd: number, custom: CustomFormat[]): boolean {
  if (tsEnd >= 0 || startsWithEpochPipe(b, s, e)) return true;
  for (const f of custom) if (f.quick(b, s, e)) return true;
  return false;
}

export interface Classified {
  sql?: SqlStart;
  /** A MyBatis `==> Parameters:` line; [paramsStart, e) is the list. */
  params?: { thread: string; paramsStart: number };
}

/**
 * Looks at a record-start line and says whether it opens SQL. `tsEnd` is timestampEnd() of the line.
 */
export function classify(b: Buffer, s: number, e: number, tsEnd: number, p: CompiledParser): Classified | undefined {
  if (tsEnd >= 0) {
    // The message follows " : " (Spring Boot) or, when there is none, " - " (logback's common pattern).
    const c1 = findSep(b, tsEnd, e, Byte.COLON);
    const c = c1 >= 0 ? c1 : findSep(b, tsEnd, e, Byte.DASH);
    if (c >= 0) {
      const r = classifyMessage(b, s, e, c + 2, c - 1, p);
      if (r) return r;
    }
  }
  // A bare p6spy line; with p6spy's `dateformat` set, its `now` is a timestamp right before the `|`.
  if (tsEnd >= 0 && b[tsEnd] !== Byte.PIPE) return undefined;
  return classifyMessage(b, s, e, s, -1, p, true);
}

/** `sepAt` is where the logger/message separator starts (the thread is the last [..] before it), or -1. */
function classifyMessage(b: Buffer, s: number, e: number, m0: number, sepAt: number, p: CompiledParser, bare = false): Classified | undefined {
  const m = skipSpaces(b, m0, e);
  if (m >= e) return undefined;
  const c = b[m]!;
  if (!bare) {
    // A message that starts like MyBatis's `==>` is MyBatis or nothing.
    if (c === Byte.EQUALS) return matchMyBatis(b, s, sepAt, m, e);
    if (p.blocks.firstBytes.has(c)) {
      const blk = matchBlockMarker(b, m, e, p.blocks);
      if (blk) return { sql: blk };
    }
  }
  if (isDigit(c) || (bare && c !== Byte.TAB && c !== Byte.SPACE)) {
    const d = matchP6spyDefault(b, m, e);
    if (d) return { sql: d };
  }
  for (const f of p.custom) {
    if (!f.quick(b, m, e)) continue;
    const r = f.match(b, m, e);
    if (r) return { sql: r };
  }
  return undefined;
}
