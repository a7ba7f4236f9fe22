/** One attempt to post one notification to one chat target, and what its answer means for a retry. */
import { request } from 'undici';
import { retryAfterMs } from '../core/http-retry.js';
import { reasonOf, redact } from '../core/redact.js';
import type { TargetConfig } from './config.js';
import { formatFor, type MessageShape } from './formatters/index.js';
import type { HttpsClient } from './https-client.js';
import type { Notification } from './notification.js';

export type PostResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly permanent: boolean;
      /** The chat refused this message (its size or content), not the request: a smaller message may pass. */
      readonly refused: boolean;
      readonly reason: string;
      readonly retryAfterMs?: number | undefined;
    };

/** Characters of a target's answer kept in a reason: enough for an error message, not a whole HTML page. */
const ANSWER_CHARS = 300;

/**
 * Answers that refuse the message itself: 400 (Slack invalid_blocks, Telegram "message is too
 * long", Google Chat INVALID_ARGUMENT), 413 (Teams "Request Entity too large"), 422. Other 4xx
 * (401, 403, 404, 410) are about the URL or credentials: no other message would pass.
 */
const REFUSES_MESSAGE = new Set([400, 413, 422]);

export async function postNotification(t: TargetConfig, n: Notification, secrets: readonly string[], shape: MessageShape = 'full', client?: HttpsClient): Promise<PostResult> {
  let out;
  try {
    out = formatFor(n, t, shape);
  } catch (e) {
    return { ok: false, permanent: true, refused: true, reason: `cannot format: ${reasonOf(e, secrets)}` };
  }
  try {
    const res = await request(out.url, { method: 'POST', headers: out.headers, body: out.body, headersTimeout: t.timeout, bodyTimeout: t.timeout, dispatcher: client?.dispatcher });
    const text = (await res.body.text()).slice(0, ANSWER_CHARS);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      // Telegram answers 200 with ok:false on some errors; Slack answers "ok".
      if (t.type === 'telegram' && /"ok"\s*:\s*false/.test(text)) return { ok: false, permanent: true, refused: true, reason: `telegram: ${redact(text, secrets)}` };
      return { ok: true };
    }
    const reason = `HTTP ${res.statusCode}: ${redact(text.replace(/\s+/g, ' ').trim(), secrets)}`;
    const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
    return { ok: false, permanent: !retryable, refused: REFUSES_MESSAGE.has(res.statusCode), reason, retryAfterMs: retryAfterMs(res.headers['retry-after'], text) };
  } catch (e) {
    // A refused handshake in words (which side, why), kept for retry: a certificate gets fixed.
    const tls = await client?.tlsFailure(out.url, e);
    return { ok: false, permanent: false, refused: false, reason: tls ?? reasonOf(e, secrets) };
  }
}
