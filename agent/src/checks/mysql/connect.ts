/**
 * Opens one mysql2 connection to one server over a guarded socket (guarded-socket.ts), with TLS
 * as the instance's `tls` block says (tls.ts), and turns a failed login into words: a TLS
 * failure as the shared mapper phrases it (core/tls), a plaintext login a TLS-offering server
 * refused with that said.
 *
 * TLS in MySQL's protocol starts after the server's greeting (the client's SSLRequest), inside
 * mysql2: so the check wraps mysql2's startTLS on this connection to (1) put the TLS socket under
 * the guard, (2) keep the TLS error before mysql2 replaces its code with HANDSHAKE_SSL_ERROR,
 * (3) check the host name itself before the password goes out, and (4) keep the server's
 * certificate for its expiry line.
 */
import mysqlCore from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { abortable } from '../../core/abort.js';
import { describeTlsFailure, peerCertificate } from '../../core/tls/index.js';
import { guardedSocket, type GuardedSocket } from './guarded-socket.js';
import type { ServerTls } from './tls.js';

export interface OpenOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly maxReplyBytes: number;
  readonly tls: ServerTls | undefined;
}

export interface Opened {
  readonly conn: Connection;
  readonly socket: GuardedSocket;
  /** The server's certificate, when the connection is TLS. */
  readonly peer: { subject: string; notAfter: Date } | undefined;
}

/** The part of mysql2's core connection this module reaches into (not in its typings). */
interface CoreConnection {
  startTLS(onSecure: (err?: Error) => void): void;
  stream: TLSSocket;
}

const ER_ACCESS_DENIED = 1045;

/** mode preferred met a server whose greeting offers no TLS. */
class NoTlsOffered extends Error {}

export async function openConnection(o: OpenOptions, signal: AbortSignal, timeoutMs: number): Promise<Opened> {
  try {
    return await attempt(o, o.tls, signal, timeoutMs);
  } catch (e) {
    // preferred: a server without TLS is still watched, in plaintext (as --ssl-mode=PREFERRED).
    if (e instanceof NoTlsOffered) return attempt(o, undefined, signal, timeoutMs);
    throw e;
  }
}

async function attempt(o: OpenOptions, tls: ServerTls | undefined, signal: AbortSignal, timeoutMs: number): Promise<Opened> {
  const socket = guardedSocket(o.host, o.port, o.maxReplyBytes);
  const core = mysqlCore.createConnection({
    host: tls?.host ?? o.host, user: o.user, password: o.password, connectTimeout: timeoutMs, stream: () => socket.socket,
    ...(tls ? { ssl: tls.ssl } : {}),
  });
  let tlsFailure: Error | undefined;
  let peer: Opened['peer'];
  if (tls) {
    const c = core as unknown as CoreConnection;
    const startTLS = c.startTLS.bind(c);
    c.startTLS = (onSecure) => {
      startTLS((err) => {
        // A copy goes to mysql2, which overwrites the code of what it is given.
        const fail = (e: Error) => {
          tlsFailure = e;
          onSecure(Object.assign(new Error(e.message), { code: (e as NodeJS.ErrnoException).code }));
        };
        if (err) return fail(err);
        const identityError = tls.identity === undefined ? undefined : checkServerIdentity(tls.identity, c.stream.getPeerCertificate());
        if (identityError) return fail(identityError);
        peer = peerCertificate(c.stream);
        onSecure();
      });
      socket.guard(c.stream);
    };
  }
  // A late error of a connection already given up (a socket closing after a refused handshake)
  // must not reach an emitter with no listener, which would throw out of the event loop.
  core.on('error', () => undefined);
  const drop = () => {
    core.destroy();
    socket.destroy();
  };
  try {
    await abortable(new Promise<void>((resolve, reject) => {
      core.once('connect', () => resolve());
      core.once('error', reject);
    }), signal, drop);
  } catch (e) {
    drop();
    if (tls?.fallBackToPlaintext && (e as { code?: string }).code === 'HANDSHAKE_NO_SSL_SUPPORT') throw new NoTlsOffered();
    throw explain(e, tlsFailure, socket, tls);
  }
  return { conn: core.promise(), socket, peer };
}

/** The reason a line gives for a login that failed. */
function explain(e: unknown, tlsFailure: Error | undefined, socket: GuardedSocket, tls: ServerTls | undefined): unknown {
  const guard = socket.failure();
  if (guard) return guard;
  if (tls) {
    const phrase = describeTlsFailure(tlsFailure ?? e, { peer: 'server', hasClientCert: tls.loaded.hasClientCert });
    if (phrase) return new Error(phrase);
    if ((e as { code?: string }).code === 'HANDSHAKE_NO_SSL_SUPPORT') return new Error(`the server does not offer TLS (tls mode ${tls.mode})`);
    // An account REQUIRE X509 (or REQUIRE SUBJECT/ISSUER) refuses a login without a client certificate as a plain "Access denied".
    if ((e as { errno?: number }).errno === ER_ACCESS_DENIED && !tls.loaded.hasClientCert) {
      return new Error(`${(e as Error).message}, and no client certificate was given (an account REQUIRE X509 needs one: cert_file, key_file)`);
    }
    return e;
  }
  // MariaDB refuses a plaintext login under require_secure_transport=ON, or to an account
  // REQUIRE SSL, as a plain "Access denied" (MySQL says 3159, "Connections using insecure transport
  // are prohibited ..."): say that it went without TLS to a server that offers it.
  if ((e as { errno?: number }).errno === ER_ACCESS_DENIED && socket.serverOffersTls()) {
    return new Error(`${(e as Error).message}, over plaintext to a server that offers TLS (one with require_secure_transport=ON, or an account REQUIRE SSL, refuses that): configure tls`);
  }
  return e;
}
