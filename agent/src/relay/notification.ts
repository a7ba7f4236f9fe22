/** What one chat message says about one alert; each target's formatter renders it. */
import type { AmAlert } from './webhook.js';

export interface NotificationLine {
  /** ISO-8601 time of the line. */
  time: string;
  line: string;
}

export interface Notification {
  /** Dedupe key: sha256 of target, fingerprint, status and startsAt. */
  key: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  summary: string;
  env: string;
  host: string;
  check: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  generatorURL: string;
  /** The alert's logql annotation narrowed by its labels; undefined if it had none. */
  logql?: string | undefined;
  lines: NotificationLine[];
  /** Why there are no lines, when fetching them failed. */
  linesError?: string | undefined;
  exploreUrl?: string | undefined;
}

export function baseNotification(a: AmAlert, key: string): Omit<Notification, 'lines'> {
  const l = a.labels;
  return {
    key,
    status: a.status,
    alertname: l.alertname ?? 'alert',
    severity: l.severity ?? 'unknown',
    summary: a.annotations.summary ?? a.annotations.description ?? l.alertname ?? 'alert',
    env: l.env ?? '',
    host: l.host ?? '',
    check: l.check ?? '',
    labels: l,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    fingerprint: a.fingerprint,
    generatorURL: a.generatorURL,
  };
}

/** "FIRING" / "RESOLVED" and a severity word for titles. */
export function title(n: Notification): string {
  const state = n.status === 'resolved' ? 'RESOLVED' : n.severity.toUpperCase();
  return `[${state}] ${n.summary}`;
}

export function icon(n: Notification): string {
  if (n.status === 'resolved') return '✅';
  return n.severity === 'critical' ? '🔴' : n.severity === 'warning' ? '🟡' : '🟠';
}

/** The lines as one text block, cut to `max` characters from the newest end. */
export function linesText(n: Notification, max: number): string {
  const all = n.lines.map((l) => `${l.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ${l.line}`);
  let text = all.join('\n');
  if (text.length <= max) return text;
  while (all.length > 1 && all.join('\n').length + 20 > max) all.shift();
  text = all.join('\n');
  return text.length + 20 > max ? `${text.slice(0, Math.max(0, max - 20))}… (cut)` : `…(older lines cut)\n${text}`;
}

export function facts(n: Notification): [string, string][] {
  const out: [string, string][] = [
    ['Severity', n.severity],
    ['Host', n.host || '-'],
    ['Check', n.check || '-'],
  ];
  if (n.env) out.push(['Env', n.env]);
  out.push(['Alert', n.alertname]);
  out.push([n.status === 'resolved' ? 'Resolved at' : 'Since', n.status === 'resolved' ? n.endsAt : n.startsAt]);
  return out;
}
