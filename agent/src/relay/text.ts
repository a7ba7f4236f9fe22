/**
 * Alert text is outside input: a label may hold newlines, terminal escapes or any size.
 * These helpers make it safe to print and bounded to show; each formatter adds its
 * platform's own markup escaping on top.
 */

/** C0 controls, DEL, C1 controls and the Unicode line and paragraph separators. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROLS_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (c: string) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line: every control character (newline included) written as its escape, e.g. `\n`, `\u001b`. */
export function oneLine(s: string): string {
  return s.replace(CONTROLS, escapeOne);
}

/** Several lines: newlines and tabs kept, every other control character written as its escape. */
export function printableLines(s: string): string {
  return s.replace(CONTROLS_BUT_LINE_BREAKS, escapeOne);
}

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The visible marker put where text was cut. */
export const cutMarker = (bytes: number): string => `…(${bytes} bytes cut)`;

export interface FitOptions {
  /** Platform escaping, applied to what is kept; must work character by character (entities, backslashes). */
  escape?: (s: string) => string;
  /** How the platform counts its limit: UTF-16 characters by default, or UTF-8 bytes. */
  measure?: (s: string) => number;
}

/**
 * `raw`, escaped, in at most `max` units: whole when it fits, else its head and a
 * `…(N bytes cut)` marker (N counts the raw UTF-8 bytes left out). Never splits a character.
 */
export function fit(raw: string, max: number, o: FitOptions = {}): string {
  const escape = o.escape ?? ((s: string) => s);
  const measure = o.measure ?? ((s: string) => s.length);
  const whole = escape(raw);
  if (measure(whole) <= max) return whole;
  const total = utf8Bytes(raw);
  // The marker is reserved at its longest (everything cut), so the head plus the real marker fits.
  const room = max - measure(escape(cutMarker(total)));
  let used = 0;
  let kept = 0;
  for (const ch of raw) {
    const size = measure(escape(ch));
    if (used + size > room) break;
    used += size;
    kept += ch.length;
  }
  const head = raw.slice(0, kept);
  return escape(head) + escape(cutMarker(total - utf8Bytes(head)));
}
