/**
 * The shape of a Spring Boot / logback record line: its timestamp, the separator before the
 * message, the thread, and the stack-trace lines that end a SQL block without a timestamp.
 */
import { CLOSE_BRACKET, COLON, COMMA, DASH, DOT, LOWER_A, LOWER_Z, OPEN_BRACKET, PLUS, SPACE, TAB, UPPER_T, UPPER_Z } from './bytes.js';
import { isDigit, startsWith } from './scan.js';

/** `yyyy-MM-dd HH:mm:ss` is 19 bytes; `HH:mm:ss` is 8. */
const DATE_TIME_LENGTH = 19;
const TIME_LENGTH = 8;

/**
 * If the line starts with a timestamp (`yyyy-MM-dd[ T]HH:mm:ss…` or `HH:mm:ss…`), the index after
 * the timestamp token, else -1.
 */
export function timestampEnd(b: Buffer, s: number, e: number): number {
  if (e - s < TIME_LENGTH || !isDigit(b[s]) || !isDigit(b[s + 1])) return -1;
  let j: number;
  if (b[s + 4] === DASH && b[s + 7] === DASH && isDigit(b[s + 2]) && isDigit(b[s + 3]) && (b[s + 10] === SPACE || b[s + 10] === UPPER_T) && isDigit(b[s + 11]) && b[s + 13] === COLON && b[s + 16] === COLON) {
    j = s + DATE_TIME_LENGTH;
  } else if (b[s + 2] === COLON && b[s + 5] === COLON && isDigit(b[s + 3]) && isDigit(b[s + 6])) {
    j = s + TIME_LENGTH;
  } else return -1;
  // Fraction and zone: .SSS, ,SSS, +09:00, Z
  while (j < e) {
    const c = b[j]!;
    if (isDigit(c) || c === DOT || c === COMMA || c === PLUS || c === COLON || c === UPPER_Z || (c === DASH && j > s + DATE_TIME_LENGTH)) j++;
    else break;
  }
  return j;
}

/** The thread name: the last `[…]` before the message separator (none when sep <= s). */
export function threadOf(b: Buffer, s: number, sep: number): string {
  if (sep <= s) return '';
  const v = b.subarray(s, sep);
  const close = v.lastIndexOf(CLOSE_BRACKET);
  if (close <= 0) return '';
  const open = v.lastIndexOf(OPEN_BRACKET, close);
  if (open < 0) return '';
  return v.toString('latin1', open + 1, close).trim();
}

/** Index of the first `<space><ch><space>` in [from, e), or -1. memchr first: most lines have one early. */
export function findSep(b: Buffer, from: number, e: number, ch: number): number {
  let i = from;
  while (i < e) {
    const c = b.indexOf(ch, i);
    if (c < 0 || c + 1 >= e) return -1;
    if (b[c - 1] === SPACE && b[c + 1] === SPACE) return c;
    i = c + 1;
  }
  return -1;
}

const STACK_AT = Buffer.from('at ');
const CAUSED = Buffer.from('Caused by: ');
const SUPPRESSED = Buffer.from('Suppressed: ');
const EXCEPTION_HEAD = /^[a-z][\w$]*(\.[\w$]+)+(Exception|Error|Throwable)(: |$)/;
/** Longer lines are not exception heads: the regex is not run over them. */
const EXCEPTION_LINE_MAX = 4096;
/** An exception class name fits in this many bytes. */
const EXCEPTION_HEAD_SCAN = 300;

/** Stack-trace lines end a SQL block even without a timestamp, so they pass through untouched. */
export function isStackTraceLine(b: Buffer, s: number, e: number): boolean {
  let i = s;
  while (i < e && (b[i] === TAB || b[i] === SPACE)) i++;
  if (i > s) {
    if (i + STACK_AT.length < e && startsWith(b, i, e, STACK_AT)) return true;
    if (b[s] === TAB && b[i] === DOT && b[i + 1] === DOT && b[i + 2] === DOT) return true; // "\t... 12 more"
    return startsWith(b, i, e, CAUSED) || startsWith(b, i, e, SUPPRESSED);
  }
  if (startsWith(b, s, e, CAUSED)) return true;
  const c = b[s]!;
  if (c < LOWER_A || c > LOWER_Z || e - s > EXCEPTION_LINE_MAX) return false;
  return EXCEPTION_HEAD.test(b.toString('latin1', s, Math.min(e, s + EXCEPTION_HEAD_SCAN)));
}
