/**
 * A stand-in for chat services in tests: a local HTTP server that records every request
 * (path, headers, body) and answers with a status the test chooses (200 by default).
 * It can be stopped and started again on the same port, to play a chat outage, and it can
 * answer per message as a real service would (e.g. 400 and the platform's error text for a
 * message over its limits) through an `answer` function. With `tls` (node:tls server options:
 * cert, key, ca with requestCert for mutual TLS, minVersion) it serves HTTPS.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { freePort, waitFor } from './proc.js';

export interface ChatRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  /** What the server answered. */
  status: number;
  at: number;
}

/** A request as the answer function sees it. */
export type ChatMessage = Pick<ChatRequest, 'method' | 'path' | 'headers' | 'body' | 'json'>;

/** What to answer one message; undefined means the status set with setStatus and the usual body. */
export type ChatAnswer = (m: ChatMessage) => { status: number; body: string } | undefined;

export interface ChatServer {
  readonly url: string;
  readonly port: number;
  readonly requests: ChatRequest[];
  /** Requests answered 2xx: the messages that "reached chat". */
  delivered(path?: string): ChatRequest[];
  /** The status to answer from now on (e.g. 503 for an outage that still accepts connections). */
  setStatus(code: number): void;
  /** Answers each message with `answer` from now on (undefined: back to setStatus alone). */
  setAnswer(answer: ChatAnswer | undefined): void;
  waitForDelivered(n: number, timeoutMs: number, path?: string): Promise<ChatRequest[]>;
  /** Closes the listener: connections are refused until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startChat(opts: { port?: number; status?: number; answer?: ChatAnswer; tls?: TlsOptions } = {}): Promise<ChatServer> {
  const port = opts.port ?? (await freePort());
  let status = opts.status ?? 200;
  let answer = opts.answer;
  const requests: ChatRequest[] = [];
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((res, rej) => {
      const handler: RequestListener = (req, resp) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try { json = JSON.parse(body); } catch { json = undefined; }
          const message = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
          const custom = answer?.(message);
          const code = custom?.status ?? status;
          requests.push({ ...message, status: code, at: Date.now() });
          resp.writeHead(code, { 'content-type': 'application/json' });
          resp.end(custom?.body ?? (code >= 200 && code < 300 ? '{"ok":true}' : '{"ok":false,"error":"unavailable"}'));
        });
      };
      const s: Server = opts.tls ? createHttpsServer(opts.tls, handler) : createServer(handler);
      // A refused handshake is the client's to report; the stand-in only keeps running.
      s.on('tlsClientError', () => undefined);
      s.once('error', rej);
      s.listen(port, '127.0.0.1', () => { server = s; res(); });
    });
  await listen();
  const delivered = (path?: string) => requests.filter((r) => r.status >= 200 && r.status < 300 && (!path || r.path.startsWith(path)));
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    delivered,
    setStatus: (c) => { status = c; },
    setAnswer: (a) => { answer = a; },
    waitForDelivered: (n, timeoutMs, path) => waitFor(() => (delivered(path).length >= n ? delivered(path) : undefined), timeoutMs, `${n} chat message(s)${path ? ` on ${path}` : ''}`, 100),
    stop: () => new Promise<void>((res) => { if (!server) return res(); const s = server; server = undefined; s.close(() => res()); s.closeAllConnections(); }),
    start: listen,
  };
}
