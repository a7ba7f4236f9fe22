/**
 * SQL fingerprints in the spirit of pt-query-digest and MySQL statement digests:
 * literals become `?`, IN lists and multi-row VALUES collapse, whitespace and
 * comments go, keywords are upper-cased and identifiers keep their case.
 * QHash = md5(fingerprint), 32 lowercase hex: the width operators already search for.
 */
import { createHash } from 'node:crypto';

export interface Fingerprint {
  qhash: string;
  fingerprint: string;
  /** True when the tokenizer gave up and the text is only whitespace-normalised. */
  fallback: boolean;
}

export function qhashOf(fingerprint: string): string {
  return createHash('md5').update(fingerprint, 'utf8').digest('hex');
}

/**
 * `cut`: the text is the first bytes of a longer record. A quote, comment or `#{…}` still open at
 * its end was cut there, so it becomes `?` instead of failing the tokenizer: the fallback would put
 * the literal (up to 1 MB of customer data) into the query log.
 */
export function fingerprintSql(sql: string, cut = false): Fingerprint {
  const tokens = tokenize(sql, cut);
  if (tokens === undefined) {
    const fp = sql.trim().replace(/\s+/g, ' ');
    return { qhash: qhashOf(fp), fingerprint: fp, fallback: true };
  }
  const fp = render(collapse(tokens));
  return { qhash: qhashOf(fp), fingerprint: fp, fallback: false };
}

// Words folded to upper case. Anything else that looks like a word is an identifier and keeps its case.
const CLAUSE_WORDS = `select from where and or not in is null like ilike between exists insert into values value update set delete
  merge replace join inner left right outer full cross natural on using group by order having limit offset fetch
  first next rows row only top as distinct all any some union intersect except minus case when then else end asc
  desc nulls with recursive over partition window returning default for share nowait skip locked of lock mode
  ignore duplicate key primary foreign references create alter drop table index view truncate if begin commit
  rollback savepoint start transaction interval escape collate binary unsigned true false`;
// Functions are folded too, and render without a space before their parenthesis.
const FUNCTION_WORDS = `count sum avg min max coalesce ifnull isnull nvl nvl2 nullif greatest least now sysdate systimestamp
  current_date current_time current_timestamp localtime localtimestamp cast convert concat concat_ws substr
  substring upper lower trim ltrim rtrim length char_length round floor ceil ceiling abs mod decode
  date_format date_add date_sub datediff timestampdiff str_to_date to_char to_date to_number to_timestamp
  extract year month day hour minute second date time timestamp datetime group_concat listagg string_agg
  row_number rank dense_rank lag lead rownum char varchar integer int bigint decimal numeric`;
const words = (s: string) => s.split(/\s+/).filter(Boolean);
const FUNCTIONS = new Set(words(FUNCTION_WORDS).map((w) => w.toUpperCase()));
const KEYWORDS = new Set([...words(CLAUSE_WORDS), ...words(FUNCTION_WORDS)]);

const enum K {
  Word, // keyword (already upper-cased) or identifier
  Quoted, // quoted identifier, kept verbatim
  Value, // a literal or placeholder: always "?"
  Open,
  Close,
  Comma,
  Dot,
  Semi,
  Op,
}

interface Tok {
  k: K;
  t: string;
  /** Word is a keyword. */
  kw?: boolean;
}

const TWO_CHAR_OPS = new Set(['<=', '>=', '<>', '!=', '||', ':=', '::', '->', '=>', '<<', '>>', '&&', '!<', '!>']);

function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c === 64 || c > 127;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57) || c === 35;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0xfeff;
}

/** A minus in front of a number is part of the literal when no operand precedes it. */
function unaryContext(prev: Tok | undefined): boolean {
  if (!prev) return true;
  return prev.k === K.Op || prev.k === K.Open || prev.k === K.Comma || (prev.k === K.Word && prev.kw === true);
}

/** Returns undefined when the text is not SQL this tokenizer understands (unterminated quote or comment). */
function tokenize(s: string, cut = false): Tok[] | undefined {
  const out: Tok[] = [];
  const n = s.length;
  let i = 0;
  const value = () => out.push({ k: K.Value, t: '?' });
  /** Something unterminated runs to the end: at a cut it is one `?`, else the text is not understood. */
  const openAtEnd = (): Tok[] | undefined => {
    if (!cut) return undefined;
    value();
    return out;
  };
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) { i++; continue; }
    // Comments.
    if (c === 45 /* - */ && s.charCodeAt(i + 1) === 45) {
      const e = s.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
      continue;
    }
    if (c === 47 /* / */ && s.charCodeAt(i + 1) === 42) {
      const e = s.indexOf('*/', i + 2);
      if (e < 0) return cut ? out : undefined;
      i = e + 2;
      continue;
    }
    // String literals, including N'', X'', B'', E'' prefixes.
    if (c === 39 /* ' */ || ((c === 78 || c === 110 || c === 88 || c === 120 || c === 66 || c === 98 || c === 69 || c === 101) && s.charCodeAt(i + 1) === 39)) {
      const e = skipString(s, c === 39 ? i : i + 1);
      if (e < 0) return openAtEnd();
      value();
      i = e;
      continue;
    }
    if (c === 34 /* " */ || c === 96 /* ` */) {
      const e = s.indexOf(String.fromCharCode(c), i + 1);
      if (e < 0) return openAtEnd();
      out.push({ k: K.Quoted, t: s.slice(i, e + 1) });
      i = e + 1;
      continue;
    }
    if (c === 91 /* [ */) {
      // SQL Server [identifier]; anything else with [ (Postgres arrays) is rare enough to fall back.
      const e = s.indexOf(']', i + 1);
      if (e < 0) return openAtEnd();
      out.push({ k: K.Quoted, t: s.slice(i, e + 1) });
      i = e + 1;
      continue;
    }
    // Numbers, hex, and a unary minus in front of them.
    if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(i + 1))) || (c === 45 && unaryContext(out[out.length - 1]) && (isDigit(s.charCodeAt(i + 1)) || (s.charCodeAt(i + 1) === 46 && isDigit(s.charCodeAt(i + 2)))))) {
      let j = c === 45 ? i + 1 : i;
      if (s.charCodeAt(j) === 48 && (s.charCodeAt(j + 1) | 32) === 120) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(s[j]!)) j++;
      } else {
        while (j < n && isDigit(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) === 46) { j++; while (j < n && isDigit(s.charCodeAt(j))) j++; }
        if ((s.charCodeAt(j) | 32) === 101 && (isDigit(s.charCodeAt(j + 1)) || ((s.charCodeAt(j + 1) === 43 || s.charCodeAt(j + 1) === 45) && isDigit(s.charCodeAt(j + 2))))) {
          j += 2;
          while (j < n && isDigit(s.charCodeAt(j))) j++;
        }
      }
      // 1abc is an identifier in MySQL; keep it whole rather than splitting it.
      if (j < n && isWordStart(s.charCodeAt(j))) {
        while (j < n && isWordChar(s.charCodeAt(j))) j++;
        out.push({ k: K.Word, t: s.slice(i, j) });
      } else value();
      i = j;
      continue;
    }
    // Placeholders: ?, ?1, :name, $1, #{x}, ${x} (MyBatis text that was never bound).
    if (c === 63 /* ? */) {
      i++;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      value();
      continue;
    }
    if (c === 58 /* : */ && isWordStart(s.charCodeAt(i + 1)) && s.charCodeAt(i - 1) !== 58) {
      i++;
      while (i < n && isWordChar(s.charCodeAt(i))) i++;
      value();
      continue;
    }
    if (c === 36 /* $ */ && isDigit(s.charCodeAt(i + 1))) {
      i++;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      value();
      continue;
    }
    if ((c === 35 || c === 36) && s.charCodeAt(i + 1) === 123 /* { */) {
      const e = s.indexOf('}', i);
      if (e < 0) return openAtEnd();
      value();
      i = e + 1;
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      const word = s.slice(i, j);
      const lower = word.toLowerCase();
      i = j;
      if (lower === 'true' || lower === 'false') { value(); continue; }
      if (lower === 'null') {
        // NULL is a value except in IS [NOT] NULL and NOT NULL constraints.
        const p = out[out.length - 1];
        if (p && p.kw && (p.t === 'IS' || p.t === 'NOT')) out.push({ k: K.Word, t: 'NULL', kw: true });
        else value();
        continue;
      }
      if (KEYWORDS.has(lower)) out.push({ k: K.Word, t: lower.toUpperCase(), kw: true });
      else out.push({ k: K.Word, t: word });
      continue;
    }
    if (c === 40) { out.push({ k: K.Open, t: '(' }); i++; continue; }
    if (c === 41) { out.push({ k: K.Close, t: ')' }); i++; continue; }
    if (c === 44) { out.push({ k: K.Comma, t: ',' }); i++; continue; }
    if (c === 46) { out.push({ k: K.Dot, t: '.' }); i++; continue; }
    if (c === 59) { out.push({ k: K.Semi, t: ';' }); i++; continue; }
    const two = s.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) { out.push({ k: K.Op, t: two }); i += 2; continue; }
    out.push({ k: K.Op, t: s[i]! });
    i++;
  }
  // A trailing semicolon does not change the statement's shape.
  while (out.length && out[out.length - 1]!.k === K.Semi) out.pop();
  return out;
}

/** Index after the closing quote of a string starting at `q`, or -1. Handles '' and backslash escapes. */
function skipString(s: string, q: number): number {
  let i = q + 1;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 92) { i += 2; continue; }
    if (c === 39) {
      if (s.charCodeAt(i + 1) === 39) { i += 2; continue; }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** Index of the token closing the parenthesis opened at `open`, or -1. */
function matching(toks: Tok[], open: number): number {
  let depth = 0;
  for (let i = open; i < toks.length; i++) {
    const k = toks[i]!.k;
    if (k === K.Open) depth++;
    else if (k === K.Close && --depth === 0) return i;
  }
  return -1;
}

function sameTokens(a: Tok[], b: Tok[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.k !== b[i]!.k || a[i]!.t !== b[i]!.t) return false;
  return true;
}

/** IN (?, ?, …) → IN (?+); VALUES (…), (…) → VALUES (…) when the rows have the same shape. */
function collapse(toks: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    out.push(t);
    if (t.kw && t.t === 'IN' && toks[i + 1]?.k === K.Open) {
      const close = matching(toks, i + 1);
      if (close < 0) continue;
      let onlyValues = close > i + 2;
      for (let j = i + 2; j < close && onlyValues; j++) {
        const k = toks[j]!.k;
        onlyValues = (j - i) % 2 === 0 ? k === K.Value : k === K.Comma;
      }
      if (onlyValues) {
        out.push(toks[i + 1]!, { k: K.Value, t: '?+' }, toks[close]!);
        i = close;
      }
    } else if (t.kw && (t.t === 'VALUES' || t.t === 'VALUE') && toks[i + 1]?.k === K.Open) {
      const close = matching(toks, i + 1);
      if (close < 0) continue;
      const first = toks.slice(i + 1, close + 1);
      out.push(...first);
      let j = close + 1;
      while (toks[j]?.k === K.Comma && toks[j + 1]?.k === K.Open) {
        const e = matching(toks, j + 1);
        if (e < 0 || !sameTokens(first, toks.slice(j + 1, e + 1))) break;
        j = e + 1;
      }
      i = j - 1;
    }
  }
  return out;
}

function render(toks: Tok[]): string {
  let s = '';
  let prev: Tok | undefined;
  for (const t of toks) {
    if (prev) {
      let space = true;
      if (prev.k === K.Open || prev.k === K.Dot) space = false;
      else if (t.k === K.Close || t.k === K.Comma || t.k === K.Dot || t.k === K.Semi) space = false;
      // f(x) and t(a, b) have no space; WHERE (…) and IN (…) keep one.
      else if (t.k === K.Open && (prev.k === K.Quoted || prev.k === K.Close || (prev.k === K.Word && (!prev.kw || FUNCTIONS.has(prev.t))))) space = false;
      if (space) s += ' ';
    }
    s += t.t;
    prev = t;
  }
  return s;
}
