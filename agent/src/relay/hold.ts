/**
 * Holding back false resolutions. When an agent dies mid-incident, its check alerts' windows
 * empty and the ruler resolves them, though nothing was repaired. So, while an AgentSilent for
 * the same env and host is firing, a RESOLVED for one of that host's check alerts (an alert with
 * a `target` label: CheckError, CheckCritical, the Kafka alerts) is kept in state_dir/hold.json
 * instead of being queued. When the host reports again (AgentSilent resolved, or retired), each
 * held one is released: queued as any notification, unless the same alert (fingerprint) fired
 * again meanwhile, which supersedes it (dropped: the new firing is the news, and its own
 * resolution will come). hold.json is written (temp file, fsync, rename, folder fsync) before
 * Alertmanager gets its 2xx, so a relay restart keeps what it holds.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Log } from './log.js';
import { amAlertSchema, type AmAlert } from './webhook.js';

export interface HoldConfig {
  /** The alert that says a host is silent (AgentSilent). */
  readonly silent_alert: string;
  /**
   * An AgentSilent whose firing was last heard longer ago than this has ended (its resolution
   * was lost): what it held is released. Alertmanager repeats a firing critical alert every 1h
   * (ruler/alertmanager.yml), so the default 3h is three missed repeats.
   */
  readonly silent_max_age: number;
}

/** One alert to queue, for every target or the one named in the webhook's path. */
export interface Item {
  readonly alert: AmAlert;
  readonly only?: string | undefined;
  /** It was held, and is let go now. */
  readonly released?: boolean;
}

const stateSchema = z.object({
  /** env\0host → when its AgentSilent firing was last received (epoch ms). */
  silent: z.record(z.string(), z.number()),
  held: z.array(z.object({ alert: amAlertSchema, only: z.string().optional(), heldAt: z.number() })),
});
export type HoldState = z.infer<typeof stateSchema>;

const hostKey = (l: Record<string, string>) => `${l.env ?? ''}\0${l.host ?? ''}`;
const isCheckAlert = (a: AmAlert, c: HoldConfig) => a.labels.target !== undefined && a.labels.alertname !== c.silent_alert && a.labels.host !== undefined;

export class Hold {
  private readonly file: string;
  private state: HoldState = { silent: {}, held: [] };
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, private readonly cfg: HoldConfig, private readonly log: Log, private readonly now: () => number = Date.now) {
    this.file = join(dir, 'hold.json');
  }

  /** Loads hold.json (absent on a first start; unreadable: kept aside as .corrupt, said so). */
  open(): void {
    mkdirSync(this.dir, { recursive: true });
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const parsed = stateSchema.safeParse((() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })());
    if (parsed.success) this.state = parsed.data;
    else this.log('ERROR', `${this.file} is not a hold state file; starting with nothing held`);
  }

  /**
   * Released items that could not be queued (a failed state write: Alertmanager gets a 500 and
   * sends again) are held again; only those, so a concurrent request's changes stay.
   */
  putBack(items: readonly Item[]): void {
    for (const i of items) {
      if (!i.released) continue;
      this.state.held.push({ alert: i.alert, ...(i.only ? { only: i.only } : {}), heldAt: this.now() });
    }
  }

  get held(): number {
    return this.state.held.length;
  }

  /**
   * Sorts one webhook's alerts: returns what to queue now (the alerts passed through, and any
   * released by an AgentSilent resolution), holding the rest. `commit()` persists the change.
   */
  sift(alerts: readonly AmAlert[], only: string | undefined): Item[] {
    const out: Item[] = this.expire();
    for (const a of alerts) {
      const key = hostKey(a.labels);
      if (a.labels.alertname === this.cfg.silent_alert) {
        if (a.status === 'firing') this.state.silent[key] = this.now();
        else out.push(...this.release(key, 'the host reports again'));
        out.push({ alert: a, only });
        continue;
      }
      if (a.status === 'firing') {
        const before = this.state.held.length;
        this.state.held = this.state.held.filter((h) => h.alert.fingerprint !== a.fingerprint);
        if (this.state.held.length < before) this.log('INFO', `held RESOLVED of ${a.labels.alertname} host=${a.labels.host} target=${a.labels.target} dropped: it fires again`);
      } else if (isCheckAlert(a, this.cfg) && this.state.silent[key] !== undefined) {
        if (!this.state.held.some((h) => h.alert.fingerprint === a.fingerprint && h.alert.startsAt === a.startsAt)) {
          this.state.held.push({ alert: a, ...(only ? { only } : {}), heldAt: this.now() });
          this.log('INFO', `RESOLVED of ${a.labels.alertname} host=${a.labels.host} target=${a.labels.target} held: ${this.cfg.silent_alert} fires for that host`);
        }
        continue;
      }
      out.push({ alert: a, only });
    }
    return out;
  }

  /** AgentSilents not heard of for silent_max_age: their held resolutions go out (see release()). */
  expire(): Item[] {
    const cutoff = this.now() - this.cfg.silent_max_age;
    return Object.entries(this.state.silent).filter(([, at]) => at < cutoff).flatMap(([key]) => this.release(key, `no ${this.cfg.silent_alert} for ${Math.round(this.cfg.silent_max_age / 60_000)} min`));
  }

  private release(key: string, why: string): Item[] {
    delete this.state.silent[key];
    const mine = this.state.held.filter((h) => hostKey(h.alert.labels) === key);
    this.state.held = this.state.held.filter((h) => hostKey(h.alert.labels) !== key);
    if (mine.length) this.log('INFO', `releasing ${mine.length} held RESOLVED for host=${key.split('\0')[1]}: ${why}`);
    return mine.map((h) => ({ alert: h.alert, only: h.only, released: true }));
  }

  /** Writes the state durably; concurrent calls are serialised, each writes the newest state. */
  commit(): Promise<void> {
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(this.state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    const d = await open(this.dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  }
}
