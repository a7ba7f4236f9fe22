/**
 * Loki's JSON push (/loki/api/v1/push), for the rule tester and tests: small, exact batches.
 * The agent's own shipping goes through outputs/ (protobuf, spool, retries).
 */
import { z } from 'zod';
import { callLoki, type LokiTarget } from './http.js';

export interface PushStream {
  readonly labels: Readonly<Record<string, string>>;
  /** [nanosecond timestamp as a decimal string, line, structured metadata?] in ascending time order. */
  readonly values: readonly (readonly [string, string] | readonly [string, string, Readonly<Record<string, string>>])[];
}

/** Loki answers 204 with no body. */
const emptyAnswer = z.unknown();

export async function push(t: LokiTarget, streams: readonly PushStream[]): Promise<void> {
  await callLoki(t, '/loki/api/v1/push', emptyAnswer, { body: JSON.stringify({ streams: streams.map((s) => ({ stream: s.labels, values: s.values })) }) });
}
