/**
 * MyBatis: `==>  Preparing: <sql>` opens a statement, `==> Parameters: 1(Long), a(String)` holds its
 * literals. Recognising both, reading the parameter list, and binding it into the `?` for `--example`.
 */
import { Byte } from './bytes.js';
import { threadOf } from './record.js';
import { skipSpaces, startsWith } from './scan.js';
import type { SqlStart } from './sql-start.js';

const PREPARING = Buffer.from('Preparing:');
const PARAMETERS = Buffer.from('Parameters:');
/** MyBatis's request arrow, checked byte by byte below. */
const ARROW = '==>';

export type MyBatisLine = { sql: SqlStart } | { params: { thread: string; paramsStart: number } };

/** Position after `==>` and spaces, when the message is a MyBatis request line. */
function arrowEnd(b: Buffer, m: number, e: number): number {
  if (b[m] !== Byte.EQUALS || b[m + 1] !== Byte.EQUALS || b[m + 2] !== Byte.GREATER) return -1;
  return skipSpaces(b, m + ARROW.length, e);
}

/**
 * The message at `m` as a MyBatis Preparing or Parameters line. The thread is the last `[…]` of the
 * line [s, sepAt) before the message separator.
 */
export function matchMyBatis(b: Buffer, s: number, sepAt: number, m: number, e: number): MyBatisLine | undefined {
  const a = arrowEnd(b, m, e);
  if (a < 0) return undefined;
  if (startsWith(b, a, e, PREPARING)) {
    const sqlStart = skipSpaces(b, a + PREPARING.length, e);
    return { sql: { kind: 'mybatis', prefixEnd: m, sqlStart, sqlEnd: e, multiline: true, extra: '', thread: threadOf(b, s, sepAt) } };
  }
  if (startsWith(b, a, e, PARAMETERS)) return { params: { thread: threadOf(b, s, sepAt), paramsStart: skipSpaces(b, a + PARAMETERS.length, e) } };
  return undefined;
}

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
    } else if (c === Byte.SINGLE_QUOTE || c === Byte.DOUBLE_QUOTE || c === Byte.BACKTICK) {
      quote = c;
      out += sql[i];
    } else if (c === Byte.QUESTION && k < params.length) {
      const p = params[k++]!;
      out += p.value === null ? 'NULL' : NUMERIC.has(p.type) ? p.value : `'${p.value.replace(/'/g, "''")}'`;
    } else out += sql[i];
  }
  return out;
}
