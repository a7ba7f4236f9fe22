/**
 * The dead-man switch: Alertmanager sends the always-firing Watchdog to POST /heartbeat
 * (every 1m, ruler/alertmanager.yml), and this pings the configured URL every `every`, but
 * only while the newest Watchdog arrived within `max_age`. A dead ruler (no Watchdog to
 * send), a dead Alertmanager (nothing sent) or a dead relay (nothing pings) all stop the
 * pings, which the outside service (healthchecks.io, Cronitor, Opsgenie heartbeats) notices.
 */
import { fetch } from 'undici';
import { z } from 'zod';
import type { RelayConfig } from './config.js';
import { httpsClient, type HttpsClient } from './https-client.js';
import type { Log } from './log.js';
import { reasonOf } from '../core/redact.js';

export type HeartbeatConfig = NonNullable<RelayConfig['heartbeat']>;

/** Only what the heartbeat needs of an Alertmanager webhook: is a Watchdog firing in it. */
const watchdogBody = z.object({
  alerts: z.array(z.object({ status: z.string(), labels: z.record(z.string(), z.string()) })),
});

/** True when the webhook body carries a firing Watchdog alert. */
export function hasFiringWatchdog(raw: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return false;
  }
  const body = watchdogBody.safeParse(json);
  return body.success && body.data.alerts.some((a) => a.status === 'firing' && a.labels.alertname === 'Watchdog');
}

export class Heartbeat {
  private lastWatchdogMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly client: HttpsClient;

  constructor(private readonly cfg: HeartbeatConfig, private readonly secrets: readonly string[], private readonly log: Log, private readonly now: () => number = Date.now) {
    this.client = httpsClient(cfg.tls, 'heartbeat', 'heartbeat server', log);
  }

  /** A Watchdog notification arrived. */
  watchdog(): void {
    this.lastWatchdogMs = this.now();
  }

  /** Whether a ping is due now: the newest Watchdog is at most max_age old. */
  get alive(): boolean {
    return this.now() - this.lastWatchdogMs <= this.cfg.max_age;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.inFlight && this.alive) this.inFlight = this.ping().finally(() => (this.inFlight = undefined));
    }, this.cfg.every);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.client.close();
  }

  private async ping(): Promise<void> {
    try {
      const res = await fetch(this.cfg.url, { signal: AbortSignal.timeout(this.cfg.timeout), ...(this.client.dispatcher ? { dispatcher: this.client.dispatcher } : {}) });
      await res.arrayBuffer();
      if (!res.ok) this.log('WARN', `heartbeat ping answered HTTP ${res.status}`);
    } catch (e) {
      this.log('WARN', `heartbeat ping failed: ${(await this.client.tlsFailure(this.cfg.url, e)) ?? reasonOf(e, this.secrets)}`);
    }
  }
}
