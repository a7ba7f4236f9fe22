/** What one chat message says about one alert; each target's formatter renders it. */
import { fit, printableLines, type FitOptions } from './text.js';
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

/**
 * The lines as one text block, escaped, in at most `max` units (see FitOptions): the newest
 * lines are kept, the older ones give way to a `…(K older lines cut)` line, and a single line
 * still too long keeps its head and a `…(N bytes cut)` marker.
 */
export function linesText(n: Notification, max: number, o: FitOptions = {}): string {
  const escape = o.escape ?? ((s: string) => s);
  const measure = o.measure ?? ((s: string) => s.length);
  const all = n.lines.map((l) => `${l.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ${printableLines(l.line)}`);
  // Every escape works per character, so sizes add up: measure each line once.
  const sizes = all.map((l) => measure(escape(l)) + 1);
  let total = sizes.reduce((a, b) => a + b, 0) - 1;
  let dropped = 0;
  const prefix = () => (dropped ? escape(`…(${dropped} older lines cut)\n`) : '');
  while (dropped < all.length - 1 && total + measure(prefix()) > max) total -= sizes[dropped++]!;
  const kept = all.slice(dropped);
  if (total + measure(prefix()) <= max) return prefix() + kept.map(escape).join(escape('\n'));
  return prefix() + fit(kept[0] ?? '', max - measure(prefix()), o);
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
