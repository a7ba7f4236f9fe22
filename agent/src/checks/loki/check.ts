/**
 * The loki check's I/O: readSnapshot asks one member for /ready, /ring and /metrics; the lines
 * come from lines.ts. One target per configured member.
 */
import { z } from 'zod';
import { Memo } from '../../common/memo.js';
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { httpAccess, HttpGetClient } from '../../core/http-get.js';
import { reasonOf, redact } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import { describeTlsFailure, tlsNotices } from '../../core/tls/index.js';
import { parseSamples } from './exposition.js';
import { memberLines, metricsView, METRIC_NAMES, ringLines, type Counters, type Line, type MemberSnapshot, type RingEntry } from './lines.js';
import type { LokiInstance } from './schema.js';

const CHECK = 'loki';

/** dskit's ring page (ring/ring_http.go) answers JSON when asked: `{"shards":[{id,state,address,timestamp}], "now"}`. */
const ringAnswer = z.object({
  shards: z.array(z.object({ id: z.string(), state: z.string(), address: z.string(), timestamp: z.string().optional() }).loose()).nullable(),
  now: z.string().optional(),
}).loose();

const counts = z.record(z.string(), z.number());
const countersMemo: z.ZodType<Counters> = z.object({
  startTime: z.number().optional(),
  flushFailures: z.number(),
  storeErrors: counts,
  ruleFailures: counts,
  notifyErrors: counts,
  notifyDropped: counts,
});

/** The ring's entries from /ring's JSON; heartbeat ages by the member's own clock. */
export function ringEntries(json: unknown): RingEntry[] {
  const a = ringAnswer.parse(json);
  const now = a.now ? Date.parse(a.now) : NaN;
  return (a.shards ?? []).map((s) => {
    const hb = s.timestamp ? Date.parse(s.timestamp) : NaN;
    return { id: s.id, state: s.state, address: s.address, heartbeatAgeS: Number.isFinite(now) && Number.isFinite(hb) ? Math.max(0, (now - hb) / 1000) : undefined };
  });
}

/** Short text of a non-2xx answer for a line. */
function answered(path: string, status: number, body: string): string {
  const text = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return `${path} answered HTTP ${status}${text ? `: ${text}` : ''}`;
}

/**
 * Everything the lines need from one member. /ready failing to connect throws (the member is
 * unreachable); a failing /ring or /metrics is part of the snapshot, since the member answered.
 */
export async function readSnapshot(http: HttpGetClient, member: string, withRing: boolean, ctx: RunContext, secrets: readonly (string | undefined)[]): Promise<MemberSnapshot> {
  const ready = await http.get('/ready', ctx);
  let ring: RingEntry[] | string | undefined;
  if (withRing) {
    try {
      const a = await http.get('/ring', ctx, { accept: 'application/json' });
      ring = a.status === 200 ? ringEntries(JSON.parse(a.body)) : answered('/ring', a.status, a.body);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      ring = reasonOf(e, secrets);
    }
  }
  let metrics: MemberSnapshot['metrics'];
  try {
    // Text format 0.0.4: Loki would answer OpenMetrics or protobuf to an Accept asking for them.
    const a = await http.get('/metrics', ctx, { accept: 'text/plain;version=0.0.4' });
    metrics = a.status === 200 ? metricsView(parseSamples(a.body, METRIC_NAMES)) : answered('/metrics', a.status, a.body);
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    metrics = reasonOf(e, secrets);
  }
  return { member, ready: { status: ready.status, text: ready.body.slice(0, 500) }, ...(ring !== undefined ? { ring } : {}), metrics };
}

export function lokiTargets(inst: LokiInstance, ctx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const { authHeader, secrets, tls } = httpAccess(inst);
  const headers: Record<string, string> = authHeader ? { authorization: authHeader } : {};

  /*
   * Every member serves the same ring, so one member reports it per cycle: the first configured
   * member whose last run found it ready (the same rule as the solr check's cloud mode). When
   * that member goes, the next one takes over on its next run.
   */
  const lastReady = new Map<string, boolean>();
  const reporter = () => inst.url.find((u) => lastReady.get(u.hostPort) !== false)?.hostPort;

  return inst.url.map((url): Target => {
    const member = url.hostPort;
    const http = new HttpGetClient(url.base, `Loki ${member}`, headers, inst.max_reply_bytes, tls);
    const memo = new Memo(ctx.stateDir, `counters-${member}`, countersMemo);
    const notices = () => (tls ? tlsNotices(tls, http.peer ? [http.peer] : []).map((n) => r.message(url.text, 'ERROR', n)) : []);
    const result = (l: Line): CheckResult => ('fields' in l ? r.fields(url.text, l.status, l.fields) : r.message(url.text, l.status, redact(l.message, secrets)));
    const unreachable = (reason: string, time?: Date) => r.message(url.text, 'CRITICAL', `Loki member ${member} is unreachable (${reason})`, time);

    return {
      id: `${CHECK}/${inst.name}/${member}`,
      target: url.text,
      async run(rc): Promise<CheckResult[]> {
        http.socketError = undefined;
        let snap: MemberSnapshot;
        try {
          snap = await readSnapshot(http, member, inst.ring, rc, secrets);
        } catch (e) {
          lastReady.set(member, false);
          const tlsCtx = { peer: 'Loki', hasClientCert: tls?.hasClientCert ?? false };
          const refused = tls && !rc.signal.aborted ? describeTlsFailure(e, tlsCtx) ?? describeTlsFailure(http.socketError, tlsCtx) : undefined;
          if (refused) return [unreachable(refused), ...notices()];
          throw e;
        }
        lastReady.set(member, snap.ready.status === 200);
        const before = await memo.get();
        const lines = memberLines(snap, before);
        if (typeof snap.metrics !== 'string') await memo.set(snap.metrics.counters);
        if (Array.isArray(snap.ring) && reporter() === member) lines.push(...ringLines(member, snap.ring));
        return [...lines.map(result), ...notices()];
      },
      failure(reason, time) {
        lastReady.set(member, false);
        return [unreachable(reasonOf(reason, secrets), time)];
      },
      async close() {
        await http.close();
      },
    };
  });
}
