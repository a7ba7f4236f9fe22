import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import TransportStream from 'winston-transport';
import { logFileTimestamp } from '../core/format.js';
import { ConfigError } from '../config/errors.js';
import { entryOf } from './entry.js';
import type { FileOutputConfig } from './schema.js';

/**
 * The LOG_FILE: `YYYY-MM-DD HH:MM:SS | <line>`. `{check}` in the path gives one file per
 * check, `{instance}` one per instance, so Promtail can label by file. Writes are synchronous appends: a line is on its way
 * to disk when log() returns, and a reopen (SIGHUP, after logrotate) can never lose or reorder one.
 */
function pathFor(template: string, check: string, instance: string): string {
  return template.replaceAll('{check}', check).replaceAll('{instance}', instance);
}

export class FileTransport extends TransportStream {
  private readonly fds = new Map<string, number>();

  constructor(private readonly cfg: FileOutputConfig, private readonly timeZone: string) {
    super();
    // Fail at start, naming the path, rather than at the first line.
    if (!/\{(check|instance)\}/.test(cfg.path)) this.fdFor(cfg.path);
    else mkdirSync(dirname(pathFor(cfg.path, 'x', 'x')), { recursive: true });
  }

  private fdFor(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        fd = openSync(path, 'a', 0o640);
      } catch (e) {
        throw new ConfigError(`outputs.file.path: cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      this.fds.set(path, fd);
    }
    return fd;
  }

  override log(info: unknown, next: () => void): void {
    const e = entryOf(info);
    if (e.ownStream && !this.cfg.path.includes('{check}')) return next();
    const path = pathFor(this.cfg.path, e.check, e.instance);
    const buf = Buffer.from(`${logFileTimestamp(e.time, this.timeZone)} | ${e.message}\n`);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fdFor(path), buf, off);
    next();
  }

  /** Closes every file so the next line opens the path anew (logrotate's postrotate SIGHUP). */
  reopen(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  override close(): void {
    this.reopen();
  }
}
