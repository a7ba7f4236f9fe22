/**
 * The HTTPS side of a chat target or the heartbeat: its `tls:` block read once (when the relay
 * is built from its config), one connection pool with those options, the server's certificate
 * watched on each new connection (one ERROR line when it ends within expiry_warning), and a
 * failed request's TLS reason in core/tls's words.
 */
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { TlsConfig } from '../config/tls.js';
import { httpsTlsFailure } from '../core/tls-handshake.js';
import { certificateExpiry, loadTls, peerCertificate, tlsNotices } from '../core/tls/index.js';
import type { Log } from './log.js';

export interface HttpsClient {
  /** The pool to post through; undefined without a `tls:` block (undici's global one). */
  readonly dispatcher: Dispatcher | undefined;
  /** Why `url` failed with `e` when TLS is why (`TLS handshake failed: …`), else undefined. */
  tlsFailure(url: string, e: unknown): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * `whose` names the peer in the expiry line (`target slack`: `TLS certificate of target slack
 * 127.0.0.1:8443 (CN=…) expires …`), `peer` in a failure (`chat server`: `the chat server
 * requires a client certificate …`). Our own certificate near its end, or a key file others may
 * read, is an ERROR line here, at load.
 */
export function httpsClient(tls: TlsConfig | undefined, whose: string, peer: string, log: Log): HttpsClient {
  if (!tls) {
    return { dispatcher: undefined, tlsFailure: (url, e) => httpsTlsFailure(url, {}, e, { peer, hasClientCert: false }), close: async () => undefined };
  }
  const loaded = loadTls(tls);
  for (const n of tlsNotices(loaded)) log('ERROR', n);
  // One line per certificate, not per post: the same certificate is shown on every new connection.
  const reported = new Set<string>();
  const connect = buildConnector({ ...loaded.options });
  const agent = new Agent({
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        const seen = socket && !err ? peerCertificate(socket as TLSSocket) : undefined;
        if (seen) {
          const key = `${seen.subject}\0${seen.notAfter.getTime()}`;
          const phrase = certificateExpiry({ ...seen, of: `${whose} ${opts.hostname}:${opts.port || 443}` }, Date.now(), loaded.expiryWarningMs);
          if (phrase && !reported.has(key)) log('ERROR', phrase);
          reported.add(key);
        }
        if (err) callback(err, null);
        else callback(null, socket!);
      }),
  });
  return {
    dispatcher: agent,
    tlsFailure: (url, e) => httpsTlsFailure(url, loaded.options, e, { peer, hasClientCert: loaded.hasClientCert }),
    close: () => agent.close().catch(() => undefined),
  };
}
