import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { inspect } from 'node:util';
import { getCACertificates, type ConnectionOptions } from 'node:tls';
import { certificateSeen } from './certificate.js';
import { NODE_TLS_VERSION, type TlsSettings } from './settings.js';

export interface OwnCertificate {
  file: string;
  subject: string;
  notAfter: Date;
}

export interface LoadedTls {
  /** ca, cert, key, servername, rejectUnauthorized, minVersion (maxVersion): spread into tls.connect or an https Agent. */
  options: ConnectionOptions;
  hasClientCert: boolean;
  /** Problems that do not stop the connection, each one line (a key file readable by others). */
  warnings: string[];
  /** Our client certificate (cert_file's first), for the expiry line. */
  ownCertificates: OwnCertificate[];
  /** expiry_warning: a certificate ending within this many ms gets an ERROR line (tlsNotices). */
  expiryWarningMs: number;
}

const REDACTED = '[redacted]';

/**
 * The file's bytes, which print as `[redacted]` however they travel (util.inspect, JSON,
 * string conversion): node:tls reads the bytes themselves, so nothing it needs is lost.
 */
function redactedFile(file: string): Buffer {
  const bytes = readFileSync(file);
  Object.defineProperties(bytes, {
    [inspect.custom]: { value: () => REDACTED },
    toJSON: { value: () => REDACTED },
    toString: { value: () => REDACTED },
  });
  return bytes;
}

/** Others may read it: `o+r`. Group-readable is normal (`root:imom 0640`). */
const OTHERS_READ = 0o004;

function keyPermissionWarning(file: string): string | undefined {
  const mode = statSync(file).mode & 0o777;
  if ((mode & OTHERS_READ) === 0) return undefined;
  return `TLS key file ${file} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); chmod o-r it`;
}

/**
 * Reads the CA, certificate and key files of a validated `tls:` block into node:tls options.
 * Call it when a target, output or listener is built (at start and on reload), never per
 * connection: the files are read here and nowhere else.
 */
export function loadTls(cfg: TlsSettings): LoadedTls {
  const warnings: string[] = [];
  const ownCertificates: OwnCertificate[] = [];
  const options: ConnectionOptions = {
    rejectUnauthorized: !cfg.insecure_skip_verify,
    minVersion: NODE_TLS_VERSION[cfg.min_version],
  };
  if (cfg.max_version) options.maxVersion = NODE_TLS_VERSION[cfg.max_version];
  if (cfg.server_name) options.servername = cfg.server_name;

  const ca: (string | Buffer)[] = [];
  if (cfg.ca_file) ca.push(redactedFile(cfg.ca_file));
  // Node's --use-system-ca, per block: the bundled Mozilla store plus the OS's, or ca_file plus the OS's.
  if (cfg.use_system_ca) ca.push(...(cfg.ca_file ? [] : getCACertificates('bundled')), ...getCACertificates('system'));
  if (ca.length) options.ca = ca;

  if (cfg.cert_file && cfg.key_file) {
    const cert = redactedFile(cfg.cert_file);
    options.cert = cert;
    options.key = redactedFile(cfg.key_file);
    ownCertificates.push({ file: cfg.cert_file, ...certificateSeen(new X509Certificate(cert)) });
    const warning = keyPermissionWarning(cfg.key_file);
    if (warning) warnings.push(warning);
  }
  return { options, hasClientCert: options.cert !== undefined, warnings, ownCertificates, expiryWarningMs: cfg.expiry_warning };
}
