/**
 * Recognises the lines that carry SQL in Java application logs. Works on Buffers with byte
 * checks first, because most lines are not SQL and must be rejected in a few nanoseconds.
 *
 * Formats:
 * - Spring Boot / logback lines: `2021-05-25 18:32:35.710 -DEBUG 10788 --- [thread] logger : message`
 *   (also `HH:mm:ss.SSS [thread] LEVEL logger - message`);
 * - MyBatis `==>  Preparing: …` / `==> Parameters: …`;
 * - `boundSql : …` blocks (and other configured markers) that run until the next timestamped line;
 * - p6spy's default single line `now|elapsed|category|connection N|url U|prepared|sql`, alone or as
 *   the message of a logback line, and custom `logMessageFormat` patterns (`%(executionTime)` …).
 */

export type SqlKind = 'block' | 'mybatis' | 'p6spy' | 'custom';

export interface SqlStart {
  kind: SqlKind;
  /** Bytes [lineStart, prefixEnd) are kept on the console line. */
  prefixEnd: number;
  /** SQL on this line: [sqlStart, sqlEnd). */
  sqlStart: number;
  sqlEnd: number;
  /** Continuation lines belong to the SQL until the next record start. */
  multiline: boolean;
  /** Text to fingerprint when it differs from the SQL bytes (p6spy's `prepared`, free of literals). */
  shapeSql?: string;
  /** The SQL with its literals, when it differs from the SQL bytes (p6spy's `sql`). */
  exampleSql?: string;
  /** Added after the QHash when not already in the kept prefix: `,"elapsed_ms":3,"category":"statement"`. */
  extra: string;
  /** Put between the kept prefix and the QHash. */
  lead?: string;
  /** Thread name, to pair MyBatis Preparing with its Parameters. */
  thread: string;
}

export interface ParserConfig {
  /** Message prefixes that open a multi-line SQL block, e.g. "boundSql :". */
  blockMarkers: string[];
  /** Custom p6spy logMessageFormat patterns. */
  p6spyFormats: string[];
}

export const DEFAULT_PARSER_CONFIG: ParserConfig = { blockMarkers: ['boundSql :', 'boundSql:'], p6spyFormats: [] };

const isD = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;

/**
 * If the line starts with a timestamp (`yyyy-MM-dd[ T]HH:mm:ss…` or `HH:mm:ss…`), the index after
 * the timestamp token, else -1.
 */
export function timestampEnd(b: Buffer, s: number, e: number): number {
  if (e - s < 8 || !isD(b[s]) || !isD(b[s + 1])) return -1;
  let j: number;
  if (b[s + 4] === 45 && b[s + 7] === 45 && isD(b[s + 2]) && isD(b[s + 3]) && (b[s + 10] === 32 || b[s + 10] === 84) && isD(b[s + 11]) && b[s + 13] === 58 && b[s + 16] === 58) {
    j = s + 19;
  } else if (b[s + 2] === 58 && b[s + 5] === 58 && isD(b[s + 3]) && isD(b[s + 6])) {
    j = s + 8;
  } else return -1;
  // Fraction and zone: .SSS, ,SSS, +09:00, Z
  while (j < e) {
    const c = b[j]!;
    if (isD(c) || c === 46 || c === 44 || c === 43 || c === 58 || c === 90 || (c === 45 && j > s + 19)) j++;
    else break;
  }
  return j;
}

/** Epoch-millisecond p6spy `now` at the start of the line: digits then `|`. */
function epochPipe(b: Buffer, s: number, e: number): boolean {
  let j = s;
  while (j < e && j - s < 20 && isD(b[j])) j++;
  return j > s && b[j] === 124;
}

/** True for a line that starts a new log record: timestamped, or a bare p6spy line. `tsEnd` is timestampEnd() of the line. */
export function isRecordStart(b: Buffer, s: number, e: number, tsEnd: number, custom: CustomFormat[]): boolean {
  if (tsEnd >= 0 || epochPipe(b, s, e)) return true;
  for (const f of custom) if (f.quick(b, s, e)) return true;
  return false;
}

/** The thread name: the last `[…]` before the message separator (none when sep <= s). */
function threadOf(b: Buffer, s: number, sep: number): string {
  if (sep <= s) return '';
  const v = b.subarray(s, sep);
  const close = v.lastIndexOf(93);
  if (close <= 0) return '';
  const open = v.lastIndexOf(91, close);
  if (open < 0) return '';
  return v.toString('latin1', open + 1, close).trim();
}

const STACK_AT = Buffer.from('at ');
const CAUSED = Buffer.from('Caused by: ');
const SUPPRESSED = Buffer.from('Suppressed: ');
const EXCEPTION_HEAD = /^[a-z][\w$]*(\.[\w$]+)+(Exception|Error|Throwable)(: |$)/;

/** Stack-trace lines end a SQL block even without a timestamp, so they pass through untouched. */
export function isStackTraceLine(b: Buffer, s: number, e: number): boolean {
  let i = s;
  while (i < e && (b[i] === 9 || b[i] === 32)) i++;
  if (i > s) {
    if (i + 3 < e && startsWith(b, i, e, STACK_AT)) return true;
    if (b[s] === 9 && b[i] === 46 && b[i + 1] === 46 && b[i + 2] === 46) return true; // "\t... 12 more"
    return startsWith(b, i, e, CAUSED) || startsWith(b, i, e, SUPPRESSED);
  }
  if (startsWith(b, s, e, CAUSED)) return true;
  const c = b[s]!;
  if (c < 97 || c > 122 || e - s > 4096) return false;
  return EXCEPTION_HEAD.test(b.toString('latin1', s, Math.min(e, s + 300)));
}

const PREPARING = Buffer.from('Preparing:');
const PARAMETERS = Buffer.from('Parameters:');

function startsWith(b: Buffer, at: number, e: number, lit: Buffer): boolean {
  if (at + lit.length > e || at + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}
function skipSpaces(b: Buffer, i: number, e: number): number {
  while (i < e && b[i] === 32) i++;
  return i;
}

/** Position after `==>` and spaces, when the message is a MyBatis request line. */
function mybatisArrow(b: Buffer, m: number, e: number): number {
  if (b[m] !== 61 || b[m + 1] !== 61 || b[m + 2] !== 62) return -1;
  return skipSpaces(b, m + 3, e);
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
    const c1 = findSep(b, tsEnd, e, 58);
    const c = c1 >= 0 ? c1 : findSep(b, tsEnd, e, 45);
    if (c >= 0) {
      const r = classifyMessage(b, s, e, c + 2, c - 1, p);
      if (r) return r;
    }
  }
  // A bare p6spy line; with p6spy's `dateformat` set, its `now` is a timestamp right before the `|`.
  if (tsEnd >= 0 && b[tsEnd] !== 124) return undefined;
  return classifyMessage(b, s, e, s, -1, p, true);
}

/** Index of the first `<space><ch><space>` in [from, e), or -1. memchr first: most lines have one early. */
function findSep(b: Buffer, from: number, e: number, ch: number): number {
  let i = from;
  while (i < e) {
    const c = b.indexOf(ch, i);
    if (c < 0 || c + 1 >= e) return -1;
    if (b[c - 1] === 32 && b[c + 1] === 32) return c;
    i = c + 1;
  }
  return -1;
}

/** `sepAt` is where the logger/message separator starts (the thread is the last [..] before it), or -1. */
function classifyMessage(b: Buffer, s: number, e: number, m0: number, sepAt: number, p: CompiledParser, bare = false): Classified | undefined {
  const m = skipSpaces(b, m0, e);
  if (m >= e) return undefined;
  const c = b[m]!;
  if (!bare) {
    if (c === 61) {
      const a = mybatisArrow(b, m, e);
      if (a >= 0) {
        if (startsWith(b, a, e, PREPARING)) {
          const sqlStart = skipSpaces(b, a + PREPARING.length, e);
          return { sql: { kind: 'mybatis', prefixEnd: m, sqlStart, sqlEnd: e, multiline: true, extra: '', thread: threadOf(b, s, sepAt) } };
        }
        if (startsWith(b, a, e, PARAMETERS)) return { params: { thread: threadOf(b, s, sepAt), paramsStart: skipSpaces(b, a + PARAMETERS.length, e) } };
      }
      return undefined;
    }
    if (p.markerFirstBytes.has(c)) {
      for (const mk of p.markers) {
        if (startsWith(b, m, e, mk)) {
          const sqlStart = skipSpaces(b, m + mk.length, e);
          return { sql: { kind: 'block', prefixEnd: m, sqlStart, sqlEnd: e, multiline: true, extra: '', thread: '' } };
        }
      }
    }
  }
  if (isD(c) || (bare && c !== 9 && c !== 32)) {
    const d = parseP6spyDefault(b, m, e);
    if (d) return { sql: d };
  }
  for (const f of p.custom) {
    if (!f.quick(b, m, e)) continue;
    const r = f.match(b, m, e);
    if (r) return { sql: r };
  }
  return undefined;
}

/** b.indexOf(ch, from) limited to [from, e). */
function indexIn(b: Buffer, ch: number, from: number, e: number): number {
  for (let i = from; i < e; i++) if (b[i] === ch) return i;
  return -1;
}

const CONNECTION = Buffer.from('connection');
const URL = Buffer.from('url ');

/** p6spy SingleLineFormat: now|elapsed|category|connection N|url U|prepared|sql. */
function parseP6spyDefault(b: Buffer, m: number, e: number): SqlStart | undefined {
  // `now` is epoch millis or a short formatted date: look for its `|` in the first 40 bytes only.
  let p1 = m;
  const lim = Math.min(e, m + 40);
  while (p1 < lim && b[p1] !== 124) p1++;
  if (p1 >= lim) return undefined;
  let j = p1 + 1;
  const elapsedStart = j;
  while (j < e && isD(b[j])) j++;
  if (j === elapsedStart || b[j] !== 124) return undefined;
  j++;
  while (j < e && ((b[j]! | 32) >= 97 && (b[j]! | 32) <= 122)) j++;
  if (b[j] !== 124 || !startsWith(b, j + 1, e, CONNECTION)) return undefined;
  const p3 = indexIn(b, 124, j + 1 + CONNECTION.length, e);
  if (p3 < 0 || !startsWith(b, p3 + 1, e, URL)) return undefined;
  const p4 = indexIn(b, 124, p3 + 1 + URL.length, e);
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
  for (let i = first; i >= 0 && positions.length < 64; i = rest.indexOf('|', i + 1)) positions.push(i);
  for (const i of positions) if (rest.slice(0, i) === rest.slice(i + 1)) return [rest.slice(0, i), rest.slice(i + 1)];
  const mid = positions.reduce((best, i) => (Math.abs(i - rest.length / 2) < Math.abs(best - rest.length / 2) ? i : best), first);
  return [rest.slice(0, mid), rest.slice(mid + 1)];
}

// --- Custom logMessageFormat -------------------------------------------------------------------

const PLACEHOLDERS = ['connectionId', 'currentTime', 'executionTime', 'category', 'effectiveSql', 'effectiveSqlSingleLine', 'sql', 'sqlSingleLine', 'url'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const SQL_PLACEHOLDERS: ReadonlySet<string> = new Set(['effectiveSql', 'effectiveSqlSingleLine', 'sql', 'sqlSingleLine']);

export interface CustomFormat {
  pattern: string;
  /** Cheap byte test before the regex. */
  quick(b: Buffer, m: number, e: number): boolean;
  match(b: Buffer, m: number, e: number): SqlStart | undefined;
}

/** Throws an Error naming the problem when the pattern is not usable. */
export function compileCustomFormat(pattern: string, allowEmpty = false): CustomFormat {
  // "…%(url)\n%(sql)": a header line, then the SQL on the following lines (a common
  // MessageFormattingStrategy). The header is matched; the SQL runs to the next record start.
  const nl = /^([^\n]*)\r?\n(%\((?:sql|effectiveSql)\);?)$/.exec(pattern);
  if (nl) return compileHeaderFormat(pattern, nl[1]!);
  if (pattern.includes('\n')) throw new Error('a newline may only come right before a final %(sql) or %(effectiveSql)');
  const parts: ({ lit: string } | { ph: Placeholder })[] = [];
  const re = /%\(([A-Za-z]+)\)/g;
  let last = 0;
  for (const m of pattern.matchAll(re)) {
    if (m.index > last) parts.push({ lit: pattern.slice(last, m.index) });
    const name = m[1]!;
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) throw new Error(`unknown placeholder %(${name}); known: ${PLACEHOLDERS.map((p) => `%(${p})`).join(', ')}`);
    parts.push({ ph: name as Placeholder });
    last = m.index + m[0].length;
  }
  if (last < pattern.length) parts.push({ lit: pattern.slice(last) });
  const sqlParts = parts.filter((p) => 'ph' in p && SQL_PLACEHOLDERS.has(p.ph));
  if (sqlParts.length === 0) throw new Error('pattern has no SQL placeholder (%(sql), %(sqlSingleLine), %(effectiveSql) or %(effectiveSqlSingleLine))');
  const first = parts[0]!;
  if (!('lit' in first) && !['connectionId', 'executionTime', 'currentTime'].includes(first.ph)) {
    throw new Error('pattern must start with literal text, %(currentTime), %(executionTime) or %(connectionId), so that its lines can be recognised');
  }
  const names: Placeholder[] = [];
  let src = '^';
  parts.forEach((p, i) => {
    if ('lit' in p) { src += p.lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); return; }
    names.push(p.ph);
    const isLast = i === parts.length - 1;
    switch (p.ph) {
      case 'executionTime':
      case 'connectionId': src += '(-?\\d+)'; break;
      case 'category': src += '([A-Za-z]*)'; break;
      default: src += isLast ? '(.*)' : '(.*?)';
    }
  });
  src += '$';
  const rx = new RegExp(src, 'd');
  const lastPart = parts[parts.length - 1]!;
  const multiline = 'ph' in lastPart && (lastPart.ph === 'sql' || lastPart.ph === 'effectiveSql');
  const firstLit = 'lit' in first ? Buffer.from(first.lit) : undefined;
  const numericStart = !firstLit && (first as { ph: Placeholder }).ph !== 'currentTime';
  return {
    pattern,
    quick(b, m, e) {
      if (firstLit) return startsWith(b, m, e, firstLit);
      return numericStart ? isD(b[m]) || b[m] === 45 : true;
    },
    match(b, m, e) {
      const text = b.toString('utf8', m, e);
      const r = rx.exec(text);
      if (!r?.indices) return undefined;
      const got: Partial<Record<Placeholder, { v: string; at: number }>> = {};
      names.forEach((n, k) => {
        const v = r[k + 1];
        const at = r.indices![k + 1];
        if (v !== undefined && at && got[n] === undefined) got[n] = { v, at: at[0] };
      });
      // Prefer the text with placeholders for the shape and the text with values for the example.
      const withQ = got.effectiveSql ?? got.effectiveSqlSingleLine;
      const withValues = got.sql ?? got.sqlSingleLine;
      const sqlAt = Math.min(...[withQ, withValues].filter((x) => x !== undefined).map((x) => x!.at));
      const shape = withQ?.v.trim() ? withQ.v : withValues?.v ?? '';
      if (shape.trim() === '' && !allowEmpty) return undefined;
      const prefixEnd = m + Buffer.byteLength(text.slice(0, sqlAt));
      let extra = '';
      if (got.executionTime && got.executionTime.at > sqlAt) extra += `,"elapsed_ms":${Number(got.executionTime.v)}`;
      if (got.category && got.category.at > sqlAt) extra += `,"category":${JSON.stringify(got.category.v)}`;
      return {
        kind: 'custom',
        prefixEnd,
        sqlStart: prefixEnd,
        sqlEnd: e,
        multiline,
        shapeSql: shape,
        exampleSql: withValues?.v.trim() ? withValues.v : shape,
        extra,
        thread: '',
      };
    },
  };
}

function compileHeaderFormat(pattern: string, header: string): CustomFormat {
  if (/%\((sql|sqlSingleLine|effectiveSql|effectiveSqlSingleLine)\)/.test(header)) throw new Error('the header line before the newline must not contain SQL');
  const head = compileCustomFormat(`${header}%(sqlSingleLine)`, true);
  return {
    pattern,
    quick: head.quick,
    match(b, m, e) {
      const r = head.match(b, m, e);
      // The header line is kept whole; the SQL is on the next lines.
      if (!r) return undefined;
      return { kind: 'custom', prefixEnd: e, sqlStart: e, sqlEnd: e, multiline: true, extra: r.extra, thread: '', lead: ' ' };
    },
  };
}

export interface CompiledParser {
  markers: Buffer[];
  markerFirstBytes: Set<number>;
  custom: CustomFormat[];
}

export function compileParser(cfg: ParserConfig): CompiledParser {
  const markers = cfg.blockMarkers.filter((m) => m.length > 0).map((m) => Buffer.from(m));
  return {
    markers,
    markerFirstBytes: new Set(markers.map((m) => m[0]!)),
    custom: cfg.p6spyFormats.map((f) => compileCustomFormat(f)),
  };
}

// --- MyBatis parameters ------------------------------------------------------------------------

export interface MyBatisParam {
  value: string | null;
  type: string;
}

/** `1(Integer), bob(String), null` → values. Values may contain ", ", so split on the `(Type), ` ends. */
export function parseMyBatisParams(text: string): MyBatisParam[] {
  const out: MyBatisParam[] = [];
  const rx = /\s*(?:(null)|([\s\S]*?)\(([A-Za-z_$][\w$.[\]]*)\))(?:, |\s*$)/y;
  let i = 0;
  while (i < text.length) {
    rx.lastIndex = i;
    const m = rx.exec(text);
    if (!m || m[0].length === 0) break;
    out.push(m[1] ? { value: null, type: 'null' } : { value: m[2]!, type: m[3]! });
    i = rx.lastIndex;
  }
  return out;
}

const NUMERIC = new Set(['Integer', 'Long', 'Short', 'Byte', 'Double', 'Float', 'BigDecimal', 'BigInteger', 'Boolean']);

/** Puts MyBatis parameter values into the `?` of the prepared SQL (outside quotes). */
export function bindMyBatis(sql: string, params: MyBatisParam[]): string {
  let out = '';
  let k = 0;
  let quote = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (quote) {
      if (c === quote) quote = 0;
      out += sql[i];
    } else if (c === 39 || c === 34 || c === 96) {
      quote = c;
      out += sql[i];
    } else if (c === 63 && k < params.length) {
      const p = params[k++]!;
      out += p.value === null ? 'NULL' : NUMERIC.has(p.type) ? p.value : `'${p.value.replace(/'/g, "''")}'`;
    } else out += sql[i];
  }
  return out;
}
