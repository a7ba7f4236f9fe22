/**
 * The shape of a Spring Boot / logback record line: its timestamp, the separator before the
 * message, the thread, and the stack-trace lines that end a SQL block without a timestamp.
 */
import { Byte } from './bytes.js';
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
  // Offsets in `yyyy-MM-dd HH:mm:ss`: the dashes at 4 and 7, the T or space at 10, the colons at 13 and 16.
  if (b[s + 4] === Byte.DASH && b[s + 7] === Byte.DASH && isDigit(b[s + 2]) && isDigit(b[s + 3]) && (b[s + 10] === Byte.SPACE || b[s + 10] === Byte.UPPER_T) && isDigit(b[s + 11]) && b[s + 13] === Byte.COLON && b[s + 16] === Byte.COLON) {
    j = s + DATE_TIME_LENGTH;
  } else if (b[s + 2] === Byte.COLON && b[s + 5] === Byte.COLON && isDigit(b[s + 3]) && isDigit(b[s + 6])) {
    j = s + TIME_LENGTH;
  } else return -1;
  // Fraction and zone: .SSS, ,SSS, +09:00, Z
  while (j < e) {
    const c = b[j]!;
    if (isDigit(c) || c === Byte.DOT || c === Byte.COMMA || c === Byte.PLUS || c === Byte.COLON || c === Byte.UPPER_Z || (c === Byte.DASH && j > s + DATE_TIME_LENGTH)) j++;
    else break;
  }
  return j;
}

/** The thread name: the last `[…]` before the message separator (none when sep <= s). */
export function threadOf(b: Buffer, s: number, sep: number): string {
  if (sep <= s) return '';
  const v = b.subarray(s, sep);
  const close = v.lastIndexOf(Byte.CLOSE_BRACKET);
  if (close <= 0) return '';
  const open = v.lastIndexOf(Byte.OPEN_BRACKET, close);
  if (open < 0) return '';
  return v.toString('latin1', open + 1, close).trim();
}

/** Index of the first `<space><ch><space>` in [from, e), or -1. memchr first: most lines have one early. */
export function findSep(b: Buffer, from: number, e: number, ch: number): number {
  let i = from;
  while (i < e) {
    const c = b.indexOf(ch, i);
    if (c < 0 || c + 1 >= e) return -1;
    if (b[c - 1] === Byte.SPACE && b[c + 1] === Byte.SPACE) return c;
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
  while (i < e && (b[i] === Byte.TAB || b[i] === Byte.SPACE)) i++;
  if (i > s) {
    if (i + STACK_AT.length < e && startsWith(b, i, e, STACK_AT)) return true;
    if (b[s] === Byte.TAB && b[i] === Byte.DOT && b[i + 1] === Byte.DOT && b[i + 2] === Byte.DOT) return true; // "\t... 12 more"
    return startsWith(b, i, e, CAUSED) || startsWith(b, i, e, SUPPRESSED);
  }
  if (startsWith(b, s, e, CAUSED)) return true;
  const c = b[s]!;
  if (c < Byte.LOWER_A || c > Byte.LOWER_Z || e - s > EXCEPTION_LINE_MAX) return false;
  return EXCEPTION_HEAD.test(b.toString('latin1', s, Math.min(e, s + EXCEPTION_HEAD_SCAN)));
}
