/** Socket failures in words fit for a check line (TLS ones: core/tls describeTlsFailure). */

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
