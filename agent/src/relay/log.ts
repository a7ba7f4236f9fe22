/** The relay's log: one line per event on stderr, level first. */
import { fit, oneLine } from './text.js';

/** Characters of one log message: room for any reason, and a bound on what an alert can put in the log. */
const MESSAGE_CHARS = 4000;

export type Log = (level: 'INFO' | 'WARN' | 'ERROR', msg: string) => void;

/** Alert text reaches the message (names, hosts, reasons): its newlines and escapes are written as `\n`, `\u001b`, so no line can be forged. */
export function defaultLog(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} imom relay: ${fit(oneLine(msg), MESSAGE_CHARS)}\n`);
}
