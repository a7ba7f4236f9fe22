/**
 * The few Loki HTTP API calls iMom's rules tester and relay need: push (JSON), instant
 * query and range query. Every call carries X-Scope-OrgID when a tenant is given.
 */
import { request } from 'undici';

export interface LokiTarget {
  url: string;
  tenant?: string | undefined;
  /** Extra headers, e.g. Authorization. */
  headers?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
}

export interface PushStream {
  labels: Record<string, string>;
  /** [nanosecond timestamp as a decimal string, line] in ascending time order. */
  values: [string, string][];
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface LogLine {
  /** Nanoseconds since the epoch, as Loki returns it. */
  ts: string;
  line: string;
  labels: Record<string, string>;
}

export class LokiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'LokiError';
  }
}

function headers(t: LokiTarget, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...(t.headers ?? {}), ...extra };
  if (t.tenant) h['X-Scope-OrgID'] = t.tenant;
  return h;
}

function base(t: LokiTarget): string {
  return t.url.replace(/\/+$/, '');
}

async function call(t: LokiTarget, method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
  const timeout = t.timeoutMs ?? 30_000;
  const res = await request(`${base(t)}${path}`, {
    method,
    headers: headers(t, body !== undefined ? { 'content-type': 'application/json' } : {}),
    body,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new LokiError(`Loki ${method} ${path.split('?')[0]}: HTTP ${res.statusCode}: ${text.trim().slice(0, 500)}`, res.statusCode);
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LokiError(`Loki ${method} ${path.split('?')[0]}: answer is not JSON`);
  }
}

export async function push(t: LokiTarget, streams: PushStream[]): Promise<void> {
  await call(t, 'POST', '/loki/api/v1/push', JSON.stringify({ streams: streams.map((s) => ({ stream: s.labels, values: s.values })) }));
}

interface VectorAnswer {
  status: string;
  data: { resultType: string; result: { metric?: Record<string, string>; value?: [number, string]; stream?: Record<string, string>; values?: [string, string][] }[] };
}

/** Instant query at `timeMs`; returns the vector (a scalar becomes one sample without labels). */
export async function instantQuery(t: LokiTarget, query: string, timeMs: number): Promise<Sample[]> {
  const ns = `${BigInt(Math.round(timeMs)) * 1_000_000n}`;
  const ans = (await call(t, 'GET', `/loki/api/v1/query?${new URLSearchParams({ query, time: ns, limit: '5000' })}`)) as VectorAnswer;
  const d = ans?.data;
  if (!d) throw new LokiError('Loki query: answer has no data');
  if (d.resultType === 'scalar') {
    const v = (d.result as unknown as [number, string]);
    return [{ labels: {}, value: Number(v[1]) }];
  }
  if (d.resultType !== 'vector') throw new LokiError(`Loki query: expected a metric query (vector), got ${d.resultType}`);
  return d.result.map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
}

/** The newest `limit` log lines of a log query in [startMs, endMs], returned oldest first. */
export async function queryLines(t: LokiTarget, query: string, startMs: number, endMs: number, limit: number): Promise<LogLine[]> {
  const params = new URLSearchParams({
    query,
    start: `${BigInt(Math.floor(startMs)) * 1_000_000n}`,
    end: `${BigInt(Math.ceil(endMs)) * 1_000_000n}`,
    limit: String(limit),
    direction: 'backward',
  });
  const ans = (await call(t, 'GET', `/loki/api/v1/query_range?${params}`)) as VectorAnswer;
  const d = ans?.data;
  if (!d || d.resultType !== 'streams') throw new LokiError(`Loki query_range: expected streams, got ${d?.resultType ?? 'nothing'}`);
  const out: LogLine[] = [];
  for (const s of d.result) for (const [ts, line] of s.values ?? []) out.push({ ts, line, labels: s.stream ?? {} });
  out.sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : BigInt(a.ts) > BigInt(b.ts) ? 1 : 0));
  return out.slice(-limit);
}
