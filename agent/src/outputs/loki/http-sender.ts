/**
 * POST /loki/api/v1/push, protobuf + snappy, as Promtail sends; see sender.ts for the outcome
 * classes. node:http with a keep-alive agent: its parser is built into node, where undici
 * compiles a wasm parser (~20 MB of resident memory) for the one POST this sender makes.
 */
import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { peerCertificate } from '../../core/tls/index.js';
import snappy from 'snappy';
import { authorizationHeader, retryAfterMs } from '../../core/http-retry.js';
import { classifyStatus, describeError, tlsOutcome, type AuthConfig, type PeerCertificateListener, type Sender, type SendOutcome } from './sender.js';

/** How much of an error answer is kept (classifyStatus keeps 500 characters of it). */
const MAX_ANSWER = 4096;

export class HttpSender implements Sender {
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly hasClientCert: boolean;

  /**
   * `tls`: CA, client certificate, servername, minVersion for an https:// URL (loadTls's options).
   * `onPeerCertificate`: Loki's certificate, once per new connection (for the expiry line).
   */
  constructor(url: string, auth: AuthConfig, userAgent: string, tls?: ConnectionOptions, private readonly onPeerCertificate?: PeerCertificateListener) {
    const u = new URL(url);
    if (u.pathname === '' || u.pathname === '/') u.pathname = '/loki/api/v1/push';
    this.url = u;
    const secure = u.protocol === 'https:';
    // Idle connections are closed after 30 s (the agent's socket timeout applies to free sockets).
    const opts = { keepAlive: true, maxSockets: 4, timeout: 30_000, scheduling: 'lifo' as const };
    this.agent = secure ? new https.Agent({ ...tls, ...opts }) : new http.Agent(opts);
    this.request = secure ? https.request : http.request;
    this.hasClientCert = tls?.cert !== undefined;
    this.headers = { 'content-type': 'application/x-protobuf', 'user-agent': userAgent };
    if (auth.tenant) this.headers['x-scope-orgid'] = auth.tenant;
    const h = authorizationHeader(auth);
    if (h) this.headers.authorization = h;
  }

  send(part: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    // copyOutputData: the result is copied into a Node buffer and the native one freed at once.
    // Otherwise each result lives in the addon's mimalloc heap until V8 collects its Buffer, which
    // kept 20-30 MB resident at push rates.
    const compressed = snappy.compressSync(Buffer.from(part.buffer, part.byteOffset, part.byteLength), { copyOutputData: true });
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(o);
      };
      const req = this.request(this.url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': String(compressed.length) } }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < MAX_ANSWER) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on('end', () => finish(classifyStatus(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), retryAfterMs(res.headers['retry-after']))));
        res.on('error', (e) => finish(tlsOutcome(e, this.hasClientCert) ?? { kind: 'retry', reason: describeError(e) }));
        res.on('aborted', () => finish({ kind: 'retry', reason: 'connection closed during the answer' }));
      });
      const timer = setTimeout(() => {
        const e = new Error(`no answer within ${timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      }, timeoutMs);
      const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => finish(tlsOutcome(e, this.hasClientCert) ?? { kind: 'retry', reason: describeError(e) }));
      const seen = this.onPeerCertificate;
      if (seen) {
        req.once('socket', (socket) => {
          // A kept-alive socket has shaken hands already: only a new one says who Loki is.
          if (!(socket as TLSSocket).encrypted || (socket as TLSSocket).getPeerCertificate?.()?.subject) return;
          socket.once('secureConnect', () => {
            const cert = peerCertificate(socket as TLSSocket);
            if (cert) seen(cert);
          });
        });
      }
      if (signal.aborted) onAbort();
      req.end(compressed);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
