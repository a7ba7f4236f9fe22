/**
 * The chat relay: Alertmanager webhook (v4) in, one message per alert and target out.
 *
 *   POST /alertmanager           deliver to every target
 *   POST /alertmanager/<target>  deliver to that target only (one Alertmanager receiver per target)
 *   GET  /healthz                200 {"queued": n}
 *
 * Alertmanager gets its 2xx only after every new notification is durably queued
 * (see store.ts); delivery then runs per target, in order, with exponential backoff.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request } from 'undici';
import { reasonOf, redact } from '../core/redact.js';
import { queryLines, type LokiTarget } from '../rules/loki-api.js';
import { secretsOf, type RelayConfig, type TargetConfig } from './config.js';
import { exploreUrl } from './explore.js';
import { formatFor } from './formatters/index.js';
import { narrowingLabels, narrowLogql } from './logql.js';
import { baseNotification, type Notification, type NotificationLine } from './notification.js';
import { Store, type Job } from './store.js';
import { amWebhookSchema, type AmAlert } from './webhook.js';

const MAX_BODY = 10 * 1024 * 1024;

export type Log = (level: 'INFO' | 'WARN' | 'ERROR', msg: string) => void;

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

/** Constant-time bearer check: compares digests, so neither content nor length leaks. */
export function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256').update(m?.[1]?.trim() ?? '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

interface Worker {
  target: TargetConfig;
  jobs: Job[];
  wake?: (() => void) | undefined;
  attempt: number;
}

export class Relay {
  private readonly store: Store;
  private readonly workers = new Map<string, Worker>();
  /** Keys being queued by an in-flight request: a concurrent duplicate waits for that outcome. */
  private readonly reserved = new Map<string, Promise<void>>();
  private readonly secrets: string[];
  private readonly loki: LokiTarget;
  private server?: Server;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();

  constructor(readonly cfg: RelayConfig, private readonly token: string, private readonly log: Log = defaultLog) {
    this.store = new Store(cfg.state_dir, cfg.dedupe_retention);
    this.secrets = secretsOf(cfg, token);
    this.loki = lokiTarget(cfg.loki);
    for (const t of cfg.targets) this.workers.set(t.name, { target: t, jobs: [], attempt: 0 });
  }

  /** Replays the queue and starts listening; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const jobs = this.store.open();
    for (const j of jobs) {
      const w = this.workers.get(j.target);
      if (w) w.jobs.push(j);
      else this.log('WARN', `queued notification for unknown target "${j.target}" kept in ${this.cfg.state_dir}/queue`);
    }
    if (jobs.length) this.log('INFO', `replaying ${jobs.length} queued notification(s)`);
    for (const w of this.workers.values()) this.loops.push(this.runWorker(w));
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.cfg.listen.port, this.cfg.listen.host, () => res());
    });
    const addr = server.address();
    return { host: this.cfg.listen.host, port: typeof addr === 'object' && addr ? addr.port : this.cfg.listen.port };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) w.wake?.();
    for (const s of this.sleepers) s();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((res) => server.close(() => res()));
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      server.closeAllConnections();
    }
    await Promise.allSettled(this.loops);
  }

  get queued(): number {
    return this.store.pending;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') return reply(200, { status: 'ok', queued: this.store.pending });
      const m = /^\/alertmanager(?:\/([A-Za-z0-9_.-]+))?\/?$/.exec(url.pathname);
      if (!m) return reply(404, { error: 'not found' });
      if (req.method !== 'POST') return reply(405, { error: 'POST only' });
      if (!bearerOk(req.headers.authorization, this.token)) {
        res.setHeader('www-authenticate', 'Bearer realm="imom-relay"');
        req.resume();
        return reply(401, { error: 'missing or wrong bearer token' });
      }
      const only = m[1];
      if (only && !this.workers.has(only)) return reply(404, { error: `no target named "${only}"` });
      const raw = await readBody(req);
      if (raw === undefined) return reply(413, { error: `body over ${MAX_BODY} bytes` });
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return reply(400, { error: 'body is not JSON' });
      }
      const parsed = amWebhookSchema.safeParse(json);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
        this.log('WARN', `rejected webhook: ${issues.join('; ')}`);
        return reply(400, { error: 'not an Alertmanager webhook v4 payload', issues });
      }
      const result = await this.accept(parsed.data.alerts, only);
      return reply(200, result);
    } catch (e) {
      this.log('ERROR', `webhook failed: ${reasonOf(e, this.secrets)}`);
      if (!res.headersSent) reply(500, { error: 'could not queue the notifications; retry' });
    }
  }

  /** Queues every new (alert, target) notification durably; returns counts. */
  async accept(alerts: AmAlert[], only?: string): Promise<{ queued: number; duplicates: number }> {
    let queued = 0;
    let duplicates = 0;
    // Alerts are handled concurrently (each may wait for Loki); each reserves its keys before any await.
    await Promise.all(alerts.map(async (a) => {
      const targets = [...this.workers.values()].map((w) => w.target).filter((t) => (!only || t.name === only) && wants(t, a));
      const fresh: { t: TargetConfig; key: string }[] = [];
      const inFlight: Promise<void>[] = [];
      let settle!: (err?: unknown) => void;
      const mine = new Promise<void>((res, rej) => (settle = (err) => (err === undefined ? res() : rej(err))));
      mine.catch(() => undefined);
      for (const t of targets) {
        const key = dedupeKey(t.name, a);
        const other = this.reserved.get(key);
        if (this.store.isKnown(key)) duplicates++;
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
        const content = await this.content(a);
        for (const { t, key } of fresh) {
          const job = await this.store.enqueue(t.name, key, { ...baseNotification(a, key), ...content, key });
          const w = this.workers.get(t.name)!;
          w.jobs.push(job);
          w.wake?.();
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

  /** The lines from Loki (firing alerts only), the narrowed LogQL and the Explore link. */
  private async content(a: AmAlert): Promise<Pick<Notification, 'lines' | 'linesError' | 'logql' | 'exploreUrl'>> {
    const base = a.annotations.logql;
    if (!base) return { lines: [] };
    const logql = narrowLogql(base, narrowingLabels(a.labels, a.annotations.logql_narrow, this.cfg.loki.narrow_labels));
    const starts = Date.parse(a.startsAt);
    const now = Date.now();
    const from = (Number.isFinite(starts) ? starts : now) - this.cfg.loki.lookback;
    const ends = Date.parse(a.endsAt);
    const to = a.status === 'resolved' && Number.isFinite(ends) && ends > from ? ends + 60_000 : now + 60_000;
    const out: Pick<Notification, 'lines' | 'linesError' | 'logql' | 'exploreUrl'> = { lines: [], logql };
    if (this.cfg.grafana) out.exploreUrl = exploreUrl({ grafanaUrl: this.cfg.grafana.url, datasourceUid: this.cfg.grafana.datasource_uid, orgId: this.cfg.grafana.org_id, expr: logql, fromMs: from, toMs: to });
    if (a.status === 'firing') {
      try {
        const lines = await queryLines(this.loki, logql, from, now, this.cfg.loki.lines);
        out.lines = lines.map((l): NotificationLine => ({ time: new Date(Number(BigInt(l.ts) / 1_000_000n)).toISOString(), line: l.line }));
      } catch (e) {
        out.linesError = reasonOf(e, this.secrets).slice(0, 300);
        this.log('WARN', `lines for ${a.labels.alertname ?? 'alert'} unavailable: ${out.linesError}`);
      }
    }
    return out;
  }

  private async runWorker(w: Worker): Promise<void> {
    while (!this.stopped) {
      const job = w.jobs[0];
      if (!job) {
        await new Promise<void>((res) => (w.wake = res));
        w.wake = undefined;
        continue;
      }
      const r = await this.send(w.target, job.notification);
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
        const exp = Math.min(this.cfg.retry.max, this.cfg.retry.initial * 2 ** Math.min(w.attempt, 30));
        const delay = Math.min(this.cfg.retry.max, Math.max(exp * (0.5 + Math.random() * 0.5), r.retryAfterMs ?? 0));
        this.log('WARN', `${what} failed (${r.reason}); retry ${w.attempt + 1} in ${Math.round(delay)}ms`);
        w.attempt++;
        await this.sleep(delay);
      }
    }
  }

  /** Retries a state write (a full disk, say) rather than losing track of a delivery. */
  private async durably(fn: () => Promise<void>): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        this.log('ERROR', `cannot write relay state in ${this.cfg.state_dir}: ${reasonOf(e)}`);
        if (this.stopped) return;
        await this.sleep(Math.min(30_000, 500 * 2 ** i));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const done = () => { clearTimeout(t); this.sleepers.delete(done); res(); };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private async send(t: TargetConfig, n: Notification): Promise<{ ok: true } | { ok: false; permanent: boolean; reason: string; retryAfterMs?: number | undefined }> {
    let out;
    try {
      out = formatFor(n, t);
    } catch (e) {
      return { ok: false, permanent: true, reason: `cannot format: ${reasonOf(e, this.secrets)}` };
    }
    try {
      const res = await request(out.url, { method: 'POST', headers: out.headers, body: out.body, headersTimeout: t.timeout, bodyTimeout: t.timeout });
      const text = (await res.body.text()).slice(0, 300);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        // Telegram answers 200 with ok:false on some errors; Slack answers "ok".
        if (t.type === 'telegram' && /"ok"\s*:\s*false/.test(text)) return { ok: false, permanent: true, reason: `telegram: ${redact(text, this.secrets)}` };
        return { ok: true };
      }
      const retryAfterMs = retryAfter(res.headers['retry-after'], text);
      const reason = `HTTP ${res.statusCode}: ${redact(text.replace(/\s+/g, ' ').trim(), this.secrets)}`;
      const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      return { ok: false, permanent: !retryable, reason, retryAfterMs };
    } catch (e) {
      return { ok: false, permanent: false, reason: reasonOf(e, this.secrets) };
    }
  }
}

function lokiTarget(l: RelayConfig['loki']): LokiTarget {
  const headers: Record<string, string> = {};
  if (l.bearer_token) headers.authorization = `Bearer ${l.bearer_token}`;
  if (l.basic_auth) headers.authorization = `Basic ${Buffer.from(`${l.basic_auth.username}:${l.basic_auth.password}`).toString('base64')}`;
  return { url: l.url, tenant: l.tenant, headers, timeoutMs: l.timeout };
}

function wants(t: TargetConfig, a: AmAlert): boolean {
  if (a.status === 'resolved' && !t.send_resolved) return false;
  if (t.severities && !t.severities.includes(a.labels.severity ?? '')) return false;
  return true;
}

function retryAfter(header: string | string[] | undefined, body: string): number | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (h) {
    const s = Number(h);
    if (Number.isFinite(s)) return s * 1000;
    const d = Date.parse(h);
    if (Number.isFinite(d)) return Math.max(0, d - Date.now());
  }
  const m = /"retry_after"\s*:\s*(\d+)/.exec(body); // Telegram
  return m ? Number(m[1]) * 1000 : undefined;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function defaultLog(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} imom relay: ${msg}\n`);
}
