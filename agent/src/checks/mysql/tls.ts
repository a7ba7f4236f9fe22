/**
 * How one server's connection does TLS, from the instance's `tls` block (mode as --ssl-mode)
 * and the files the shared loader read (core/tls). Pure: check.ts connects.
 */
import type { SslOptions } from 'mysql2';
import type { LoadedTls } from '../../core/tls/index.js';
import type { MysqlTlsMode } from './schema.js';

/** What mysql2 takes as `ssl` (its own verifyIdentity stays off: it checks the wrong name for an IP, see below). */
export type Mysql2Ssl = SslOptions & { rejectUnauthorized: boolean; verifyIdentity: false };

/** Node's PEM inputs as mysql2's typings take them (a string, a Buffer, or a list of one kind). */
type Pem = string | Buffer | (string | Buffer)[];
// Never toString() a Buffer here: loadTls's bytes print as [redacted] by design.
const pem = (v: Pem): string | Buffer | string[] | Buffer[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)) : v);

export interface ServerTls {
  readonly mode: MysqlTlsMode;
  readonly ssl: Mysql2Ssl;
  /** The name sent as SNI and given to mysql2 as its host (mysql2 sends SNI only for a name, never an IP). */
  readonly host: string;
  /**
   * The name the certificate must carry (verify_identity), or undefined. mysql2 leaves it to
   * Node, which with a socket handed in checks 'localhost' when the host is an IP; so the check
   * runs tls.checkServerIdentity itself, before the password is sent.
   */
  readonly identity: string | undefined;
  /** preferred: a server without TLS is spoken to in plaintext. */
  readonly fallBackToPlaintext: boolean;
  readonly loaded: LoadedTls;
}

export function serverTls(mode: MysqlTlsMode, loaded: LoadedTls, host: string): ServerTls | undefined {
  if (mode === 'disabled') return undefined;
  const o = loaded.options;
  const verify = (mode === 'verify_ca' || mode === 'verify_identity') && o.rejectUnauthorized !== false;
  const name = o.servername ?? host;
  return {
    mode,
    ssl: {
      ...(o.ca !== undefined ? { ca: pem(o.ca) } : {}),
      ...(o.cert !== undefined ? { cert: pem(o.cert) } : {}),
      // A key as loadTls reads it: PEM text or bytes (never a KeyObject).
      ...(o.key !== undefined ? { key: pem(o.key as Pem) } : {}),
      ...(o.minVersion !== undefined ? { minVersion: o.minVersion } : {}),
      ...(o.maxVersion !== undefined ? { maxVersion: o.maxVersion } : {}),
      rejectUnauthorized: verify,
      verifyIdentity: false,
    },
    host: name,
    identity: verify && mode === 'verify_identity' ? name : undefined,
    fallBackToPlaintext: mode === 'preferred',
    loaded,
  };
}
