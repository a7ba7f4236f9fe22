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

/**
 * Runs every target on its own timer under its own timeout, so a hung target never
 * delays another. A tick that finds the previous run of the same target still going
 * is skipped and said so in an ERROR line, instead of piling up connections.
 */
export class Scheduler {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly targets: readonly ScheduledTarget[],
    private readonly emit: (results: CheckResult[]) => void,
  ) {}

  get size(): number {
    return this.targets.length;
  }

  /** Runs every target once, concurrently; resolves when each has reported or timed out. */
  async runOnce(): Promise<void> {
    await Promise.all(this.targets.map((t) => this.tick(t)));
  }

  /** Starts the loop: a first run now, then one per interval, per target. */
  start(): void {
    for (const t of this.targets) {
      void this.tick(t);
      const timer = setInterval(() => void this.tick(t), t.intervalMs);
      this.timers.add(timer);
    }
  }

  /** Stops ticking, lets in-flight runs finish (each bounded by its timeout), then closes targets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight.values()]);
    await Promise.allSettled(this.targets.map((t) => t.target.close?.()));
  }

  private tick(t: ScheduledTarget): Promise<void> {
    const id = t.target.id;
    if (this.inFlight.has(id)) {
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
    try {
      results = await t.target.run(ctx);
    } catch (e) {
      // A timeout is reported as such even when the check surfaces it as a socket error.
      const reason = ac.signal.aborted ? reasonOf(ac.signal.reason) : reasonOf(e);
      results = t.target.failure(reason, started);
    } finally {
      clearTimeout(timer);
    }
    this.emit(results);
  }
}
