/**
 * What every HTTP client in iMom retries the same way: the Loki push, the chat relay and the
 * Solr check. One copy of backoff with jitter, Retry-After and the basic-auth header.
 */

export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  readonly minMs: number;
  /** The delay never grows past this, Retry-After included. */
  readonly maxMs: number;
}

/**
 * Exponential backoff with "equal jitter" (half fixed, half random), so a fleet of agents that
 * lost Loki at the same instant does not come back at the same instant. `attempt` counts from 1.
 * A server's Retry-After wins when it asks for longer, but never past `maxMs`.
 */
export function backoffMs(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  const jittered = base / 2 + random() * (base / 2);
  return Math.min(policy.maxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 10.2.3). Telegram puts
 * its wait in the JSON body (`"retry_after": 5`) instead, so a body may be given too.
 */
export function retryAfterMs(header: string | readonly string[] | undefined, body?: string, now = Date.now()): number | undefined {
  const h = (Array.isArray(header) ? header[0] : header) as string | undefined;
  const s = h?.trim();
  if (s) {
    if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return Math.max(0, t - now);
  }
  const m = body ? /"retry_after"\s*:\s*(\d+)/.exec(body) : null;
  return m ? Number(m[1]) * 1000 : undefined;
}

export interface HttpAuth {
  readonly basic_auth?: { readonly username: string; readonly password: string } | undefined;
  readonly bearer_token?: string | undefined;
}

/** The `Basic …` credential alone: callers also register it as a secret to redact. */
export function basicCredential(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** The Authorization header for a config's `basic_auth` or `bearer_token`, if any. */
export function authorizationHeader(a: HttpAuth): string | undefined {
  if (a.basic_auth) return `Basic ${basicCredential(a.basic_auth.username, a.basic_auth.password)}`;
  if (a.bearer_token) return `Bearer ${a.bearer_token}`;
  return undefined;
}
