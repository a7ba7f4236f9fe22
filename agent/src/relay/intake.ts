/**
 * Intake: an Alertmanager webhook body in, durably queued notifications out. The body is
 * checked with zod; each (alert, target) pair gets a dedupe key, and only a key neither
 * delivered, queued nor being queued by a concurrent request becomes a job. Alertmanager gets
 * its 2xx only after every new job is on disk (see store.ts).
 */
import { createHash } from 'node:crypto';
import type { TargetConfig } from './config.js';
import type { Hold, Item } from './hold.js';
import type { AlertContent } from './lines.js';
import type { Log } from './log.js';
import { baseNotification } from './notification.js';
import type { Answer } from './server.js';
import type { Job, Store } from './store.js';
import { amWebhookSchema, type AmAlert } from './webhook.js';

export function dedupeKey(target: string, a: Pick<AmAlert, 'fingerprint' | 'status' | 'startsAt'>): string {
  return createHash('sha256').update(`${target}\0${a.fingerprint}\0${a.status}\0${instantOf(a.startsAt)}`).digest('hex');
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i;

/**
 * The instant an RFC 3339 time names, to the nanosecond, as "<epoch s>.<9 digits>": one instant
 * has many spellings (Go trims trailing zeros of the fraction, JavaScript writes three digits,
 * and the zone may be an offset), and a replayed webhook must map to the same key.
 * Anything else is kept as it is.
 */
export function instantOf(time: string): string {
  const m = RFC3339.exec(time);
  const sec = m ? Date.parse(`${m[1]}${m[3]!.toUpperCase()}`) / 1000 : NaN;
  return Number.isFinite(sec) ? `${sec}.${(m![2] ?? '').padEnd(9, '0')}` : time;
}

export interface IntakeOptions {
  readonly store: Store;
  readonly targets: readonly TargetConfig[];
  /** The lines and links of an alert's message. */
  content(a: AmAlert): Promise<AlertContent>;
  /** Called with each job once it is durably queued. */
  queued(job: Job): void;
  /** Holds check alerts' resolutions while their host is silent (hold.ts); none: every alert passes. */
  readonly hold?: Hold | undefined;
  readonly log: Log;
}

export class Intake {
  /** Keys being queued by an in-flight request: a concurrent duplicate waits for that outcome. */
  private readonly reserved = new Map<string, Promise<void>>();

  constructor(private readonly o: IntakeOptions) {}

  /** A webhook body: 400 unless it is JSON and an Alertmanager webhook v4; else the counts. */
  async receive(raw: string, only: string | undefined): Promise<Answer> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { code: 400, body: { error: 'body is not JSON' } };
    }
    const parsed = amWebhookSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      this.o.log('WARN', `rejected webhook: ${issues.join('; ')}`);
      return { code: 400, body: { error: 'not an Alertmanager webhook v4 payload', issues } };
    }
    return { code: 200, body: await this.accept(parsed.data.alerts, only) };
  }

  /**
   * Queues every new (alert, target) notification durably; returns counts. Resolutions the hold
   * keeps are not queued; the hold's state is on disk before this resolves (after the jobs it
   * released are queued, so a crash in between releases them again, as duplicates).
   */
  async accept(alerts: AmAlert[], only?: string): Promise<{ queued: number; duplicates: number; held?: number }> {
    const hold = this.o.hold;
    if (!hold) return this.queue(alerts.map((alert) => ({ alert, only })));
    const items = hold.sift(alerts, only);
    let r;
    try {
      r = await this.queue(items);
    } catch (e) {
      // Not queued: Alertmanager gets a 500 and sends again; what was released is held again.
      hold.putBack(items);
      throw e;
    }
    await hold.commit();
    // The answer says how many resolutions are held, when any are (Alertmanager ignores the body).
    return hold.held ? { ...r, held: hold.held } : r;
  }

  /** Alerts released by the hold outside a webhook (an AgentSilent gone quiet for silent_max_age). */
  async release(): Promise<void> {
    const hold = this.o.hold;
    if (!hold) return;
    const items = hold.expire();
    if (!items.length) return;
    try {
      await this.queue(items);
    } catch (e) {
      hold.putBack(items);
      throw e;
    }
    await hold.commit();
  }

  private async queue(items: readonly Item[]): Promise<{ queued: number; duplicates: number }> {
    const { store } = this.o;
    let queued = 0;
    let duplicates = 0;
    // Alerts are handled concurrently (each may wait for Loki); each reserves its keys before any await.
    await Promise.all(items.map(async ({ alert: a, only }) => {
      const targets = this.o.targets.filter((t) => (!only || t.name === only) && wants(t, a));
      const fresh: { t: TargetConfig; key: string }[] = [];
      const inFlight: Promise<void>[] = [];
      let settle!: (err?: unknown) => void;
      const mine = new Promise<void>((res, rej) => (settle = (err) => (err === undefined ? res() : rej(err))));
      mine.catch(() => undefined);
      for (const t of targets) {
        const key = dedupeKey(t.name, a);
        const other = this.reserved.get(key);
        if (store.isKnown(key)) duplicates++;
        else if (other) {
          // Answer 2xx only once the other request has queued it; if it failed, fail too.
          inFlight.push(other);
          duplicates++;
        } else {
          this.reserved.set(key, mine);
          fresh.push({ t, key });
        }
      }
      if (!fresh.length) {
        await Promise.all(inFlight);
        return;
      }
      try {
        const content = await this.o.content(a);
        for (const { t, key } of fresh) {
          const job = await store.enqueue(t.name, key, { ...baseNotification(a, key), ...content, key });
          this.o.queued(job);
          queued++;
        }
        settle();
      } catch (e) {
        settle(e);
        throw e;
      } finally {
        for (const { key } of fresh) this.reserved.delete(key);
      }
      await Promise.all(inFlight);
    }));
    return { queued, duplicates };
  }
}

function wants(t: TargetConfig, a: AmAlert): boolean {
  if (a.status === 'resolved' && !t.send_resolved) return false;
  if (t.severities && !t.severities.includes(a.labels.severity ?? '')) return false;
  return true;
}
