import winston from 'winston';
import type TransportStream from 'winston-transport';
import type { CheckResult } from '../core/result.js';
import { LEVELS, toEntry } from './entry.js';
import { FileTransport } from './file.js';
import { SyslogTransport } from './syslog.js';
import { StdoutTransport } from './console.js';
import { LokiTransport, type LokiReport } from './loki/index.js';
import type { OutputsConfig } from './registry.js';

/** What the outputs need of the agent's config. */
export interface PipelineConfig {
  readonly outputs: OutputsConfig;
  readonly env: string;
  readonly time_zone: string;
}

/** A transport that can report when everything handed to it is durable or delivered. */
interface Flushable {
  flush(): Promise<void>;
}
const isFlushable = (t: unknown): t is Flushable => typeof (t as Flushable).flush === 'function';

/** The check name of the agent's own lines (an output in trouble), so they land in imom.log and in Loki as check="imom". */
export const AGENT_CHECK = 'imom';

/**
 * check → result → one formatter → every output. The outputs are winston transports,
 * so they stay one family; each receives the same entry and decides what to keep.
 */
export class OutputPipeline {
  private readonly logger: winston.Logger;
  private readonly transports: TransportStream[];
  counts = { OK: 0, ERROR: 0, CRITICAL: 0 };

  constructor(cfg: PipelineConfig, host: string, opts: { stdout?: boolean } = {}) {
    const t: TransportStream[] = [];
    if (cfg.outputs.file) t.push(new FileTransport(cfg.outputs.file, cfg.time_zone));
    if (cfg.outputs.syslog?.enabled) t.push(new SyslogTransport(cfg.outputs.syslog, cfg.time_zone, host));
    if (cfg.outputs.loki) {
      const url = cfg.outputs.loki.url;
      t.push(new LokiTransport(cfg.outputs.loki, { env: cfg.env, host, onReport: (r) => this.report(url, r) }));
    }
    if (opts.stdout) t.push(new StdoutTransport(cfg.time_zone));
    this.transports = t;
    // No logger-level format: every transport writes info.message (entry.ts). winston's default,
    // format.json(), would serialise each entry into info[MESSAGE] for nobody: ~2 KB of garbage
    // and half the CPU per line in the Loki push bench.
    this.logger = winston.createLogger({ levels: LEVELS, level: 'OK', transports: t, exitOnError: false, format: winston.format((info) => info)() });
  }

  /**
   * An output's own trouble (a dead-lettered batch, lines dropped at the spool bound) is an ERROR
   * line like any other, so it reaches the operator the same way; the rest goes to stderr.
   */
  private report(url: string, r: LokiReport): void {
    if (r.level !== 'ERROR') {
      process.stderr.write(`imom: loki output: ${r.message}\n`);
      return;
    }
    this.write([{ check: AGENT_CHECK, instance: 'outputs', target: url, status: 'ERROR', time: new Date(),
      fields: [['Output', 'loki'], ['Code', r.code], ['Error', r.message]] }]);
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
    // The Loki output flushes what Loki will take within its shutdown timeout; the rest stays spooled.
    await Promise.all(this.transports.map((t) => (t instanceof LokiTransport ? t.shutdown() : undefined)));
    for (const t of this.transports) t.close?.();
  }
}
