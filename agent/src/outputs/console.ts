import TransportStream from 'winston-transport';
import { logFileTimestamp } from '../core/format.js';
import { entryOf } from './entry.js';

/** `--once` prints the LOG_FILE lines to stdout as well. */
export class StdoutTransport extends TransportStream {
  constructor(private readonly timeZone: string) {
    super();
  }
  override log(info: unknown, next: () => void): void {
    const e = entryOf(info);
    if (e.ownStream) return next();
    process.stdout.write(`${logFileTimestamp(e.time, this.timeZone)} | ${e.message}\n`);
    next();
  }
}
