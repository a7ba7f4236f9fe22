/**
 * The one Loki HTTP client of iMom (relay, rule tester, tests): a leaf module, it imports only
 * node built-ins, undici and zod. Every answer is validated before use.
 */
export { LokiError, tlsDispatcher, toNs, type LokiTarget, type LokiTime } from './http.js';
export { instantQuery, queryRange, type LogEntry, type RangeQuery, type Sample } from './query.js';
export { labelValues, series, type TimeWindow } from './labels.js';
export { push, type PushStream } from './push.js';
export { rulerAlerts, type RulerAlert } from './ruler.js';
