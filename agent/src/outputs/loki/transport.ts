/**
 * LokiTransport: a winston transport that pushes every line to Loki through an on-disk spool.
 *
 * Shaped like OpenTelemetry JS's BatchSpanProcessor + OTLP exporter: this transport is the
 * processor (batching, retry, per-stream requests and halving in delivery.ts, dead letters);
 * the exporters (http-sender.ts, grpc-sender.ts) are stateless: send one request, classify
 * the answer.
 *  - log()/logv() only stage the line in the spool's open frame, in memory, and return at once
 *    (a deferred callback made winston keep every line of the turn in its stream buffer, which
 *    V8 then promoted to the old generation); at the end of the event-loop turn one write(2)
 *    commits everything staged (group commit), and a line counts as accepted once written;
 *  - one export loop takes batches of up to batch.max_lines / batch.max_bytes, or what has
 *    waited batch.max_wait, and exports one batch at a time;
 *  - an export is retried with exponential backoff and jitter (honouring Retry-After) on
 *    network errors, 429 and 5xx, forever: the bounded spool, not a retry count, limits it;
 *  - forceFlush() resolves when everything accepted before the call has been answered;
 *  - shutdown() (close(), SIGTERM) flushes for up to shutdown_timeout and leaves the rest spooled.
 *
 * Timestamps: a line keeps the time it was logged, plus a per-stream nanosecond tiebreak so two
 * different lines logged in the same millisecond never share (timestamp, stream). The spool stores
 * both, so a resend after a crash is byte-identical and Loki deduplicates it; distinct lines with
 * identical text in the same millisecond stay distinct.
 */
import { setMaxListeners } from 'node:events';
import type { ConnectionOptions } from 'node:tls';
import TransportStream from 'winston-transport';
import type { TlsConfig } from '../../config/tls.js';
import { backoffMs, basicCredential, type BackoffPolicy } from '../../core/http-retry.js';
import { redact } from '../../core/redact.js';
import { certificateExpiry, loadTls, tlsNotices } from '../../core/tls/index.js';
import type { Batch } from './batch.js';
import { createSender } from './create-sender.js';
import { cmpPos, type Pos } from './cursor.js';
import { deadLetterPath, writeDeadLetter } from './dead-letter.js';
import { BatchDelivery } from './delivery.js';
import { PushEncoder } from './encode.js';
import type { SpoolReport } from './report.js';
import type { LokiOutputConfig } from './schema.js';
import type { Sender, SendOutcome } from './sender.js';
import { Spool } from './spool.js';

export type LokiReport = SpoolReport;

export interface LokiTransportContext {
  env: string;
  host: string;
  /** Receives every ERROR/WARN/INFO the transport has to say; the agent logs ERRORs as lines. Also emitted as 'report'. */
  onReport?: (r: LokiReport) => void;
  /** winston-transport options (level, format…). */
  level?: string;
}

export interface LokiStats {
  /** Lines written to the spool by this process. */
  accepted: number;
  /** Lines Loki answered 2xx for. */
  sent: number;
  /** Lines moved to the dead-letter file. */
  deadLettered: number;
  /** Lines dropped by the at-bound policy. */
  droppedAtBound: number;
  /** Pushes that failed and were retried. */
  retries: number;
  /** Pushes tried (each batch's every attempt). */
  attempts: number;
  /** Epoch ms of the last push Loki answered 2xx, 0 before the first. */
  lastSuccessMs: number;
  /** Lines in the spool not yet answered. */
  pending: number;
  spoolBytes: number;
}

interface Info {
  message?: unknown;
  check?: unknown;
  instance?: unknown;
  status?: unknown;
  level?: unknown;
  time?: unknown;
}

const SYMBOL_LEVEL = Symbol.for('level');

/** Canonical Loki stream selector for a label object: sorted names, Go-quoted values. */
export function selectorOf(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}

export class LokiTransport extends TransportStream {
  readonly name = 'loki';
  private readonly cfg: LokiOutputConfig;
  private readonly ctx: LokiTransportContext;
  private readonly spool: Spool;
  /** Created on first use, so only the configured transport's client is loaded. */
  private sender: Sender | undefined;
  private readonly newSender: () => Promise<Sender>;
  private readonly baseLabels: Record<string, string>;
  /** check (+ NUL + instance) → level → labels JSON. */
  private readonly streamCache = new Map<string, Map<string, string>>();
  private readonly selectorCache = new Map<string, string>();
  private readonly lastTs = new Map<string, { ms: number; sub: number }>();
  private readonly secrets: string[];
  private readonly encoder = new PushEncoder();
  private readonly backoff: BackoffPolicy;

  private flushScheduled = false;

  private wake: (() => void) | undefined;
  private firstUnreadAt = 0;
  private flushWaiters: { target: Pos; resolve: (ok: boolean) => void }[] = [];
  private flushUrgent = 0;
  private stopping = false;
  private stopped = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private failing: { since: number; attempts: number; lastReport: number } | undefined;

  private counters = { accepted: 0, sent: 0, deadLettered: 0, retries: 0, attempts: 0, lastSuccessMs: 0 };

  constructor(cfg: LokiOutputConfig, ctx: LokiTransportContext) {
    super(ctx.level ? { level: ctx.level } : {});
    this.cfg = cfg;
    this.ctx = ctx;
    // One abort listener per in-flight request, and a batch sends one request per stream
    // (delivery.ts): more than Node's default of 10 is normal, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.secrets = [cfg.basic_auth?.password, cfg.bearer_token]
      .filter((s): s is string => !!s)
      .flatMap((s) => [s, Buffer.from(s).toString('base64')]);
    if (cfg.basic_auth) this.secrets.push(basicCredential(cfg.basic_auth.username, cfg.basic_auth.password));
    this.backoff = { minMs: cfg.retry.min_backoff, maxMs: cfg.retry.max_backoff };
    this.baseLabels = { ...cfg.labels, job: 'imom', env: ctx.env, host: ctx.host };
    this.spool = new Spool({
      dir: cfg.spool_dir,
      maxBytes: cfg.spool_max_bytes,
      policy: cfg.spool_full_policy,
      fsync: cfg.spool_fsync,
      frameMaxLines: cfg.batch.max_lines,
      frameMaxBytes: cfg.batch.max_bytes,
      report: (r) => this.report(r),
    });
    const recovered = this.spool.open().recoveredLines;
    if (recovered > 0) this.firstUnreadAt = Date.now() - cfg.batch.max_wait;
    const ua = 'imom-loki-transport/0.1';
    const auth = { tenant: cfg.tenant, basic_auth: cfg.basic_auth, bearer_token: cfg.bearer_token };
    const tls = cfg.tls ? this.loadTls(cfg.tls) : undefined;
    const expiryWarning = cfg.tls?.expiry_warning;
    const of = `Loki ${new URL(cfg.url).host}`;
    // Loki's certificate ending within expiry_warning: one ERROR per new connection, until it is renewed.
    const onPeer = expiryWarning === undefined ? undefined : (c: { subject: string; notAfter: Date }) => {
      const n = certificateExpiry({ ...c, of }, Date.now(), expiryWarning);
      if (n) this.report({ level: 'ERROR', code: 'tls_notice', message: n });
    };
    this.newSender = () => createSender(cfg.transport, cfg.url, auth, ua, tls, onPeer);
    this.loop = this.exportLoop().catch((e: unknown) => {
      this.report({ level: 'ERROR', code: 'loop_failed', message: `loki transport stopped sending: ${this.redact(String((e as Error)?.stack ?? e))}; lines stay spooled in ${cfg.spool_dir}` });
    });
  }

  // ---------------------------------------------------------------- accepting

  override log(info: Info, callback: () => void): void {
    this.enqueue(info);
    this.scheduleFlush();
    callback();
  }

  override logv(chunks: { chunk: Info }[], callback: () => void): void {
    for (const c of chunks) this.enqueue(c.chunk);
    this.scheduleFlush();
    callback();
  }

  private enqueue(info: Info): void {
    const check = info.check === undefined || info.check === null ? '' : String(info.check);
    const level = info.status !== undefined && info.status !== null ? String(info.status) : String(info.level ?? (info as Record<symbol, unknown>)[SYMBOL_LEVEL] ?? 'info').toUpperCase();
    const instance = info.instance === undefined || info.instance === null ? '' : String(info.instance);
    const streamKey = instance ? `${check}\0${instance}` : check;
    let byLevel = this.streamCache.get(streamKey);
    if (!byLevel) this.streamCache.set(streamKey, (byLevel = new Map()));
    let labels = byLevel.get(level);
    if (labels === undefined) {
      const obj: Record<string, string> = { ...this.baseLabels, level };
      if (check) obj.check = check;
      // The config's instance name, as Promtail takes it from a {check}.{instance}.log path.
      if (instance) obj.instance = instance;
      const sorted: Record<string, string> = {};
      for (const k of Object.keys(obj).sort()) sorted[k] = obj[k]!;
      labels = JSON.stringify(sorted);
      byLevel.set(level, labels);
    }
    const t = info.time instanceof Date ? info.time.getTime() : typeof info.time === 'number' ? info.time : Date.now();
    let ms = Number.isFinite(t) ? Math.trunc(t) : Date.now();
    let sub = 0;
    const last = this.lastTs.get(labels);
    // Same (or, within a second, earlier) millisecond as the stream's previous line: step 1 ns past it.
    if (last && ms <= last.ms && last.ms - ms < 1000) {
      ms = last.ms;
      sub = last.sub + 1;
      if (sub >= 1_000_000) {
        ms += 1;
        sub = 0;
      }
    }
    if (last) {
      last.ms = ms;
      last.sub = sub;
    } else this.lastTs.set(labels, { ms, sub });
    this.spool.stage(labels, ms, sub, typeof info.message === 'string' ? info.message : String(info.message));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushPending());
  }

  /** Group commit: one write for everything logged in this turn. */
  private flushPending(): void {
    this.flushScheduled = false;
    const staged = this.spool.stagedLines;
    if (staged > 0) {
      try {
        const n = this.spool.commit();
        this.counters.accepted += n;
        if (n > 0) {
          if (this.firstUnreadAt === 0) this.firstUnreadAt = Date.now();
          this.kick();
        }
      } catch (e) {
        this.report({ level: 'ERROR', code: 'spool_write_failed', message: `loki spool write failed (${this.redact((e as Error).message)}): ${staged} lines not accepted` });
      }
    }
    if (staged > 0) this.emit('logged', { count: staged });
  }

  // ---------------------------------------------------------------- exporting

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async exportLoop(): Promise<void> {
    const { max_lines, max_bytes, max_wait } = this.cfg.batch;
    for (;;) {
      if (this.stopped) return;
      const unread = this.spool.unreadLines;
      if (unread === 0) {
        this.firstUnreadAt = 0;
        this.settleFlushWaiters();
        if (this.stopping) return;
        await this.sleep(60_000);
        continue;
      }
      const age = Date.now() - this.firstUnreadAt;
      const full = unread >= max_lines || this.spool.unreadBytes >= max_bytes;
      if (!full && age < max_wait && this.flushUrgent === 0 && !this.stopping) {
        await this.sleep(max_wait - age);
        continue;
      }
      const batch = this.spool.readBatch(max_lines, max_bytes);
      if (!batch) {
        this.firstUnreadAt = 0;
        continue;
      }
      const done = await this.deliver(batch);
      if (!done) {
        this.spool.release(batch);
        return;
      }
      this.firstUnreadAt = this.spool.unreadLines > 0 ? (this.firstUnreadAt || Date.now()) : 0;
      this.settleFlushWaiters();
    }
  }

  private selector = (labelsJson: string): string => {
    let sel = this.selectorCache.get(labelsJson);
    if (!sel) {
      sel = selectorOf(JSON.parse(labelsJson) as Record<string, string>);
      this.selectorCache.set(labelsJson, sel);
    }
    return sel;
  };

  /**
   * True once the batch is answered (2xx or dead-lettered) and acknowledged; false on shutdown.
   * Each stream goes as its own request, and a retry resends only the streams not yet accepted
   * (delivery.ts).
   */
  private async deliver(batch: Batch): Promise<boolean> {
    const delivery = new BatchDelivery(this.encoder.encode(batch, this.selector));
    let attempt = 0;
    for (;;) {
      if (this.stopped) return false;
      this.sender ??= await this.newSender();
      if (this.stopped) return false;
      this.counters.attempts++;
      const outcome: SendOutcome = await delivery.send(this.sender, this.cfg.retry.timeout, this.abort.signal);
      if (outcome.kind === 'ok') {
        this.spool.ack(batch);
        this.counters.sent += batch.lines;
        this.counters.lastSuccessMs = Date.now();
        if (this.failing) {
          this.report({ level: 'INFO', code: 'push_recovered', message: `loki push working again after ${this.failing.attempts} failed attempts over ${Math.round((Date.now() - this.failing.since) / 1000)}s` });
          this.failing = undefined;
        }
        return true;
      }
      if (outcome.kind === 'reject') {
        this.deadLetter(batch, outcome.reason);
        this.spool.ack(batch);
        return true;
      }
      if (this.stopped) return false;
      attempt++;
      this.counters.retries++;
      const delay = backoffMs(this.backoff, attempt, outcome.retryAfterMs);
      const now = Date.now();
      const f = (this.failing ??= { since: now, attempts: 0, lastReport: 0 });
      f.attempts++;
      if (now - f.lastReport >= 60_000) {
        f.lastReport = now;
        const auth = outcome.status === 401 || outcome.status === 403 || outcome.status === grpcUnauthenticated;
        // A refused handshake, like refused credentials, needs the operator: it will not heal by retrying.
        this.report({
          level: auth || outcome.tls ? 'ERROR' : 'WARN',
          code: outcome.tls ? 'push_tls' : auth ? 'push_auth' : 'push_retry',
          message: `loki push failed (${this.redact(outcome.reason)}); retrying with backoff, ${this.spool.pendingLines} lines kept in the spool`,
        });
      }
      if (this.stopping && Date.now() + delay > this.shutdownDeadline) return false;
      await this.sleep(delay);
    }
  }

  private shutdownDeadline = Infinity;

  /**
   * The certificate files, read once per transport (a reload builds a new one). Each notice (a
   * key others may read, our certificate ending within expiry_warning) is one ERROR.
   */
  private loadTls(cfg: TlsConfig): ConnectionOptions {
    const loaded = loadTls(cfg);
    for (const n of tlsNotices(loaded)) this.report({ level: 'ERROR', code: 'tls_notice', message: n });
    return loaded.options;
  }

  private deadLetter(batch: Batch, reason: string): void {
    const safeReason = this.redact(reason);
    writeDeadLetter(this.cfg.spool_dir, this.cfg.dead_letter_max_bytes, batch, safeReason, (r) => this.report(r));
    this.counters.deadLettered += batch.lines;
    this.report({
      level: 'ERROR',
      code: 'dead_letter',
      message: `Loki refused ${batch.lines} lines for good (${safeReason}); moved to ${deadLetterPath(this.cfg.spool_dir)}; ${this.counters.deadLettered} lines dead-lettered since start`,
      count: batch.lines,
    });
  }

  private settleFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const acked = this.spool.acked;
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (cmpPos(acked, w.target) >= 0 || this.spool.pendingLines === 0) {
        this.flushUrgent--;
        w.resolve(true);
        return false;
      }
      return true;
    });
  }

  // ---------------------------------------------------------------- control

  /** Resolves true once every line accepted before the call is answered; false after timeoutMs. */
  async forceFlush(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.spooled(timeoutMs);
    return this.waitAnswered(deadline - Date.now());
  }

  /**
   * Resolves once every line already handed to the logger is in the spool (accepted), i.e.
   * winston's stream buffers (the logger's and this transport's) are empty. False on timeout.
   */
  async spooled(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const parent = (this as unknown as { parent?: { writableLength?: number; readableLength?: number } }).parent;
    const busy = () => this.writableLength > 0 || (parent?.writableLength ?? 0) > 0 || (parent?.readableLength ?? 0) > 0 || this.spool.stagedLines > 0;
    while (busy() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    this.flushPending();
    return !busy();
  }

  private waitAnswered(timeoutMs: number): Promise<boolean> {
    if (this.spool.pendingLines === 0 || this.stopped) return Promise.resolve(this.spool.pendingLines === 0);
    return new Promise((resolve) => {
      const w = {
        target: this.spool.writePos,
        resolve: (ok: boolean) => {
          if (t) clearTimeout(t);
          resolve(ok);
        },
      };
      const t = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.flushWaiters = this.flushWaiters.filter((x) => x !== w);
            this.flushUrgent--;
            resolve(false);
          }, timeoutMs)
        : undefined;
      this.flushWaiters.push(w);
      this.flushUrgent++;
      this.kick();
    });
  }

  /**
   * Stops accepting, tries for shutdown_timeout to deliver what is spooled, then stops; what
   * is left stays in the spool for the next start. Idempotent.
   */
  shutdown(timeoutMs = this.cfg.shutdown_timeout): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.flushPending();
      this.stopping = true;
      this.shutdownDeadline = Date.now() + timeoutMs;
      this.kick();
      const timer = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([this.loop, timer]);
      this.stopped = true;
      this.abort.abort();
      this.kick();
      await this.loop;
      for (const w of this.flushWaiters) w.resolve(false);
      this.flushWaiters = [];
      await this.sender?.close();
      this.spool.close();
      const left = this.spool.pendingLines;
      if (left > 0) this.report({ level: 'WARN', code: 'shutdown_spooled', message: `loki transport stopped with ${left} lines still spooled in ${this.cfg.spool_dir}; they are sent on the next start`, count: left });
      this.emit('closed');
    })();
    return this.shutdownPromise;
  }

  /** winston calls close() when the transport is removed or the logger closes. */
  override close(): void {
    void this.shutdown();
  }

  stats(): LokiStats {
    return {
      ...this.counters,
      droppedAtBound: this.spool.droppedAtBound,
      pending: this.spool.pendingLines,
      spoolBytes: this.spool.bytes,
    };
  }

  /** Secrets never leave the transport: not in reports, not in the dead-letter file. */
  redact(s: string): string {
    return redact(s, this.secrets);
  }

  private report(r: LokiReport): void {
    const safe = { ...r, message: this.redact(r.message) };
    try {
      this.ctx.onReport?.(safe);
    } catch { /* a reporter must not break the transport */ }
    this.emit('report', safe);
  }
}

const grpcUnauthenticated = 16;
