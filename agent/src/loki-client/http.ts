/**
 * How every Loki call is made: one base URL, the tenant as X-Scope-OrgID, optional extra
 * headers (Authorization), optional TLS (CA, client certificate, server name), a timeout,
 * and a JSON answer checked against a zod schema.
 */
import type { ConnectionOptions } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { httpsTlsFailure } from '../core/tls-handshake.js';

export interface LokiTarget {
  readonly url: string;
  readonly tenant?: string | undefined;
  /** Extra headers, e.g. Authorization. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Headers and body timeout per call; default 30 s. */
  readonly timeoutMs?: number | undefined;
  /**
   * For an https:// URL: CA, client certificate and key, servername, minVersion (what
   * core/tls's loadTls gives). Absent: Node's default trust and no client certificate.
   */
  readonly tls?: ConnectionOptions | undefined;
}

/**
 * One connection pool per TLS options object: a target's options are loaded once (at start
 * and on reload), so its calls share keep-alive connections instead of a handshake each.
 */
const dispatchers = new WeakMap<ConnectionOptions, Dispatcher>();

export function tlsDispatcher(tls: ConnectionOptions): Dispatcher {
  let d = dispatchers.get(tls);
  if (!d) {
    d = new Agent({ connect: tls });
    dispatchers.set(tls, d);
  }
  return d;
}

export class LokiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'LokiError';
  }
}

/** A time for the API: bigint is nanoseconds since the epoch, number is milliseconds. */
export type LokiTime = Date | number | bigint;

export function toNs(t: LokiTime): bigint {
  if (typeof t === 'bigint') return t;
  return BigInt(typeof t === 'number' ? Math.round(t) : t.getTime()) * 1_000_000n;
}

export interface CallOptions {
  readonly params?: Readonly<Record<string, string>>;
  /** A JSON body; the call is a POST when given. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Calls `path`, throws LokiError unless Loki answers 2xx, and returns the answer validated by `schema`. */
export async function callLoki<S extends z.ZodType>(t: LokiTarget, path: string, schema: S, o: CallOptions = {}): Promise<z.output<S>> {
  const method = o.body === undefined ? 'GET' : 'POST';
  const headers: Record<string, string> = { ...t.headers, ...o.headers };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (t.tenant) headers['X-Scope-OrgID'] = t.tenant;
  const query = o.params ? `?${new URLSearchParams(o.params)}` : '';
  const timeout = t.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `Loki ${method} ${path}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(`${t.url.replace(/\/+$/, '')}${path}${query}`, { method, headers, body: o.body, headersTimeout: timeout, bodyTimeout: timeout, dispatcher: t.tls ? tlsDispatcher(t.tls) : undefined });
  } catch (e) {
    // A refused handshake in words (which side, why), not OpenSSL's text or undici's "other side closed".
    const tls = t.tls && (await httpsTlsFailure(t.url, t.tls, e, { peer: 'Loki', hasClientCert: t.tls.cert !== undefined }));
    if (tls) throw new LokiError(`${what}: ${tls}`);
    throw e;
  }
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new LokiError(`${what}: HTTP ${res.statusCode}: ${text.trim().slice(0, 500)}`, res.statusCode);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new LokiError(`${what}: answer is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LokiError(`${what}: unexpected answer${issue ? ` (${issue.path.join('.') || '(root)'}: ${issue.message})` : ''}`);
  }
  return parsed.data;
}
