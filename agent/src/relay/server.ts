/**
 * The relay's HTTP side: the listener, the routes, the bearer check and the body limit.
 *
 *   POST /alertmanager           deliver to every target
 *   POST /alertmanager/<target>  deliver to that target only (one Alertmanager receiver per target)
 *   POST /heartbeat              the Watchdog (heartbeat.ts); 404 without a heartbeat config
 *   GET  /healthz                200 {"queued": n}
 *
 * What a webhook body means is the intake's business (intake.ts). With `tls` it listens on
 * HTTPS, and with a client CA it refuses any client (Alertmanager) without a certificate
 * that CA signed, at the handshake, before a route or the bearer token is looked at.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { reasonOf } from '../core/redact.js';
import type { Log } from './log.js';

/** Alertmanager batches alerts per group; 10 MB holds thousands of them and bounds a bad client. */
const MAX_BODY = 10 * 1024 * 1024;

/** How long stop() lets in-flight requests finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

export interface Answer {
  readonly code: number;
  readonly body: unknown;
}

export interface RelayServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly secrets: readonly string[];
  readonly log: Log;
  hasTarget(name: string): boolean;
  health(): Record<string, unknown>;
  /** Handles an authorized webhook body; `only` is the target named in the path. */
  receive(raw: string, only: string | undefined): Promise<Answer>;
  /** Handles an authorized POST /heartbeat body; absent when no heartbeat is configured. */
  heartbeat?: (raw: string) => Answer;
  /** HTTPS instead of HTTP. */
  readonly tls?: ListenerTls;
  /**
   * A client's handshake failed (no certificate, an old protocol, our certificate refused…);
   * `peer` is host:port, or "a client" when Node closed the socket before we heard (a bad certificate).
   * `clientCertError`: the verification error of the certificate it showed (e.g.
   * UNABLE_TO_VERIFY_LEAF_SIGNATURE); Node then closes the connection with no alert and `err`
   * is only "socket hang up".
   */
  tlsClientError?: (err: Error, peer: string, clientCertError?: string) => void;
}

/** The listener's certificate, and the CA whose client certificates it requires (if any). */
export interface ListenerTls extends Pick<SecureContextOptions, 'cert' | 'key' | 'minVersion'> {
  /** Client CA: when set, a client must present a certificate it signed. */
  readonly clientCa?: SecureContextOptions['ca'];
}

/** Constant-time bearer check: compares digests, so neither content nor length leaks. */
export function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256').update(m?.[1]?.trim() ?? '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

export interface RelayServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts listening; resolves with the bound address. */
export async function startRelayServer(o: RelayServerOptions): Promise<RelayServer> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(o, req, res);
  const t = o.tls;
  const server: Server = t
    ? createHttpsServer({ cert: t.cert, key: t.key, minVersion: t.minVersion, ...(t.clientCa ? { ca: t.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, onRequest)
    : createServer(onRequest);
  if (t) {
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      // Node's typing says Error; at run time it is the code (a string), or null when there was none.
      const certError: unknown = socket.authorizationError;
      // A client certificate that does not verify: Node has closed the socket, and its address with it.
      const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a client';
      o.tlsClientError?.(err, peer, typeof certError === 'string' ? certError : undefined);
    });
  }
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port, o.host, () => res());
  });
  const addr = server.address();
  return {
    host: o.host,
    port: typeof addr === 'object' && addr ? addr.port : o.port,
    async close() {
      const closed = new Promise<void>((res) => server.close(() => res()));
      server.closeIdleConnections();
      await Promise.race([closed, new Promise((r) => setTimeout(r, CLOSE_GRACE_MS))]);
      server.closeAllConnections();
    },
  };
}

async function handle(o: RelayServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://relay');
  const reply = (code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method === 'GET' && url.pathname === '/healthz') return reply(200, { status: 'ok', ...o.health() });
    const hb = url.pathname === '/heartbeat' && o.heartbeat;
    const m = /^\/alertmanager(?:\/([A-Za-z0-9_.-]+))?\/?$/.exec(url.pathname);
    if (!m && !hb) return reply(404, { error: 'not found' });
    if (req.method !== 'POST') return reply(405, { error: 'POST only' });
    if (!bearerOk(req.headers.authorization, o.token)) {
      res.setHeader('www-authenticate', 'Bearer realm="imom-relay"');
      req.resume();
      return reply(401, { error: 'missing or wrong bearer token' });
    }
    if (hb) {
      const raw = await readBody(req);
      if (raw === undefined) return reply(413, { error: `body over ${MAX_BODY} bytes` });
      const answer = hb(raw);
      return reply(answer.code, answer.body);
    }
    const only = m![1];
    if (only && !o.hasTarget(only)) return reply(404, { error: `no target named "${only}"` });
    const raw = await readBody(req);
    if (raw === undefined) return reply(413, { error: `body over ${MAX_BODY} bytes` });
    const answer = await o.receive(raw, only);
    return reply(answer.code, answer.body);
  } catch (e) {
    o.log('ERROR', `webhook failed: ${reasonOf(e, o.secrets)}`);
    if (!res.headersSent) reply(500, { error: 'could not queue the notifications; retry' });
  }
}

/** The body as UTF-8, or undefined once it grows past MAX_BODY. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
