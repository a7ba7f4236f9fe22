/**
 * The two ways a batch reaches Loki. A sender never throws: it classifies the outcome.
 *   ok         2xx
 *   retry      network error, timeout, 408/425/429/5xx, and 401/403/404 (a credentials or
 *              route problem: the lines are fine, so they stay spooled until it is fixed)
 *   reject     any other 4xx: the batch itself will never be accepted → dead letter
 *
 * The senders live in their own modules (http-sender.ts, grpc-sender.ts), loaded on first use,
 * so a transport loads only its own client (grpc-js is ~6 MB of heap).
 */

export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'reject'; reason: string; status: number };

export interface Sender {
  /** `body` is an encoded logproto.PushRequest (uncompressed). */
  send(body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
}

export interface AuthConfig {
  tenant?: string | undefined;
  basic_auth?: { username: string; password: string } | undefined;
  bearer_token?: string | undefined;
}

export function authHeader(a: AuthConfig): string | undefined {
  if (a.basic_auth) return `Basic ${Buffer.from(`${a.basic_auth.username}:${a.basic_auth.password}`).toString('base64')}`;
  if (a.bearer_token) return `Bearer ${a.bearer_token}`;
  return undefined;
}

const RETRY_STATUS = new Set([401, 403, 404, 408, 425, 429]);

export function classifyStatus(status: number, body: string, retryAfterMs?: number): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const reason = `HTTP ${status}${body ? `: ${body.trim().slice(0, 500)}` : ''}`;
  if (status >= 500 || RETRY_STATUS.has(status) || status < 200) return { kind: 'retry', reason, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  return { kind: 'reject', reason, status };
}

export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

export function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const parts = [err?.name === 'TimeoutError' ? 'timeout' : err?.code ?? err?.name, err?.message, err?.cause?.code, err?.cause?.message].filter(Boolean);
  return [...new Set(parts)].join(': ') || String(e);
}

/** The sender for a transport's config, loading only the client it needs. */
export async function createSender(transport: 'http' | 'grpc', url: string, auth: AuthConfig, userAgent: string): Promise<Sender> {
  const { PerStreamSender } = await import('./per-stream.js');
  if (transport === 'grpc') return new PerStreamSender(new (await import('./grpc-sender.js')).GrpcSender(url, auth, userAgent));
  return new PerStreamSender(new (await import('./http-sender.js')).HttpSender(url, auth, userAgent));
}
