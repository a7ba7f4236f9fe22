/**
 * The HTTP GET of the checks that read a server's HTTP API (the Solr and Loki checks): one
 * keep-alive pool per configured server, bodies read with a byte cap (http-body.ts), and for
 * https the certificate the server showed, for the expiry notices of the tls block.
 */
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, request } from 'undici';
import { readCapped } from './http-body.js';
import { authorizationHeader } from './http-retry.js';
import { loadTls, peerCertificate, type LoadedTls, type PeerCertificateSeen, type TlsSettings } from './tls/index.js';

/** What an instance with `username`/`password` and `tls` gives its HTTP clients. */
export interface HttpAccess {
  readonly authHeader: string | undefined;
  /** The password and the encoded credential, for redact(). */
  readonly secrets: readonly (string | undefined)[];
  readonly tls: LoadedTls | undefined;
}

/**
 * Basic auth from `username`/`password`, and the tls block loaded here, when the targets are
 * built (at start and on reload), never per connection.
 */
export function httpAccess(inst: { readonly username?: string | undefined; readonly password?: string | undefined; readonly tls?: TlsSettings | undefined }): HttpAccess {
  const authHeader = inst.username !== undefined && inst.password !== undefined
    ? authorizationHeader({ basic_auth: { username: inst.username, password: inst.password } })
    : undefined;
  return { authHeader, secrets: [inst.password, authHeader?.slice('Basic '.length)], tls: inst.tls ? loadTls(inst.tls) : undefined };
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export class HttpGetClient {
  private readonly agent: Agent;
  /** The certificate the server showed on the newest connection (https only). */
  peer: PeerCertificateSeen | undefined;
  /**
   * The last error a connection's socket had. With TLS 1.3 a server refuses a client
   * certificate after our side of the handshake is done (Jetty does): the alert is an error on
   * the socket, while undici reports the request as `other side closed`.
   */
  socketError: unknown;

  /**
   * `base`: scheme, host, port and path prefix, without a trailing slash. `peerName` names the
   * server in expiry notices (`Solr 10.100.41.69:8983`).
   */
  constructor(
    private readonly base: string,
    private readonly peerName: string,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly maxReplyBytes: number,
    tls: LoadedTls | undefined,
  ) {
    // 2 connections: a check asks one server a few things in a row, never many at once.
    this.agent = new Agent({ keepAliveTimeout: 5_000, connections: 2, connect: tls ? this.watchingConnector(tls) : undefined });
  }

  /** undici's own TLS connector, noting the certificate each new connection shows. */
  private watchingConnector(tls: LoadedTls): buildConnector.connector {
    const connect = buildConnector({ ...tls.options });
    return (opts, callback) => connect(opts, (err, socket) => {
      const seen = socket && !err ? peerCertificate(socket as TLSSocket) : undefined;
      if (seen) this.peer = { of: this.peerName, ...seen };
      socket?.once('error', (e) => (this.socketError = e));
      if (err) callback(err, null);
      else callback(null, socket!);
    });
  }

  /** GET `path` (with its query); any status is an answer, the caller judges it. Throws on no answer or a body over the cap. */
  async get(path: string, ctx: { readonly signal: AbortSignal; readonly timeoutMs: number }, headers: Readonly<Record<string, string>> = {}): Promise<HttpAnswer> {
    const res = await request(`${this.base}${path}`, {
      method: 'GET',
      headers: { ...this.headers, ...headers },
      dispatcher: this.agent,
      signal: ctx.signal,
      headersTimeout: ctx.timeoutMs,
      bodyTimeout: ctx.timeoutMs,
    });
    return { status: res.statusCode, body: await readCapped(res.body, res.headers, this.maxReplyBytes) };
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}
