/** What streams and label values exist: /loki/api/v1/series and /loki/api/v1/label/<name>/values. */
import { labelSetsAnswerSchema, namesAnswerSchema } from './answers.js';
import { callLoki, toNs, type LokiTarget, type LokiTime } from './http.js';

export interface TimeWindow {
  readonly start: LokiTime;
  readonly end: LokiTime;
}

export async function series(t: LokiTarget, match: string, w: TimeWindow): Promise<Record<string, string>[]> {
  const ans = await callLoki(t, '/loki/api/v1/series', labelSetsAnswerSchema, { params: { 'match[]': match, start: String(toNs(w.start)), end: String(toNs(w.end)) } });
  return ans.data;
}

export async function labelValues(t: LokiTarget, name: string, w: TimeWindow): Promise<string[]> {
  const ans = await callLoki(t, `/loki/api/v1/label/${encodeURIComponent(name)}/values`, namesAnswerSchema, { params: { start: String(toNs(w.start)), end: String(toNs(w.end)) } });
  return ans.data;
}
