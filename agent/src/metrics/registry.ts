/**
 * The agent's own metrics, in a prom-client registry of their own (nothing global, so two agents
 * in one process, as tests run them, never share a counter). The scheduler and the outputs report
 * through the observer interfaces they define; this module only counts. Names follow Prometheus'
 * conventions: `imom_` prefix, `_total` counters, base units (seconds, bytes).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SchedulerObserver, ScheduledTarget } from '../core/scheduler.js';
import type { Status } from '../core/result.js';

/** What the Loki output counts since it was built (outputs/loki LokiStats, structurally). */
export interface LokiCounters {
  readonly attempts: number;
  readonly retries: number;
  readonly deadLettered: number;
  readonly droppedAtBound: number;
  readonly lastSuccessMs: number;
  readonly pending: number;
  readonly spoolBytes: number;
}

/** Seconds: a check answers in milliseconds, a blackholed one takes its whole timeout (10s default). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class AgentMetrics implements SchedulerObserver {
  readonly registry = new Registry();
  private readonly runs = this.counter('imom_check_runs_total', 'Check runs that ended, per check and target', ['check', 'target']);
  private readonly failures = this.counter('imom_check_failures_total', 'Runs that threw or hit their timeout (not runs that found a fault)', ['check', 'target']);
  private readonly skips = this.counter('imom_check_skips_total', 'Ticks skipped because the previous run of the target was still going', ['check', 'target']);
  private readonly duration = new Histogram({
    name: 'imom_check_duration_seconds', help: 'How long one run of a target took', labelNames: ['check'], buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  private readonly lines = this.counter('imom_output_lines_total', 'Lines each output took, per status', ['output', 'status']);
  private loki: () => LokiCounters | undefined = () => undefined;

  constructor() {
    const delta = (name: string, help: string, pick: (c: LokiCounters) => number) => {
      const state = { last: 0 };
      const metric: Counter = new Counter({
        name, help, registers: [this.registry],
        collect: () => {
          const c = this.loki();
          if (!c) return;
          const v = pick(c);
          // A value below the last one seen is a new Loki output (reload): it counts from 0.
          metric.inc(v >= state.last ? v - state.last : v);
          state.last = v;
        },
      });
    };
    delta('imom_loki_push_attempts_total', 'Push requests tried', (c) => c.attempts);
    delta('imom_loki_push_failures_total', 'Pushes that failed and are retried (network, 429, 5xx)', (c) => c.retries);
    delta('imom_loki_dead_lettered_lines_total', 'Lines Loki refused for good, moved to the dead-letter file', (c) => c.deadLettered);
    delta('imom_loki_dropped_lines_total', 'Lines dropped at the spool bound (spool_full_policy)', (c) => c.droppedAtBound);
    const gauge = (name: string, help: string, pick: (c: LokiCounters) => number | undefined) => {
      const g: Gauge = new Gauge({
        name, help, registers: [this.registry],
        collect: () => {
          const c = this.loki();
          const v = c && pick(c);
          if (v !== undefined) g.set(v);
        },
      });
    };
    gauge('imom_loki_spool_lines', 'Lines in the spool not yet answered by Loki', (c) => c.pending);
    gauge('imom_loki_spool_bytes', 'Bytes of the spool on disk', (c) => c.spoolBytes);
    gauge('imom_loki_last_success_timestamp_seconds', 'When Loki last answered a push 2xx (unset before the first)', (c) => (c.lastSuccessMs > 0 ? c.lastSuccessMs / 1000 : undefined));
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Where the Loki output's counters are read at each scrape. */
  watchLoki(source: () => LokiCounters | undefined): void {
    this.loki = source;
  }

  ran(t: ScheduledTarget, outcome: { readonly failed: boolean; readonly durationMs: number }): void {
    const labels = { check: t.check, target: t.target.target };
    this.runs.inc(labels);
    if (outcome.failed) this.failures.inc(labels);
    this.duration.observe({ check: t.check }, outcome.durationMs / 1000);
  }

  skipped(t: ScheduledTarget): void {
    this.skips.inc({ check: t.check, target: t.target.target });
  }

  line(output: string, status: Status): void {
    this.lines.inc({ output, status });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
