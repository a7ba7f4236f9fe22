/**
 * TLS for the Redis checks' connections: the `tls:` block loaded once when the target is built
 * (core/tls loadTls), handed to every node's connection, and the certificates the nodes showed
 * kept for the expiry lines (core/tls tlsNotices).
 */
import { certificateExpiry, loadTls, type LoadedTls, type PeerCertificateSeen, type TlsSettings } from '../../core/tls/index.js';
import type { RespTls } from './client.js';

export class RedisTls {
  private readonly peers = new Map<string, PeerCertificateSeen>();
  private constructor(readonly loaded: LoadedTls) {}

  static of(cfg: TlsSettings | undefined): RedisTls | undefined {
    return cfg ? new RedisTls(loadTls(cfg)) : undefined;
  }

  /** The connection settings for node `addr`; the certificate it shows is remembered under its address. */
  forNode(addr: string): RespTls {
    return {
      options: this.loaded.options,
      hasClientCert: this.loaded.hasClientCert,
      onPeerCertificate: (cert) => this.peers.set(addr, { of: `server ${addr}`, ...cert }),
    };
  }

  /**
   * ERROR phrases for this run: with `own`, the load's warnings (a key readable by others) and
   * our certificate's expiry (once per instance, not per node); then the expiry of the
   * certificates `nodes` showed. Every run, so that a line stands until its cause is fixed.
   */
  notices(own: boolean, nodes: Iterable<string>, nowMs = Date.now()): string[] {
    const within = this.loaded.expiryWarningMs;
    const out = own ? [...this.loaded.warnings] : [];
    if (own) for (const c of this.loaded.ownCertificates) { const p = certificateExpiry(c, nowMs, within); if (p) out.push(p); }
    for (const addr of nodes) {
      const seen = this.peers.get(addr);
      const p = seen ? certificateExpiry(seen, nowMs, within) : undefined;
      if (p) out.push(p);
    }
    return out;
  }
}
