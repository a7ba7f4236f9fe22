import winston from 'winston';
import type TransportStream from 'winston-transport';
import type { AgentConfig } from '../config/schema.js';
import type { CheckResult } from '../core/result.js';
import { LEVELS, toEntry } from './entry.js';
import { FileTransport } from './file.js';
import { SyslogTransport } from './syslog.js';
import { StdoutTransport } from './console.js';

/** A transport that can report when everything handed to it is durable or delivered. */
interface Flushable {
  flush(): Promise<void>;
}
const isFlushable = (t: unknown): t is Flushable => typeof (t as Flushable).flush === 'function';

/**
 * check → result → one formatter → every output. The outputs are winston transports,
 * so they stay one family; each receives the same entry and decides what to keep.
 */
export class OutputPipeline {
  private readonly logger: winston.Logger;
  private readonly transports: TransportStream[];
  counts = { OK: 0, ERROR: 0, CRITICAL: 0 };

  constructor(cfg: AgentConfig, host: string, opts: { stdout?: boolean; extra?: TransportStream[] } = {}) {
    const t: TransportStream[] = [];
    if (cfg.outputs.file) t.push(new FileTransport(cfg.outputs.file, cfg.time_zone));
    if (cfg.outputs.syslog?.enabled) t.push(new SyslogTransport(cfg.outputs.syslog, cfg.time_zone, host));
    if (opts.stdout) t.push(new StdoutTransport(cfg.time_zone));
    t.push(...(opts.extra ?? []));
    this.transports = t;
    this.logger = winston.createLogger({ levels: LEVELS, level: 'OK', transports: t, exitOnError: false });
  }

  write(results: readonly CheckResult[]): void {
    for (const r of results) {
      this.counts[r.status]++;
      this.logger.log(toEntry(r));
    }
  }

  /** After logrotate: files are reopened by path. */
  reopen(): void {
    for (const t of this.transports) if (t instanceof FileTransport) t.reopen();
  }

  async flush(): Promise<void> {
    const flushable: unknown[] = this.transports;
    await Promise.all(flushable.filter(isFlushable).map((t) => t.flush()));
  }

  /**
   * Ends the logger, waits until every transport has taken every entry (winston's own
   * 'finish' fires too early, winstonjs/winston#1504), then flushes and closes them.
   */
  async close(): Promise<void> {
    const finished = this.transports.map((t) => new Promise<void>((res) => {
      if (t.writableFinished) res();
      else t.once('finish', () => res());
    }));
    this.logger.end();
    await Promise.all(finished);
    await this.flush();
    for (const t of this.transports) t.close?.();
  }
}
