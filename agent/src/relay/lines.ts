/** What a notification shows besides the alert itself: the narrowed LogQL, its lines from Loki and the Explore link. */
import { authorizationHeader } from '../core/http-retry.js';
import { reasonOf } from '../core/redact.js';
import { loadTls } from '../core/tls/index.js';
import { queryRange, type LokiTarget } from '../loki-client/index.js';
import type { RelayConfig } from './config.js';
import { exploreUrl } from './explore.js';
import type { Log } from './log.js';
import { narrowingLabels, narrowLogql } from './logql.js';
import type { Notification, NotificationLine } from './notification.js';
import type { AmAlert } from './webhook.js';

export type AlertContent = Pick<Notification, 'lines' | 'linesError' | 'logql' | 'exploreUrl'>;

/** Lines after the alert's end (or now) still shown: a minute covers the ruler's evaluation lag and clock skew. */
const AFTER_MS = 60_000;

/** Called once per relay start: the TLS files are read here, not per query. */
export function lokiTarget(l: RelayConfig['loki']): LokiTarget {
  const authorization = authorizationHeader(l);
  return { url: l.url, tenant: l.tenant, headers: authorization ? { authorization } : {}, timeoutMs: l.timeout, tls: l.tls ? loadTls(l.tls).options : undefined };
}

/** Returns the function that finds an alert's content (Loki is queried for firing alerts only). */
export function alertContent(cfg: RelayConfig, secrets: readonly string[], log: Log): (a: AmAlert) => Promise<AlertContent> {
  const loki = lokiTarget(cfg.loki);
  return async (a) => {
    const base = a.annotations.logql;
    if (!base) return { lines: [] };
    const logql = narrowLogql(base, narrowingLabels(a.labels, a.annotations.logql_narrow, cfg.loki.narrow_labels));
    const starts = Date.parse(a.startsAt);
    const now = Date.now();
    const from = (Number.isFinite(starts) ? starts : now) - cfg.loki.lookback;
    const ends = Date.parse(a.endsAt);
    const to = a.status === 'resolved' && Number.isFinite(ends) && ends > from ? ends + AFTER_MS : now + AFTER_MS;
    const out: AlertContent = { lines: [], logql };
    if (cfg.grafana) out.exploreUrl = exploreUrl({ grafanaUrl: cfg.grafana.url, datasourceUid: cfg.grafana.datasource_uid, orgId: cfg.grafana.org_id, expr: logql, fromMs: from, toMs: to });
    if (a.status === 'firing') {
      try {
        out.lines = await newestLines(loki, logql, from, now, cfg.loki.lines);
      } catch (e) {
        out.linesError = reasonOf(e, secrets).slice(0, 300);
        log('WARN', `lines for ${a.labels.alertname ?? 'alert'} unavailable: ${out.linesError}`);
      }
    }
    return out;
  };
}

/** The newest `limit` lines of a log query in [startMs, endMs], oldest first. */
async function newestLines(loki: LokiTarget, logql: string, startMs: number, endMs: number, limit: number): Promise<NotificationLine[]> {
  const entries = await queryRange(loki, logql, {
    start: BigInt(Math.floor(startMs)) * 1_000_000n,
    end: BigInt(Math.ceil(endMs)) * 1_000_000n,
    limit,
    direction: 'backward',
  });
  return entries.slice(-limit).map((l) => ({ time: new Date(Number(l.tsNs / 1_000_000n)).toISOString(), line: l.line }));
}
