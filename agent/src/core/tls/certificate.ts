import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export interface CertificateSeen {
  subject: string;
  notAfter: Date;
  /** Our own certificate: the file it came from. */
  file?: string;
  /** A certificate a server showed: whose (`Solr 127.0.0.1:8983`). */
  of?: string;
}

/** `CN=imom-agent, O=Example`: X509Certificate.subject has one RDN per line. */
export function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).join(', ');
}

/** Subject and end of validity of a parsed certificate; never its body. */
export function certificateSeen(cert: X509Certificate): { subject: string; notAfter: Date } {
  return { subject: subjectOf(cert), notAfter: new Date(cert.validTo) };
}

/** The certificate the server showed on this socket (leaf only), or undefined before the handshake. */
export function peerCertificate(socket: TLSSocket): { subject: string; notAfter: Date } | undefined {
  const cert = socket.getPeerX509Certificate();
  return cert ? certificateSeen(cert) : undefined;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** `2026-12-10T00:00:00Z`: the milliseconds of a certificate's date are always zero. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function span(ms: number): string {
  if (ms >= DAY_MS) {
    const days = Math.floor(ms / DAY_MS);
    return `${days} day${days === 1 ? '' : 's'}`;
  }
  const hours = Math.max(1, Math.floor(ms / HOUR_MS));
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/**
 * `TLS certificate /etc/imom/client.pem (CN=imom-agent) expires 2026-12-10T00:00:00Z, in 8 days`
 * when the certificate ends within `withinMs` of `nowMs` (or has ended), else undefined.
 */
export function certificateExpiry(cert: CertificateSeen, nowMs: number, withinMs: number): string | undefined {
  const left = cert.notAfter.getTime() - nowMs;
  if (left > withinMs) return undefined;
  const which = cert.file ?? (cert.of ? `of ${cert.of}` : undefined);
  const name = `TLS certificate ${which ? `${which} ` : ''}(${cert.subject})`;
  const when = isoSeconds(cert.notAfter);
  return left > 0 ? `${name} expires ${when}, in ${span(left)}` : `${name} expired ${when}, ${span(-left)} ago`;
}
