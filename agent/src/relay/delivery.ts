/**
 * Delivery: one worker per target posts its queued notifications in order. A 2xx marks the job
 * delivered. A chat that refuses the message itself (400, 413, 422) gets a minimal one (title,
 * target, Explore link) at once; a permanent refusal of that, any other permanent refusal, or
 * failing past retry.max_age dead-letters the job; anything else is retried with backoff (the target's Retry-After wins when longer). State writes are retried
 * too, so a full disk delays a delivery instead of losing track of it.
 */
import { backoffMs, type BackoffPolicy } from '../core/http-retry.js';
import { reasonOf } from '../core/redact.js';
import type { RelayConfig, TargetConfig } from './config.js';
import type { MessageShape } from './formatters/index.js';
import type { Log } from './log.js';
import { httpsClient, type HttpsClient } from './https-client.js';
import { postNotification } from './post.js';
import type { Job, Store } from './store.js';
import { fit } from './text.js';

/** An alert's name or label in a log line: enough to tell alerts apart; a 100 KB label stays out of the log. */
const short = (s: string) => fit(s, 200);

interface Worker {
  readonly target: TargetConfig;
  /** Its `tls:` block loaded, and its connection pool. */
  readonly client: HttpsClient;
  readonly jobs: Job[];
  wake?: (() => void) | undefined;
  /** Failed attempts of the job at the head, 0 before the first. */
  attempt: number;
  /** What is sent for the job at the head: `minimal` once the chat refused the full message. */
  shape: MessageShape;
  /** Why the chat refused the full message, while `shape` is minimal. */
  refusal?: string | undefined;
}

/** Retrying a state write: from 0.5 s, doubling, up to 30 s; no jitter (one local disk, no crowd to spread). */
const STATE_RETRY: BackoffPolicy = { minMs: 500, maxMs: 30_000 };
const NO_JITTER = () => 1;

export class Delivery {
  private readonly workers = new Map<string, Worker>();
  private readonly retry: BackoffPolicy;
  private readonly sleepers = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private stopped = false;

  constructor(private readonly cfg: RelayConfig, private readonly store: Store, private readonly secrets: readonly string[], private readonly log: Log) {
    this.retry = { minMs: cfg.retry.initial, maxMs: cfg.retry.max };
    for (const t of cfg.targets) this.workers.set(t.name, { target: t, client: httpsClient(t.tls, `target ${t.name}`, 'chat server', log), jobs: [], attempt: 0, shape: 'full' });
  }

  get targets(): TargetConfig[] {
    return [...this.workers.values()].map((w) => w.target);
  }

  hasTarget(name: string): boolean {
    return this.workers.has(name);
  }

  /** Starts the workers with the jobs replayed from the store. */
  start(replayed: readonly Job[]): void {
    for (const j of replayed) {
      const w = this.workers.get(j.target);
      if (w) w.jobs.push(j);
      else this.log('WARN', `queued notification for unknown target "${j.target}" kept in ${this.cfg.state_dir}/queue`);
    }
    if (replayed.length) this.log('INFO', `replaying ${replayed.length} queued notification(s)`);
    for (const w of this.workers.values()) this.loops.push(this.runWorker(w));
  }

  /** Hands a durably queued job to its target's worker. */
  add(job: Job): void {
    const w = this.workers.get(job.target)!;
    w.jobs.push(job);
    w.wake?.();
  }

  /** Stops at once (a post in flight finishes; a failed one stays queued); resolves when every worker has returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) w.wake?.();
    for (const s of this.sleepers) s();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.workers.values()].map((w) => w.client.close()));
  }

  private async runWorker(w: Worker): Promise<void> {
    while (!this.stopped) {
      const job = w.jobs[0];
      if (!job) {
        await new Promise<void>((res) => (w.wake = res));
        w.wake = undefined;
        continue;
      }
      const r = await postNotification(w.target, job.notification, this.secrets, w.shape, w.client);
      if (this.stopped && !r.ok) return;
      const n = job.notification;
      const what = `${short(n.alertname)} ${n.status} host=${short(n.host || '-')} check=${short(n.check || '-')} to ${w.target.name}`;
      if (r.ok) {
        await this.durably(() => this.store.markDelivered(job));
        const how = w.shape === 'minimal' ? ` as a minimal message (the full one was refused: ${w.refusal})` : '';
        this.log('INFO', `delivered ${what}${how}${w.attempt ? ` after ${w.attempt + 1} attempts` : ''}`);
        this.next(w);
      } else if (r.refused && r.permanent && w.shape === 'full' && w.target.type !== 'webhook') {
        // The JSON webhook has no smaller form: its receiver gets the notification whole or not at all.
        this.log('WARN', `${what}: the chat refused the message (${r.reason}); sending a minimal one`);
        w.shape = 'minimal';
        w.refusal = r.reason;
      } else if (r.permanent || Date.now() - job.createdAt > this.cfg.retry.max_age) {
        const reason = w.shape === 'minimal' ? `${r.reason}; the minimal message after the full one was refused (${w.refusal})` : r.reason;
        await this.durably(() => this.store.deadLetter(job, reason));
        this.log('ERROR', `gave up on ${what}: ${reason}; kept in ${this.cfg.state_dir}/dead-letter.jsonl`);
        this.next(w);
      } else {
        const delay = backoffMs(this.retry, w.attempt + 1, r.retryAfterMs);
        this.log('WARN', `${what} failed (${r.reason}); retry ${w.attempt + 1} in ${Math.round(delay)}ms`);
        w.attempt++;
        await this.sleep(delay);
      }
    }
  }

  /** Done with the job at the head (delivered or dead-lettered): the next starts afresh. */
  private next(w: Worker): void {
    w.jobs.shift();
    w.attempt = 0;
    w.shape = 'full';
    w.refusal = undefined;
  }

  /** Retries a state write (a full disk, say) rather than losing track of a delivery. */
  private async durably(fn: () => Promise<void>): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (e) {
        this.log('ERROR', `cannot write relay state in ${this.cfg.state_dir}: ${reasonOf(e)}`);
        if (this.stopped) return;
        await this.sleep(backoffMs(STATE_RETRY, i, undefined, NO_JITTER));
      }
    }
  }

  /** A sleep that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const done = () => { clearTimeout(t); this.sleepers.delete(done); res(); };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
