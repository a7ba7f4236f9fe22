/**
 * The two ways a batch reaches Loki. A sender never throws: it classifies the outcome.
 *   ok         2xx
 *   retry      network error, timeout, 408/425/429/5xx, and 401/403/404 (a credentials or
 *              route problem: the lines are fine, so they stay spooled until it is fixed)
 *   reject     any other 4xx: the batch itself will never be accepted → dead letter
 */
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import snappy from 'snappy';
import { PUSH_METHOD } from './proto.js';

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

function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** POST /loki/api/v1/push, protobuf + snappy, as Promtail sends. */
export class HttpSender implements Sender {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 4 });

  constructor(url: string, auth: AuthConfig, userAgent: string) {
    const u = new URL(url);
    if (u.pathname === '' || u.pathname === '/') u.pathname = '/loki/api/v1/push';
    this.url = u.toString();
    this.headers = { 'content-type': 'application/x-protobuf', 'user-agent': userAgent };
    if (auth.tenant) this.headers['x-scope-orgid'] = auth.tenant;
    const h = authHeader(auth);
    if (h) this.headers.authorization = h;
  }

  async send(body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    const compressed = snappy.compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: this.headers,
        body: compressed,
        dispatcher: this.dispatcher,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      return classifyStatus(res.statusCode, text, parseRetryAfter(res.headers['retry-after']));
    } catch (e) {
      return { kind: 'retry', reason: describeError(e) };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const parts = [err?.name === 'TimeoutError' ? 'timeout' : err?.code ?? err?.name, err?.message, err?.cause?.code, err?.cause?.message].filter(Boolean);
  return [...new Set(parts)].join(': ') || String(e);
}

/** gRPC status codes that mean "the request itself is bad": dead letter. */
const GRPC_REJECT = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE]);

/**
 * logproto.Pusher/Push over gRPC. Loki's handlers return httpgrpc errors whose gRPC status code
 * is the HTTP status (400, 429, 500…); those are classified like HTTP. Plain gRPC codes:
 * INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE → reject; everything else (UNAVAILABLE,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED on a target without a Pusher, …) → retry.
 */
export class GrpcSender implements Sender {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();

  constructor(url: string, auth: AuthConfig, userAgent: string) {
    const u = new URL(url);
    const creds = u.protocol === 'grpcs:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.client = new grpc.Client(`${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port}`, creds, {
      'grpc.primary_user_agent': userAgent,
      'grpc.max_send_message_length': 100 << 20,
      'grpc.keepalive_time_ms': 30_000,
    });
    if (auth.tenant) this.metadata.set('x-scope-orgid', auth.tenant);
    const h = authHeader(auth);
    if (h) this.metadata.set('authorization', h);
  }

  send(body: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    return new Promise((resolve) => {
      const call = this.client.makeUnaryRequest(
        PUSH_METHOD,
        (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        (b: Buffer) => b,
        body,
        this.metadata,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null) => {
          signal.removeEventListener('abort', onAbort);
          if (!err) return resolve({ kind: 'ok' });
          const reason = `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`.slice(0, 600);
          if (err.code >= 100) return resolve(classifyStatus(err.code, err.details || err.message));
          if (GRPC_REJECT.has(err.code)) return resolve({ kind: 'reject', reason, status: err.code });
          resolve({ kind: 'retry', reason, status: err.code });
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
