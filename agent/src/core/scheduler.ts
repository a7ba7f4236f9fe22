import type { RunContext, Target } from './check.js';
import { humanMs } from './abort.js';
import { reasonOf } from './redact.js';
import type { CheckResult } from './result.js';

export interface ScheduledTarget {
  readonly check: string;
  readonly instance: string;
  readonly target: Target;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** What the scheduler tells an observer (the agent's self-metrics): it must not throw. */
export interface SchedulerObserver {
  /** A run ended: `failed` when the check threw or hit its timeout, not when it found a fault. */
  ran(t: ScheduledTarget, outcome: { readonly failed: boolean; readonly durationMs: number }): void;
  /** A tick found the previous run still going. */
  skipped(t: ScheduledTarget): void;
}

/**
 * Runs every target on its own timer under its own timeout, so a hung target never
 * delays another. A tick that finds the previous run of the same target still going
 * is skipped and said so in an ERROR line, instead of piling up connections.
 * Targets can be added and removed while it runs (a config reload).
 */
export class Scheduler {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly targets = new Set<ScheduledTarget>();
  private readonly timers = new Map<ScheduledTarget, NodeJS.Timeout>();
  private started = false;
  private stopped = false;

  constructor(
    targets: readonly ScheduledTarget[],
    private readonly emit: (results: CheckResult[]) => void,
    private readonly observer?: SchedulerObserver,
  ) {
    for (const t of targets) this.targets.add(t);
  }

  get size(): number {
    return this.targets.size;
  }

  /** Runs every target once, concurrently; resolves when each has reported or timed out. */
  async runOnce(): Promise<void> {
    await Promise.all([...this.targets].map((t) => this.tick(t)));
  }

  /** Starts the loop: a first run now, then one per interval, per target. */
  start(): void {
    this.started = true;
    for (const t of this.targets) this.begin(t);
  }

  /** Adds targets; once started, each runs now and then on its own interval. */
  add(targets: readonly ScheduledTarget[]): void {
    if (this.stopped) return;
    for (const t of targets) {
      this.targets.add(t);
      if (this.started) this.begin(t);
    }
  }

  /** Removes targets: no further tick; a run in flight finishes and reports, then each is closed. */
  async remove(targets: readonly ScheduledTarget[]): Promise<void> {
    for (const t of targets) {
      clearInterval(this.timers.get(t));
      this.timers.delete(t);
      this.targets.delete(t);
    }
    await Promise.allSettled(targets.map((t) => this.inFlight.get(t.target.id)));
    await Promise.allSettled(targets.map((t) => t.target.close?.()));
  }

  /** Stops ticking, lets in-flight runs finish (each bounded by its timeout), then closes targets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight.values()]);
    await Promise.allSettled([...this.targets].map((t) => t.target.close?.()));
  }

  private begin(t: ScheduledTarget): void {
    void this.tick(t);
    this.timers.set(t, setInterval(() => void this.tick(t), t.intervalMs));
  }

  private tick(t: ScheduledTarget): Promise<void> {
    const id = t.target.id;
    if (this.inFlight.has(id)) {
      this.observer?.skipped(t);
      this.emit([{
        check: t.check, instance: t.instance, target: t.target.target, status: 'ERROR', time: new Date(),
        fields: [['Check', t.check], ['Target', t.target.target], ['Error', `previous run still in progress after ${humanMs(t.intervalMs)}; run skipped`]],
      }]);
      return this.inFlight.get(id)!;
    }
    const p = this.execute(t).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  private async execute(t: ScheduledTarget): Promise<void> {
    const ac = new AbortController();
    const started = new Date();
    const timer = setTimeout(() => ac.abort(new Error(`timeout after ${humanMs(t.timeoutMs)}`)), t.timeoutMs);
    const ctx: RunContext = { signal: ac.signal, timeoutMs: t.timeoutMs };
    let results: CheckResult[];
    let failed = false;
    try {
      results = await t.target.run(ctx);
    } catch (e) {
      failed = true;
      // A timeout is reported as such even when the check surfaces it as a socket error.
      const reason = ac.signal.aborted ? reasonOf(ac.signal.reason) : reasonOf(e);
      results = t.target.failure(reason, started);
    } finally {
      clearTimeout(timer);
    }
    this.observer?.ran(t, { failed: failed || ac.signal.aborted, durationMs: Date.now() - started.getTime() });
    this.emit(results);
  }
}
