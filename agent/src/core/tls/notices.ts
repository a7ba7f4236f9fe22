import { certificateExpiry } from './certificate.js';
import type { LoadedTls } from './load.js';

/** A certificate a server showed this run, named by whose it is (`broker 127.0.0.1:9093`). */
export interface PeerCertificateSeen {
  of: string;
  subject: string;
  notAfter: Date;
}

/**
 * What a TLS client reports each run besides its own lines, each one phrase for one ERROR line:
 * the load's warnings (a key file readable by others), our certificates and the servers' that
 * expire within expiry_warning. Each run, so that the line stands until the cause is fixed.
 */
export function tlsNotices(tls: LoadedTls, peers: Iterable<PeerCertificateSeen> = [], nowMs = Date.now()): string[] {
  const within = tls.expiryWarningMs;
  const out = [...tls.warnings];
  for (const own of tls.ownCertificates) {
    const phrase = certificateExpiry(own, nowMs, within);
    if (phrase) out.push(phrase);
  }
  for (const peer of peers) {
    const phrase = certificateExpiry(peer, nowMs, within);
    if (phrase) out.push(phrase);
  }
  return out;
}
