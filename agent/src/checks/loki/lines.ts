/**
 * The loki check's lines from one member's snapshot (check.ts reads it): pure, no I/O, so that
 * every line of README.md is built from plain data in the tests too.
 */
import type { Field, Status } from '../../core/result.js';
import type { Sample } from './exposition.js';

/** One line before it gets its check, instance, target and time. */
export type Line = { readonly status: Status; readonly message: string } | { readonly status: Status; readonly fields: readonly Field[] };

/** One entry of the ingester ring, as /ring's JSON gives it. */
export interface RingEntry {
  readonly id: string;
  /** ACTIVE, JOINING, PENDING, LEAVING, LEFT, or UNHEALTHY (no heartbeat within the ring's heartbeat_timeout, 1m by default). */
  readonly state: string;
  readonly address: string;
  /** Seconds since its last heartbeat, by the member's clock (`now` minus `timestamp`). */
  readonly heartbeatAgeS: number | undefined;
}

/** The counters the check compares from one cycle to the next, summed over their series. */
export interface Counters {
  /** process_start_time_seconds: a new value means a new process, whose counters started again at 0. */
  readonly startTime?: number | undefined;
  readonly flushFailures: number;
  /** By operation (`S3.PutObject`, `upload`): requests the object store failed. */
  readonly storeErrors: Readonly<Record<string, number>>;
  /** By `tenant: file;group`. */
  readonly ruleFailures: Readonly<Record<string, number>>;
  /** By Alertmanager URL. */
  readonly notifyErrors: Readonly<Record<string, number>>;
  readonly notifyDropped: Readonly<Record<string, number>>;
}

/** What /metrics holds for the lines: the counters, and the version for the OK line. */
export interface MetricsView {
  readonly version: string | undefined;
  readonly counters: Counters;
}

export interface MemberSnapshot {
  /** host:port of the member, as the lines name it. */
  readonly member: string;
  /** /ready: 200 with `ready`, or 503 with the reason (`Ingester not ready: ...`). */
  readonly ready: { readonly status: number; readonly text: string };
  /** The ring, when this member reports it this cycle; a string says why it could not be read. */
  readonly ring?: readonly RingEntry[] | string;
  /** /metrics, or why it could not be read. */
  readonly metrics: MetricsView | string;
}

/** The metrics check.ts asks the exposition reader for. */
export const METRIC_NAMES = new Set([
  'loki_build_info',
  'process_start_time_seconds',
  // Ingester: a chunk the store refused (pkg/ingester/flush.go flushChunk), retried with backoff.
  'loki_ingester_chunks_flush_failures_total',
  // Object store: with use_thanos_objstore every backend; else the S3 client's own histogram.
  'loki_objstore_bucket_operation_failures_total',
  'loki_s3_request_duration_seconds_count',
  // Ruler (pkg/ruler/base/manager_metrics.go; the notifier's, prefixed loki_ per tenant).
  'loki_prometheus_rule_evaluation_failures_total',
  'loki_prometheus_notifications_errors_total',
  'loki_prometheus_notifications_dropped_total',
]);

function sumBy(samples: readonly Sample[] | undefined, key: (s: Sample) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples ?? []) {
    const k = key(s);
    if (k === undefined || !Number.isFinite(s.value)) continue;
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

/** `/rules/fake/imom.yaml;imom-checks` → `imom.yaml;imom-checks`: the rules folder says nothing the tenant does not. */
function ruleGroupName(group: string | undefined): string {
  if (!group) return '(all groups)';
  const semi = group.lastIndexOf(';');
  const file = semi >= 0 ? group.slice(0, semi) : group;
  return `${file.slice(file.lastIndexOf('/') + 1)}${semi >= 0 ? group.slice(semi) : ''}`;
}

/** The lines' view of a /metrics page. */
export function metricsView(samples: ReadonlyMap<string, readonly Sample[]>): MetricsView {
  const one = (name: string) => samples.get(name)?.[0]?.value;
  return {
    version: samples.get('loki_build_info')?.[0]?.labels.version,
    counters: {
      startTime: one('process_start_time_seconds'),
      flushFailures: Object.values(sumBy(samples.get('loki_ingester_chunks_flush_failures_total'), () => '')).reduce((a, b) => a + b, 0),
      storeErrors: {
        ...sumBy(samples.get('loki_objstore_bucket_operation_failures_total'), (s) => s.labels.operation ?? 'operation'),
        // dskit's instrument.ErrorCode: "200" for success, "500" for any error (a 403 too).
        ...sumBy(samples.get('loki_s3_request_duration_seconds_count'), (s) => (/^2\d\d$/.test(s.labels.status_code ?? '') ? undefined : s.labels.operation ?? 'S3')),
      },
      ruleFailures: sumBy(samples.get('loki_prometheus_rule_evaluation_failures_total'), (s) => `${s.labels.user ?? 'tenant'}: ${ruleGroupName(s.labels.rule_group)}`),
      notifyErrors: sumBy(samples.get('loki_prometheus_notifications_errors_total'), (s) => s.labels.alertmanager ?? 'Alertmanager'),
      notifyDropped: sumBy(samples.get('loki_prometheus_notifications_dropped_total'), (s) => s.labels.alertmanager ?? 'Alertmanager'),
    },
  };
}

/**
 * Increase of each key since `before`; a key absent before started at 0 (a rule group loaded
 * since). A smaller value is a reset (Prometheus's rule): its increase is the value itself.
 */
function increases(now: Readonly<Record<string, number>>, before: Readonly<Record<string, number>> | undefined): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(now).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const was = before?.[k] ?? 0;
    const inc = v >= was ? v - was : v;
    if (inc > 0) out.push([k, inc]);
  }
  return out;
}

const total = (list: readonly [string, number][]) => list.reduce((n, [, v]) => n + v, 0);
const detail = (list: readonly [string, number][]) => list.map(([k, v]) => `${k} ${v}`).join(', ');

/**
 * The member's lines: its state first, then one line per counter that grew since the last cycle.
 * The state is the OK line, or the lines saying what is wrong, worst last (what could not be read,
 * then not ready), as the rules take a member's last state line. No counter line on the first
 * cycle (no `before`) nor after a restart: the totals since Loki started are not news.
 */
export function memberLines(s: MemberSnapshot, before: Counters | undefined): Line[] {
  const who = `Loki member ${s.member}`;
  const out: Line[] = [];
  const readyText = s.ready.text.trim().replace(/\s+/g, ' ');
  const ready = s.ready.status === 200;
  if (typeof s.metrics === 'string') out.push({ status: 'ERROR', message: `${who} did not give its metrics (${s.metrics})` });
  if (typeof s.ring === 'string') out.push({ status: 'ERROR', message: `${who} did not give the ring (${s.ring})` });
  if (!ready) out.push({ status: 'CRITICAL', message: `${who} is not ready (HTTP ${s.ready.status}${readyText ? `: ${readyText}` : ''})` });
  if (typeof s.metrics === 'string') return out;
  if (out.length === 0) {
    const fields: Field[] = [['Loki', s.member], ['Ready', readyText || 'ready'], ['Version', s.metrics.version ?? null]];
    if (s.ring !== undefined && typeof s.ring !== 'string') fields.push(['Ring_Members', s.ring.length], ['Ring_Active', s.ring.filter((e) => e.state === 'ACTIVE').length]);
    out.push({ status: 'OK', fields });
  }
  if (!before) return out;
  const now = s.metrics.counters;
  // A new process (another process_start_time_seconds) is a new baseline, like the first cycle:
  // Loki 3.7.8 with use_thanos_objstore fails one object store `get` at every start (an object
  // not there yet), which is no news either.
  if (!before || (now.startTime !== undefined && before.startTime !== undefined && now.startTime !== before.startTime)) return out;
  const flush = increases({ flush: now.flushFailures }, { flush: before.flushFailures });
  if (flush.length) {
    out.push({ status: 'ERROR', message: `${who} had ${total(flush)} chunk flush failure(s) since the last check (loki_ingester_chunks_flush_failures_total): the store refused chunks, which stay in memory and the WAL` });
  }
  const store = increases(now.storeErrors, before.storeErrors);
  if (store.length) out.push({ status: 'ERROR', message: `${who} had ${total(store)} object store request error(s) since the last check (${detail(store)})` });
  const rules = increases(now.ruleFailures, before.ruleFailures);
  if (rules.length) out.push({ status: 'ERROR', message: `${who} had ${total(rules)} rule evaluation failure(s) since the last check (${detail(rules)})` });
  const errors = increases(now.notifyErrors, before.notifyErrors);
  const dropped = increases(now.notifyDropped, before.notifyDropped);
  if (errors.length || dropped.length) {
    // ERROR like the others, so it reaches syslog too: the path that still works when alerts do not.
    const where = [...new Set([...errors, ...dropped].map(([k]) => k))].join(', ');
    out.push({ status: 'ERROR', message: `${who} had ${total(errors)} alert notification error(s) and ${total(dropped)} dropped since the last check (${where})` });
  }
  return out;
}

/**
 * One line per ring entry, by id: OK when ACTIVE; CRITICAL when UNHEALTHY (no heartbeat: the
 * member is gone or cut off); ERROR for JOINING, PENDING, LEAVING and LEFT, which a restart
 * passes through for a few seconds (the rules page on the second such line). An empty ring has
 * no line: a ready member with an ingester is in it, and ring: false is for members without one.
 */
export function ringLines(reporter: string, ring: readonly RingEntry[]): Line[] {
  return [...ring].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((e): Line => {
    if (e.state === 'ACTIVE') return { status: 'OK', fields: [['Ring_Member', e.id], ['State', e.state], ['Address', e.address]] };
    const heartbeat = e.heartbeatAgeS !== undefined ? `, last heartbeat ${Math.round(e.heartbeatAgeS)}s ago` : '';
    return {
      status: e.state === 'UNHEALTHY' ? 'CRITICAL' : 'ERROR',
      message: `Ring member ${e.id} (${e.address}) is ${e.state} in the ingester ring${heartbeat}, seen from ${reporter}`,
    };
  });
}
