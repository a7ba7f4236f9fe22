import { isFieldsResult, type CheckResult } from './result.js';

/**
 * The one formatter. Byte-compatible with the shell scripts' lines:
 *   Status=OK, Master=10.100.21.230, Master_Log_File=mysql-bin.016068, ...
 *   CRITICAL: Node 192.168.21.141:6381 is expected to be master but found slave
 * A null field value prints as NULL, as the MySQL client shows it.
 */
export function formatLine(r: CheckResult): string {
  if (isFieldsResult(r)) {
    let line = `Status=${r.status}`;
    for (const [k, v] of r.fields) line += `, ${k}=${v === null ? 'NULL' : typeof v === 'number' ? v : safeText(v, MAX_VALUE_BYTES)}`;
    return line;
  }
  return `${r.status}: ${safeText(r.message, MAX_MESSAGE_BYTES)}`;
}

/**
 * What one server-provided value may add to a line. The seeds' values (binlog names, positions,
 * roles, host:port) are under 64 bytes; a hostile server sent 1 MB. 1 KiB keeps a line readable
 * in `tail -f` and far under Loki's default 256 KB line limit.
 */
export const MAX_VALUE_BYTES = 1024;
/** A message embeds server text (an error, a reason) in a sentence of ours: 4 KiB for the whole. */
export const MAX_MESSAGE_BYTES = 4096;

// C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators: each can
// split an entry (NUL, U+2028 in JavaScript), or drive an operator's terminal (ESC sequences set
// the title and clear the screen in `tail -f`, BEL rings).
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;
const UNSAFE_ALL = /\r\n|[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeChar(c: string): string {
  // A line stays one line, and a server's multi-line error text reads as one sentence.
  if (c === '\n' || c === '\r' || c === '\r\n') return ' ';
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Server text made safe for a line: control characters escaped visibly (`\x1b`), then cut at
 * `maxBytes` of UTF-8 with a marker saying how much was cut. Text that needs neither (every seed
 * value) is returned as it is.
 */
export function safeText(text: string, maxBytes: number): string {
  let s = UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeChar) : text;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a short string needs no measuring.
  if (s.length * 3 > maxBytes) {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > maxBytes) {
      let end = maxBytes;
      while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // never cut inside a character
      s = `${bytes.subarray(0, end).toString('utf8')}…(${bytes.length - end} bytes cut)`;
    }
  }
  return s;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Wall-clock parts of `d` in `timeZone` ("local" uses the process zone). */
export function clockParts(d: Date, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  if (timeZone === 'local') {
    return { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
  }
  const f = formatterFor(timeZone);
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(d)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour! % 24, mi: p.minute!, s: p.second! };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** `YYYY-MM-DD HH:MM:SS`, the LOG_FILE prefix before ` | `. */
export function logFileTimestamp(d: Date, timeZone: string): string {
  const c = clockParts(d, timeZone);
  return `${c.y}-${pad(c.mo)}-${pad(c.d)} ${pad(c.h)}:${pad(c.mi)}:${pad(c.s)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Sep 02 08:35:21`, the RFC 3164 timestamp as the scripts' syslog lines show it. */
export function syslogTimestamp(d: Date, timeZone: string): string {
  const c = clockParts(d, timeZone);
  return `${MONTHS[c.mo - 1]} ${pad(c.d)} ${pad(c.h)}:${pad(c.mi)}:${pad(c.s)}`;
}

/** The LOG_FILE line: `2024-09-02 08:35:21 | Status=OK, ...`. */
export function logFileLine(r: CheckResult, timeZone: string): string {
  return `${logFileTimestamp(r.time, timeZone)} | ${formatLine(r)}`;
}
