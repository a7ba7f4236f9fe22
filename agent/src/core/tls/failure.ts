/**
 * A TLS failure in words for a check line: which side refused and why, never OpenSSL's text
 * (it carries its source file and line: `…:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:`).
 */

export interface TlsFailureContext {
  /** Who is on the other side: 'server', 'broker' (a common noun gets "the"), 'Loki', 'Solr'. */
  peer: string;
  /** Whether we offered a client certificate: an alert without one means "send one". */
  hasClientCert: boolean;
  /** 'server': we are the listener (the relay), so an alert is about our certificate and a missing one is the client's. */
  side?: 'client' | 'server';
}

const PREFIX = 'TLS handshake failed: ';

/** OpenSSL's certificate verification results (X509_V_ERR_*, as node names them) when we refuse the peer's certificate. */
const UNTRUSTED: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by an unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed, by no CA we trust',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not yet valid',
  CERT_REVOKED: 'revoked',
  INVALID_PURPOSE: 'not made for TLS servers (extended key usage)',
  CERT_UNTRUSTED: 'not trusted for this purpose',
  CERT_REJECTED: 'rejected for this purpose',
};

/**
 * TLS alerts (RFC 8446 6.2) the peer sent about the certificate we gave, in words. OpenSSL 3.0
 * (Node 20) writes "sslv3 alert bad certificate", OpenSSL 3.5 (Node 24) "ssl/tls alert …".
 */
const CLIENT_CERT_ALERT: Record<string, string> = {
  'bad certificate': 'bad certificate',
  'unknown ca': 'signed by a CA it does not trust',
  'certificate unknown': 'not trusted',
  'certificate expired': 'expired',
  'certificate revoked': 'revoked',
  'unsupported certificate': 'unsupported certificate',
  'access denied': 'access denied',
};

/** Alerts a server sends when a client that must give a certificate gave none (TLS 1.3: "certificate required"; 1.2 servers: the others). */
const NO_CERT_ALERTS = new Set(['certificate required', 'bad certificate', 'handshake failure']);

/** What a TLS listener says to a client that speaks plaintext, and what a plaintext one makes our handshake say. */
const NOT_TLS_REASONS = new Set(['wrong version number', 'packet length too long', 'record layer failure', 'http request', 'unknown protocol']);
/** Node's message when the socket closes before the handshake ends (code ECONNRESET): only TLS sockets say it. */
const CLOSED_IN_HANDSHAKE = 'Client network socket disconnected before secure TLS connection was established';

interface ErrorLike {
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  host?: unknown;
  cert?: { subjectaltname?: unknown };
  cause?: unknown;
  errors?: unknown;
}

/** The error and everything it wraps (fetch's `cause`, AggregateError's `errors`), outermost first. */
function* chain(e: unknown, depth = 0): Generator<ErrorLike> {
  if (!e || typeof e !== 'object' || depth > 8) return;
  const err = e as ErrorLike;
  yield err;
  if (err.cause !== undefined) yield* chain(err.cause, depth + 1);
  if (Array.isArray(err.errors)) for (const inner of err.errors) yield* chain(inner, depth + 1);
}

const thePeer = (peer: string) => (/^[a-z]/.test(peer) ? `the ${peer}` : peer);

function describeOne(err: ErrorLike, ctx: TlsFailureContext): string | undefined {
  const code = typeof err.code === 'string' ? err.code : '';
  const peer = thePeer(ctx.peer);
  const untrusted = UNTRUSTED[code];
  if (untrusted) return `${PREFIX}the ${ctx.peer} certificate is not trusted: ${untrusted}`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = typeof err.host === 'string' ? err.host : undefined;
    const names = typeof err.cert?.subjectaltname === 'string' && err.cert.subjectaltname ? err.cert.subjectaltname : 'none';
    return `${PREFIX}the ${ctx.peer} certificate is not trusted: host name mismatch (${host ?? 'the host'} is not among its names: ${names})`;
  }
  if (code === 'ECONNRESET' && err.message === CLOSED_IN_HANDSHAKE) {
    return `${PREFIX}${peer} closed the connection during the handshake (not a TLS port?)`;
  }
  // A write that meets the alert (an https request under TLS 1.2 refused for its version) is EPROTO, with OpenSSL's reason only in the message.
  const reason = code.startsWith('ERR_SSL_') && typeof err.reason === 'string' ? err.reason
    : code === 'EPROTO' && typeof err.message === 'string' ? /:SSL routines:[^:]*:([^:]+):/.exec(err.message)?.[1] : undefined;
  if (reason === undefined) return undefined;
  if (NOT_TLS_REASONS.has(reason)) return `${PREFIX}not a TLS port (${peer} answered in plaintext)`;
  if (reason === 'unsupported protocol' || reason === 'no protocols available') {
    return `${PREFIX}${peer} offers no TLS version that min_version allows`;
  }
  const alert = /^(?:sslv3|tlsv1|tlsv13|ssl\/tls) alert (.+)$/.exec(reason)?.[1];
  if (ctx.side === 'server') {
    if (reason === 'peer did not return a certificate') return `${PREFIX}${peer} sent no client certificate (client_ca_file requires one)`;
    if (alert !== undefined && alert !== 'protocol version') return `${PREFIX}${peer} refused our certificate: ${CLIENT_CERT_ALERT[alert] ?? `alert ${alert}`}`;
  }
  if (alert === undefined) return `${PREFIX}${reason}`;
  if (alert === 'protocol version') return `${PREFIX}${peer} refused the protocol version (none of the TLS versions we offer is allowed there)`;
  if (!ctx.hasClientCert && NO_CERT_ALERTS.has(alert)) {
    return `${PREFIX}${peer} requires a client certificate (cert_file and key_file are not set)`;
  }
  const refused = CLIENT_CERT_ALERT[alert];
  if (refused) return `${PREFIX}${peer} refused the client certificate: ${refused}`;
  return `${PREFIX}${peer} refused the handshake (alert: ${alert})`;
}

/**
 * One phrase starting `TLS handshake failed: ` for a TLS failure (ours refusing the peer's
 * certificate, the peer's alert, a plaintext port), found anywhere in what `err` wraps;
 * undefined when it is not a TLS failure.
 */
export function describeTlsFailure(err: unknown, ctx: TlsFailureContext): string | undefined {
  for (const e of chain(err)) {
    const phrase = describeOne(e, ctx);
    if (phrase) return phrase;
  }
  return undefined;
}
