/**
 * What the spool says about its bound (spool_max_bytes): every dropped line is counted; an
 * ERROR at most every 10 s while lines are being dropped (one per drop would flood the very
 * log that is full), and a WARN when the spool is below 90 % of the bound again.
 */
import type { SpoolReport } from './report.js';

/** At most one spool_full ERROR this often, in ms. */
const REPORT_EVERY_MS = 10_000;
/** Below this share of the bound an episode of drops is over. */
const BELOW_BOUND = 0.9;

export class BoundReporter {
  /** Lines dropped at the bound (by either policy), since open. */
  dropped = 0;
  private episode: { dropped: number; lastReport: number } | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly report: (r: SpoolReport) => void,
  ) {}

  /** `lines` were dropped by `what`, with the spool at `bytes`. */
  noteDropped(lines: number, what: string, bytes: number): void {
    if (lines <= 0) return;
    this.dropped += lines;
    const now = Date.now();
    const ep = (this.episode ??= { dropped: 0, lastReport: 0 });
    ep.dropped += lines;
    if (now - ep.lastReport >= REPORT_EVERY_MS) {
      ep.lastReport = now;
      this.report({
        level: 'ERROR',
        code: 'spool_full',
        message: `loki spool full (${bytes} of spool_max_bytes ${this.maxBytes} bytes, Loki unreachable or slow): ${what}; ${ep.dropped} lines dropped so far in this episode, ${this.dropped} since start`,
        count: lines,
      });
    }
  }

  /** The spool shrank to `bytes`: ends an episode of drops once it is below 90 % of the bound. */
  shrankTo(bytes: number): void {
    const ep = this.episode;
    if (!ep || bytes >= this.maxBytes * BELOW_BOUND) return;
    this.episode = undefined;
    this.report({ level: 'WARN', code: 'spool_below_bound', message: `loki spool below its bound again; ${ep.dropped} lines were dropped at the bound in this episode (${this.dropped} since start)`, count: ep.dropped });
  }
}
