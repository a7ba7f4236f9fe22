/**
 * Delivery: one worker per target posts its queued notifications in order. A 2xx marks the job
 * delivered; a permanent refusal, or failing past retry.max_age, dead-letters it; anything else
 * is retried with backoff (the target's Retry-After wins when longer). State writes are retried
 * too, so a full disk delays a delivery instead of losing track of it.
 */
import { backoffMs, type BackoffPolicy } from '../core/http-retry.js';
import { reasonOf } from '../core/redact.js';
import type { RelayConfig, TargetConfig } from './config.js';
import type { Log } from './log.js';
import { postNotification } from './post.js';
import type { Job, Store } from './store.js';

interface Worker {
  readonly target: TargetConfig;
  readonly jobs: Job[];
  wake?: (() => void) | undefined;
  /** Failed attempts of the job at the head, 0 before the first. */
  attempt: number;
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
    for (const t of cfg.targets) this.workers.set(t.name, { target: t, jobs: [], attempt: 0 });
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
  }

  private async runWorker(w: Worker): Promise<void> {
    while (!this.stopped) {
      const job = w.jobs[0];
      if (!job) {
        await new Promise<void>((res) => (w.wake = res));
        w.wake = undefined;
        continue;
      }
      const r = await postNotification(w.target, job.notification, this.secrets);
      if (this.stopped && !r.ok) return;
      const n = job.notification;
      const what = `${n.alertname} ${n.status} host=${n.host || '-'} check=${n.check || '-'} to ${w.target.name}`;
      if (r.ok) {
        await this.durably(() => this.store.markDelivered(job));
        this.log('INFO', `delivered ${what}${w.attempt ? ` after ${w.attempt + 1} attempts` : ''}`);
        w.jobs.shift();
        w.attempt = 0;
      } else if (r.permanent || Date.now() - job.createdAt > this.cfg.retry.max_age) {
        await this.durably(() => this.store.deadLetter(job, r.reason));
        this.log('ERROR', `gave up on ${what}: ${r.reason}; kept in ${this.cfg.state_dir}/dead-letter.jsonl`);
        w.jobs.shift();
        w.attempt = 0;
      } else {
        const delay = backoffMs(this.retry, w.attempt + 1, r.retryAfterMs);
        this.log('WARN', `${what} failed (${r.reason}); retry ${w.attempt + 1} in ${Math.round(delay)}ms`);
        w.attempt++;
        await this.sleep(delay);
      }
    }
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
