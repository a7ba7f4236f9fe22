/**
 * One TLS handshake of our own, to learn why a client library's connection failed when the
 * library keeps only its own words: grpc-js says "No connection established", and undici says
 * "other side closed" when a TLS 1.3 server refuses the client certificate after the client's
 * side of the handshake is done. Only called after a failure, so a healthy client never pays.
 */
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { describeTlsFailure, type TlsFailureContext } from './tls/index.js';

/** 5 s: a handshake on loopback or a LAN takes milliseconds; one slower than this is not the answer. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * The error a handshake with host:port gives with `tls`, or undefined when it is accepted. Under
 * TLS 1.3 a refusal of our certificate is the server's first message after the handshake, so
 * this waits for the first byte (HTTP/2's SETTINGS when accepted) or the alert.
 */
export function handshakeError(host: string, port: number, tls: ConnectionOptions, alpn: readonly string[]): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const name = host.replace(/^\[|\]$/g, '');
    const s = connect({ ...tls, host: name, port, ALPNProtocols: [...alpn], servername: tls.servername ?? (isIP(name) ? undefined : name) });
    const done = (e: Error | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(e);
    };
    const timer = setTimeout(() => done(undefined), HANDSHAKE_TIMEOUT_MS);
    s.once('error', (e) => done(e));
    s.once('data', () => done(undefined));
    s.once('end', () => done(undefined));
    // HTTP/1.1 servers say nothing until asked: ask for nothing in particular.
    if (!alpn.includes('h2')) s.once('secureConnect', () => s.write('HEAD / HTTP/1.1\r\nHost: imom\r\nConnection: close\r\n\r\n'));
  });
}

/**
 * Why an https request (undici) failed, when TLS is why, in describeTlsFailure's words. undici
 * reports a TLS 1.3 server's refusal of our certificate as "other side closed" (UND_ERR_SOCKET),
 * so that error (also as fetch's cause) gets one handshake of our own to find the refusal.
 */
export async function httpsTlsFailure(url: string, tls: ConnectionOptions, e: unknown, ctx: TlsFailureContext): Promise<string | undefined> {
  const direct = describeTlsFailure(e, ctx);
  // fetch wraps undici's error as its cause.
  const code = (x: unknown) => (x as { code?: unknown } | undefined)?.code;
  if (direct || (code(e) !== 'UND_ERR_SOCKET' && code((e as { cause?: unknown }).cause) !== 'UND_ERR_SOCKET')) return direct;
  const u = new URL(url);
  if (u.protocol !== 'https:') return undefined;
  const again = await handshakeError(u.hostname, Number(u.port || 443), tls, ['http/1.1']);
  return again && describeTlsFailure(again, ctx);
}
