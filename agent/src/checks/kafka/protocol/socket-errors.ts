/** Socket and TLS failures in words fit for a check line. */

/**
 * A TLS alert the broker sent, in words, with a hint for the client-certificate alerts of
 * mutual TLS; undefined for any other error (e.g. the broker's certificate not trusted here).
 * OpenSSL's own message names its source file and line, which is no use in a check line.
 */
export function describeTlsAlert(e: unknown, hasClientCert: boolean): string | undefined {
  const err = e as { code?: unknown; reason?: unknown };
  if (typeof err.code !== 'string' || !err.code.startsWith('ERR_SSL_') || typeof err.reason !== 'string') return undefined;
  // OpenSSL 3.0 (Node 20) says "sslv3 alert bad certificate"; OpenSSL 3.5 (Node 24) "ssl/tls alert bad certificate".
  const alert = err.reason.replace(/^(sslv3|tlsv1|tlsv13|ssl\/tls) alert /, '');
  if (alert === 'bad certificate' || alert === 'certificate required') {
    return `TLS handshake failed: the broker refused the client certificate (alert: ${alert}${hasClientCert ? '' : '; tls.cert and tls.key are not set'})`;
  }
  if (alert === 'certificate unknown' || alert === 'unknown ca') return `TLS handshake failed: the broker does not trust the client certificate (alert: ${alert})`;
  return `TLS handshake failed: ${alert}`;
}

/** `ECONNREFUSED`, `EHOSTUNREACH`, or the message (the address is already named by the caller). */
export function describeNetError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code && err.syscall) return err.code;
  if (e instanceof AggregateError && e.errors.length) return describeNetError(e.errors[0]);
  return err.message || String(e);
}

/** TLS record content types: change_cipher_spec, alert, handshake, application_data (RFC 8446 5.1). */
const TLS_CONTENT_TYPES = new Set([0x14, 0x15, 0x16, 0x17]);
/** The major version byte of every TLS record (SSL 3.0 to TLS 1.3 all write 3). */
const TLS_MAJOR = 3;

/** Bytes that start a TLS record: what a TLS listener sends to a client that speaks plaintext. */
export function isTlsRecord(b: Buffer): boolean {
  return b.length >= 2 && TLS_CONTENT_TYPES.has(b[0]!) && b[1] === TLS_MAJOR;
}

export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'aborted');
}
