/** Generic JSON webhook: the notification as snake_case JSON, with the target's extra headers. */
import type { TargetConfig } from '../config.js';
import type { Notification } from '../notification.js';
import { JSON_HEADERS, type OutgoingRequest } from './types.js';

export function formatWebhook(n: Notification, t: Extract<TargetConfig, { type: 'webhook' }>): OutgoingRequest {
  const body = {
    version: 1,
    dedupe_key: n.key,
    status: n.status,
    alertname: n.alertname,
    severity: n.severity,
    summary: n.summary,
    env: n.env,
    host: n.host,
    check: n.check,
    labels: n.labels,
    annotations: n.annotations,
    starts_at: n.startsAt,
    ends_at: n.endsAt,
    fingerprint: n.fingerprint,
    generator_url: n.generatorURL,
    logql: n.logql ?? null,
    lines: n.lines,
    lines_error: n.linesError ?? null,
    explore_url: n.exploreUrl ?? null,
  };
  return { url: t.url, headers: { ...JSON_HEADERS, ...t.headers }, body: JSON.stringify(body) };
}
