/**
 * What a sender is: one stateless push of one request. Retries, per-stream requests, halving
 * and dead letters are the transport's (transport.ts, delivery.ts); a sender never throws, it
 * classifies the outcome:
 *   ok         2xx
 *   retry      network error, timeout, 408/425/429/5xx, and 401/403/404 (a credentials or
 *              route problem: the lines are fine, so they stay spooled until it is fixed);
 *              a failed TLS handshake too, with `tls` set and the reason in words
 *   reject     any other 4xx: the request itself will never be accepted → dead letter
 */
import { describeTlsFailure } from '../../core/tls/index.js';

export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number; tls?: true }
  | { kind: 'reject'; reason: string; status: number };

export interface Sender {
  /** `part` is an encoded logproto.PushRequest (uncompressed). */
  send(part: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** Receives the certificate Loki showed on a new TLS connection. */
export type PeerCertificateListener = (cert: { subject: string; notAfter: Date }) => void;

export interface AuthConfig {
  tenant?: string | undefined;
  basic_auth?: { username: string; password: string } | undefined;
  bearer_token?: string | undefined;
}

const RETRY_STATUS = new Set([401, 403, 404, 408, 425, 429]);

export function classifyStatus(status: number, body: string, retryAfterMs?: number): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const reason = `HTTP ${status}${body ? `: ${body.trim().slice(0, 500)}` : ''}`;
  if (status >= 500 || RETRY_STATUS.has(status) || status < 200) return { kind: 'retry', reason, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  return { kind: 'reject', reason, status };
}

/** A failed TLS handshake with Loki as a retry in words (describeTlsFailure), or undefined when `e` is something else. */
export function tlsOutcome(e: unknown, hasClientCert: boolean): SendOutcome | undefined {
  const reason = describeTlsFailure(e, { peer: 'Loki', hasClientCert });
  return reason === undefined ? undefined : { kind: 'retry', reason, tls: true };
}

export function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const parts = [err?.name === 'TimeoutError' ? 'timeout' : err?.code ?? err?.name, err?.message, err?.cause?.code, err?.cause?.message].filter(Boolean);
  return [...new Set(parts)].join(': ') || String(e);
}
