/** Log and metric queries: /loki/api/v1/query_range and /loki/api/v1/query. */
import { queryAnswerSchema } from './answers.js';
import { callLoki, LokiError, toNs, type LokiTarget, type LokiTime } from './http.js';

export interface LogEntry {
  /** Nanoseconds since the epoch, as Loki stores it. */
  readonly tsNs: bigint;
  readonly line: string;
  /** Stream labels (with categorizeLabels, the index labels only). */
  readonly labels: Readonly<Record<string, string>>;
  /** Structured metadata of this entry (categorizeLabels only). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Labels a parser in the query (| json, | logfmt) extracted (categorizeLabels only). */
  readonly parsed: Readonly<Record<string, string>>;
}

export interface RangeQuery {
  readonly start: LokiTime;
  readonly end: LokiTime;
  readonly limit: number;
  readonly direction: 'forward' | 'backward';
  /**
   * Ask for stream labels, structured metadata and parsed labels apart
   * (X-Loki-Response-Encoding-Flags: categorize-labels) instead of merged into one label set.
   */
  readonly categorizeLabels?: boolean;
}

const CATEGORIZE = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } as const;

/** One query_range request for a log query; entries oldest first (a stable sort by time, so equal times keep Loki's order). */
export async function queryRange(t: LokiTarget, query: string, q: RangeQuery): Promise<LogEntry[]> {
  const ans = await callLoki(t, '/loki/api/v1/query_range', queryAnswerSchema, {
    params: { query, start: String(toNs(q.start)), end: String(toNs(q.end)), limit: String(q.limit), direction: q.direction },
    headers: q.categorizeLabels ? CATEGORIZE : {},
  });
  const d = ans.data;
  if (d.resultType !== 'streams') throw new LokiError(`Loki query_range: expected streams, got ${d.resultType}`);
  const out: LogEntry[] = [];
  for (const s of d.result) {
    for (const [ts, line, more] of s.values) out.push({ tsNs: BigInt(ts), line, labels: s.stream, metadata: more?.structuredMetadata ?? {}, parsed: more?.parsed ?? {} });
  }
  return out.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
}

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** An instant metric query at `time`, as a vector; a scalar becomes one sample without labels. */
export async function instantQuery(t: LokiTarget, query: string, time: LokiTime, o: { limit?: number } = {}): Promise<Sample[]> {
  const params: Record<string, string> = { query, time: String(toNs(time)) };
  if (o.limit !== undefined) params.limit = String(o.limit);
  const d = (await callLoki(t, '/loki/api/v1/query', queryAnswerSchema, { params })).data;
  if (d.resultType === 'scalar') return [{ labels: {}, value: Number(d.result[1]) }];
  if (d.resultType !== 'vector') throw new LokiError(`Loki query: expected a metric query (vector), got ${d.resultType}`);
  return d.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}
