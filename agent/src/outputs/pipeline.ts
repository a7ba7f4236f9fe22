import winston from 'winston';
import type TransportStream from 'winston-transport';
import type { CheckResult, Status } from '../core/result.js';
import { LEVELS, toEntry } from './entry.js';
import { FileTransport } from './file.js';
import { SyslogTransport } from './syslog.js';
import { StdoutTransport } from './console.js';
import { LokiTransport, type LokiReport, type LokiStats } from './loki/index.js';
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

export interface PipelineOptions {
  /** Also print LOG_FILE lines to stdout (`imom check`). */
  readonly stdout?: boolean;
  /**
   * stdout only (`imom check --test`): no file, syslog or Loki output is constructed, so nothing
   * is appended, sent or pushed and no spool lock is taken beside a running agent.
   */
  readonly stdoutOnly?: boolean;
  /** Told of every line each output takes (the agent's self-metrics); it must not throw. */
  readonly observer?: OutputObserver;
}

export interface OutputObserver {
  line(output: OutputName, status: Status): void;
}

export type OutputName = 'file' | 'syslog' | 'loki' | 'stdout';

function outputName(t: TransportStream): OutputName {
  if (t instanceof FileTransport) return 'file';
  if (t instanceof SyslogTransport) return 'syslog';
  if (t instanceof LokiTransport) return 'loki';
  return 'stdout';
}

/** winston's rule: a transport with a level takes that level and the more severe ones. */
const takes = (t: TransportStream, status: Status): boolean => t.level === undefined || LEVELS[status] <= LEVELS[t.level as Status];

/** One set of outputs: a winston logger and its transports, built from one config. */
interface Sinks {
  readonly logger: winston.Logger;
  readonly transports: TransportStream[];
}

/**
 * check → result → one formatter → every output. The outputs are winston transports,
 * so they stay one family; each receives the same entry and decides what to keep.
 */
export class OutputPipeline {
  private sinks: Sinks;
  /** Lines written while the outputs are being replaced, in order (see replace()). */
  private held: { r: CheckResult; own: boolean }[] | undefined;
  counts = { OK: 0, ERROR: 0, CRITICAL: 0 };

  constructor(private cfg: PipelineConfig, private host: string, private readonly opts: PipelineOptions = {}) {
    this.sinks = this.build(cfg, host);
  }

  private build(cfg: PipelineConfig, host: string): Sinks {
    const t: TransportStream[] = [];
    if (!this.opts.stdoutOnly) {
      if (cfg.outputs.file) t.push(new FileTransport(cfg.outputs.file, cfg.time_zone));
      if (cfg.outputs.syslog?.enabled) t.push(new SyslogTransport(cfg.outputs.syslog, cfg.time_zone, host));
      if (cfg.outputs.loki) {
        const url = cfg.outputs.loki.url;
        t.push(new LokiTransport(cfg.outputs.loki, { env: cfg.env, host, onReport: (r) => this.report(url, r) }));
      }
    }
    if (this.opts.stdout || this.opts.stdoutOnly) t.push(new StdoutTransport(cfg.time_zone));
    // No logger-level format: every transport writes info.message (entry.ts). winston's default,
    // format.json(), would serialise each entry into info[MESSAGE] for nobody: ~2 KB of garbage
    // and half the CPU per line in the Loki push bench.
    const logger = winston.createLogger({ levels: LEVELS, level: 'OK', transports: t, exitOnError: false, format: winston.format((info) => info)() });
    return { logger, transports: t };
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
      if (this.held) this.held.push({ r, own: false });
      else this.log(r, false);
    }
  }

  /**
   * A line only for the outputs that keep it in a stream of its own (LineEntry.ownStream: Loki,
   * a file per check), the agent's heartbeat; not in `counts` or the line metrics, which count
   * check lines.
   */
  writeOwnStream(r: CheckResult): void {
    if (this.held) this.held.push({ r, own: true });
    else this.log(r, true);
  }

  private log(r: CheckResult, own: boolean): void {
    this.sinks.logger.log(toEntry(r, own));
    if (own) return;
    const observer = this.opts.observer;
    if (observer) for (const t of this.sinks.transports) if (takes(t, r.status)) observer.line(outputName(t), r.status);
  }

  /** The Loki output's counters, when there is one. */
  lokiStats(): LokiStats | undefined {
    return this.sinks.transports.find((t): t is LokiTransport => t instanceof LokiTransport)?.stats();
  }

  /** After logrotate: files are reopened by path. */
  reopen(): void {
    for (const t of this.sinks.transports) if (t instanceof FileTransport) t.reopen();
  }

  /**
   * A reload changed the outputs: the old ones are closed (flushed; the Loki spool and its lock
   * released) before the new ones open, since both may use the same spool. Lines written
   * meanwhile are held in memory, in order, and go to the new outputs: none lost, none twice.
   * When the new outputs cannot be built (a path that cannot be opened), the old config's are
   * built again and the error is thrown.
   */
  async replace(cfg: PipelineConfig, host: string): Promise<void> {
    this.held ??= [];
    try {
      await closeSinks(this.sinks);
      let failure: unknown;
      try {
        this.sinks = this.build(cfg, host);
        this.cfg = cfg;
        this.host = host;
      } catch (e) {
        failure = e;
        this.sinks = this.build(this.cfg, this.host);
      }
      if (failure !== undefined) throw failure;
    } finally {
      const held = this.held;
      this.held = undefined;
      for (const h of held) this.log(h.r, h.own);
    }
  }

  async flush(): Promise<void> {
    await flushSinks(this.sinks);
  }

  async close(): Promise<void> {
    await closeSinks(this.sinks);
  }
}

async function flushSinks(sinks: Sinks): Promise<void> {
  const flushable: unknown[] = sinks.transports;
  await Promise.all(flushable.filter(isFlushable).map((t) => t.flush()));
}

/**
 * Ends the logger, waits until every transport has taken every entry (winston's own
 * 'finish' fires too early, winstonjs/winston#1504), then flushes and closes them.
 */
async function closeSinks(sinks: Sinks): Promise<void> {
  const finished = sinks.transports.map((t) => new Promise<void>((res) => {
    if (t.writableFinished) res();
    else t.once('finish', () => res());
  }));
  sinks.logger.end();
  await Promise.all(finished);
  await flushSinks(sinks);
  // The Loki output flushes what Loki will take within its shutdown timeout; the rest stays spooled.
  await Promise.all(sinks.transports.map((t) => (t instanceof LokiTransport ? t.shutdown() : undefined)));
  for (const t of sinks.transports) t.close?.();
}
