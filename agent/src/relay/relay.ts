/**
 * The chat relay: Alertmanager webhook (v4) in, one message per alert and target out.
 * Three parts, wired here: the HTTP server (server.ts: routes, bearer token, body limit), the
 * intake (intake.ts: parse, dedupe, durably queue) and delivery (delivery.ts: per-target
 * workers, retry, dead letter), all on one durable store (store.ts).
 */
import { describeTlsFailure, loadTls, tlsNotices } from '../core/tls/index.js';
import { secretsOf, type RelayConfig } from './config.js';
import { Delivery } from './delivery.js';
import { Heartbeat, hasFiringWatchdog } from './heartbeat.js';
import { Hold } from './hold.js';
import { Intake } from './intake.js';
import { alertContent } from './lines.js';
import { defaultLog, type Log } from './log.js';
import { startRelayServer, type ListenerTls, type RelayServer } from './server.js';
import { Store } from './store.js';
import type { AmAlert } from './webhook.js';

export class Relay {
  private readonly store: Store;
  private readonly delivery: Delivery;
  private readonly intake: Intake;
  private readonly secrets: string[];
  private server?: RelayServer;
  private readonly heartbeat?: Heartbeat;
  private readonly hold?: Hold;
  private sweep: NodeJS.Timeout | undefined;

  constructor(readonly cfg: RelayConfig, private readonly token: string, private readonly log: Log = defaultLog) {
    this.store = new Store(cfg.state_dir, cfg.dedupe_retention);
    this.secrets = secretsOf(cfg, token);
    this.delivery = new Delivery(cfg, this.store, this.secrets, log);
    if (cfg.hold_resolved.enabled) this.hold = new Hold(cfg.state_dir, cfg.hold_resolved, log);
    this.intake = new Intake({
      hold: this.hold,
      store: this.store,
      targets: this.delivery.targets,
      content: alertContent(cfg, this.secrets, log),
      queued: (job) => this.delivery.add(job),
      log,
    });
    if (cfg.heartbeat) this.heartbeat = new Heartbeat(cfg.heartbeat, this.secrets, log);
  }

  /** Replays the queue and starts listening; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    this.delivery.start(this.store.open());
    this.hold?.open();
    this.server = await startRelayServer({
      host: this.cfg.listen.host,
      port: this.cfg.listen.port,
      token: this.token,
      secrets: this.secrets,
      log: this.log,
      hasTarget: (name) => this.delivery.hasTarget(name),
      health: () => ({ queued: this.store.pending, ...(this.hold ? { held: this.hold.held } : {}) }),
      receive: (raw, only) => this.intake.receive(raw, only),
      ...(this.heartbeat ? { heartbeat: (raw: string) => this.watchdog(raw) } : {}),
      ...(this.cfg.listen_tls ? { tls: this.listenerTls(this.cfg.listen_tls), tlsClientError: (e: Error, peer: string, certError?: string) => this.refused(e, peer, certError) } : {}),
    });
    this.heartbeat?.start();
    // An AgentSilent whose resolution never came: checked every minute (silent_max_age is hours).
    if (this.hold) this.sweep = setInterval(() => void this.intake.release().catch((e: unknown) => this.log('ERROR', `releasing held resolutions: ${String(e)}`)), 60_000);
    return { host: this.server.host, port: this.server.port };
  }

  /** Stops delivery first (nothing is posted after this), then the listener. */
  async stop(): Promise<void> {
    clearInterval(this.sweep);
    await this.heartbeat?.stop();
    const delivered = this.delivery.stop();
    await this.server?.close();
    await delivered;
  }

  /** The listener's files, read at start; a key others may read, or a certificate near its end, is an ERROR. */
  private listenerTls(l: NonNullable<RelayConfig['listen_tls']>): ListenerTls {
    const loaded = loadTls({ ...l, ca_file: l.client_ca_file, insecure_skip_verify: false, use_system_ca: false });
    for (const n of tlsNotices(loaded)) this.log('ERROR', n);
    const o = loaded.options;
    return { cert: o.cert, key: o.key, minVersion: o.minVersion, ...(l.client_ca_file ? { clientCa: o.ca } : {}) };
  }

  /** A client's handshake failed: Alertmanager's notifications cannot arrive, so it is an ERROR, in words. */
  private refused(e: Error, peer: string, certError?: string): void {
    // A client certificate that does not verify: Node closes the connection, and only the socket knows why.
    const cause = certError ? Object.assign(new Error(certError), { code: certError }) : e;
    const why = describeTlsFailure(cause, { peer: 'Alertmanager', hasClientCert: true, side: 'server' }) ?? `TLS handshake failed: ${(e as { code?: string }).code ?? e.message}`;
    this.log('ERROR', `connection from ${peer} refused: ${why}`);
  }

  /** POST /heartbeat: a firing Watchdog keeps the dead-man-switch pings going; never reaches chat. */
  private watchdog(raw: string): { code: number; body: unknown } {
    if (!hasFiringWatchdog(raw)) return { code: 400, body: { error: 'expected an Alertmanager webhook with a firing Watchdog alert' } };
    this.heartbeat!.watchdog();
    return { code: 200, body: { status: 'ok' } };
  }

  get queued(): number {
    return this.store.pending;
  }

  accept(alerts: AmAlert[], only?: string): Promise<{ queued: number; duplicates: number }> {
    return this.intake.accept(alerts, only);
  }
}
