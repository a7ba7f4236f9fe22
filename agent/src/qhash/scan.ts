/** Byte tests over a line [s, e) of a Buffer, shared by the recognisers. */
import { Byte } from './bytes.js';

export const isDigit = (c: number | undefined): boolean => c !== undefined && c >= Byte.DIGIT_0 && c <= Byte.DIGIT_9;

/** An ASCII letter of either case. */
export const isLetter = (c: number | undefined): boolean => c !== undefined && (c | Byte.LOWER_CASE_BIT) >= Byte.LOWER_A && (c | Byte.LOWER_CASE_BIT) <= Byte.LOWER_Z;

export function startsWith(b: Buffer, at: number, e: number, lit: Buffer): boolean {
  if (at + lit.length > e || at + lit.length > b.length) return false;
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}

export function skipSpaces(b: Buffer, i: number, e: number): number {
  while (i < e && b[i] === Byte.SPACE) i++;
  return i;
}

/** b.indexOf(ch, from) limited to [from, e). */
export function indexIn(b: Buffer, ch: number, from: number, e: number): number {
  for (let i = from; i < e; i++) if (b[i] === ch) return i;
  return -1;
}
