/**
 * p6spy's default SingleLineFormat: `now|elapsed|category|connection N|url U|prepared|sql`, bare or
 * as the message of a logback line. `commit`/`rollback` lines carry no SQL and are not matched.
 */
import { Byte } from './bytes.js';
import { indexIn, isDigit, isLetter, startsWith } from './scan.js';
import type { SqlStart } from './sql-start.js';

/** Digits scanned for an epoch-millisecond `now` before giving up. */
const EPOCH_SCAN = 20;
/** Epoch milliseconds with 12 to 14 digits: the years 1973 to 5138. */
const EPOCH_MS_DIGITS_MIN = 12;
const EPOCH_MS_DIGITS_MAX = 14;
/** A formatted `now` (p6spy `dateformat`) ends with its `|` within this many bytes. */
const NOW_SCAN = 40;
/** `prepared|sql` split candidates tried when the SQL itself holds `|`. */
const SPLIT_CANDIDATES_MAX = 64;

const CONNECTION = Buffer.from('connection');
const URL = Buffer.from('url ');

/** End of the digits of an epoch-millisecond `now` at s (s when there are none). */
function epochEnd(b: Buffer, s: number, e: number): number {
  let j = s;
  while (j < e && j - s < EPOCH_SCAN && isDigit(b[j])) j++;
  return j;
}

/** Epoch-millisecond p6spy `now` at the start of the line: digits then `|`. */
export function startsWithEpochPipe(b: Buffer, s: number, e: number): boolean {
  const j = epochEnd(b, s, e);
  return j > s && b[j] === Byte.PIPE;
}

/** A bare p6spy line's `now` as ISO-8601, when the line starts with epoch millis and `|`. */
export function epochFirstSeen(b: Buffer, s: number, e: number): string | undefined {
  const j = epochEnd(b, s, e);
  const digits = j - s;
  if (digits >= EPOCH_MS_DIGITS_MIN && digits <= EPOCH_MS_DIGITS_MAX && b[j] === Byte.PIPE) return new Date(Number(b.toString('latin1', s, j))).toISOString();
  return undefined;
}

/** The message at `m` as a p6spy default line. */
export function matchP6spyDefault(b: Buffer, m: number, e: number): SqlStart | undefined {
  // `now` is epoch millis or a short formatted date: look for its `|` in the first bytes only.
  let p1 = m;
  const lim = Math.min(e, m + NOW_SCAN);
  while (p1 < lim && b[p1] !== Byte.PIPE) p1++;
  if (p1 >= lim) return undefined;
  let j = p1 + 1;
  const elapsedStart = j;
  while (j < e && isDigit(b[j])) j++;
  if (j === elapsedStart || b[j] !== Byte.PIPE) return undefined;
  j++;
  while (j < e && isLetter(b[j])) j++;
  if (b[j] !== Byte.PIPE || !startsWith(b, j + 1, e, CONNECTION)) return undefined;
  const p3 = indexIn(b, Byte.PIPE, j + 1 + CONNECTION.length, e);
  if (p3 < 0 || !startsWith(b, p3 + 1, e, URL)) return undefined;
  const p4 = indexIn(b, Byte.PIPE, p3 + 1 + URL.length, e);
  if (p4 < 0) return undefined;
  const rest = b.toString('utf8', p4 + 1, e);
  const split = splitPreparedSql(rest);
  if (!split) return undefined;
  const [prepared, sql] = split;
  if (prepared.trim() === '' && sql.trim() === '') return undefined; // commit, rollback: no SQL
  return {
    kind: 'p6spy',
    prefixEnd: p4 + 1,
    sqlStart: p4 + 1,
    sqlEnd: e,
    multiline: false,
    shapeSql: prepared.trim() !== '' ? prepared : sql,
    exampleSql: sql.trim() !== '' ? sql : prepared,
    extra: '',
    thread: '',
  };
}

/**
 * `prepared|sql`. Either half may itself contain `|` (Oracle's `||`), so when there are several
 * candidates prefer the split whose halves have the same number of statement-level tokens.
 */
function splitPreparedSql(rest: string): [string, string] | undefined {
  const first = rest.indexOf('|');
  if (first < 0) return undefined;
  if (rest.indexOf('|', first + 1) < 0) return [rest.slice(0, first), rest.slice(first + 1)];
  // The sql half is the prepared half with ? replaced: equal when there are no parameters.
  const positions: number[] = [];
  for (let i = first; i >= 0 && positions.length < SPLIT_CANDIDATES_MAX; i = rest.indexOf('|', i + 1)) positions.push(i);
  for (const i of positions) if (rest.slice(0, i) === rest.slice(i + 1)) return [rest.slice(0, i), rest.slice(i + 1)];
  const mid = positions.reduce((best, i) => (Math.abs(i - rest.length / 2) < Math.abs(best - rest.length / 2) ? i : best), first);
  return [rest.slice(0, mid), rest.slice(mid + 1)];
}
