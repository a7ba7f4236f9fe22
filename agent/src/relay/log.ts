/** The relay's log: one line per event on stderr, level first. */
export type Log = (level: 'INFO' | 'WARN' | 'ERROR', msg: string) => void;

export function defaultLog(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} imom relay: ${msg}\n`);
}
