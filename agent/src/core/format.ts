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
    for (const [k, v] of r.fields) line += `, ${k}=${v === null ? 'NULL' : v}`;
    return oneLine(line);
  }
  return oneLine(`${r.status}: ${r.message}`);
}

/** A line must stay one line: a newline from a server's error text would split the entry. */
function oneLine(s: string): string {
  return s.includes('\n') || s.includes('\r') ? s.replace(/\r?\n|\r/g, ' ') : s;
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
