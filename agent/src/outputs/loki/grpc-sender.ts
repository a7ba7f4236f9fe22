/** logproto.Pusher/Push over gRPC (@grpc/grpc-js); see sender.ts for the outcome classes. */
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, createSecureContext, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { authorizationHeader } from '../../core/http-retry.js';
import { certificateSeen } from '../../core/tls/index.js';
import { handshakeError } from '../../core/tls-handshake.js';
import { classifyStatus, tlsOutcome, type AuthConfig, type PeerCertificateListener, type Sender, type SendOutcome } from './sender.js';

/** Loki's logproto.Pusher/Push (pkg/push/push.proto). */
const PUSH_METHOD = '/logproto.Pusher/Push';

/** gRPC status codes that mean "the request itself is bad": dead letter. */
const GRPC_REJECT = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE]);

/**
 * logproto.Pusher/Push over gRPC. Loki's handlers return httpgrpc errors whose gRPC status code
 * is the HTTP status (400, 429, 500…); those are classified like HTTP. Plain gRPC codes:
 * INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE → reject; everything else (UNAVAILABLE,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED on a target without a Pusher, …) → retry.
 * The transport sends one Push call per stream (delivery.ts).
 */
export class GrpcSender implements Sender {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();
  /** Set for grpcs://: where to handshake again when a call finds no connection (see tlsFailure). */
  private readonly secure?: { host: string; port: number; tls: ConnectionOptions };
  /**
   * `tls`: CA, client certificate, servername, minVersion for a grpcs:// URL (loadTls's options).
   * `onPeerCertificate`: Loki's certificate, once per new connection (for the expiry line).
   */
  constructor(url: string, auth: AuthConfig, userAgent: string, tls: ConnectionOptions = {}, onPeerCertificate?: PeerCertificateListener) {
    const u = new URL(url);
    this.client = new grpc.Client(`${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port}`, u.protocol === 'grpcs:' ? grpcsCredentials(tls, onPeerCertificate) : grpc.credentials.createInsecure(), {
      'grpc.primary_user_agent': userAgent,
      'grpc.max_send_message_length': 100 << 20,
      'grpc.keepalive_time_ms': 30_000,
      // The name checked in Loki's certificate (and sent as SNI) when it is not the URL's host.
      ...(u.protocol === 'grpcs:' && tls.servername ? { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername } : {}),
    });
    if (u.protocol === 'grpcs:') this.secure = { host: u.hostname, port: Number(u.port), tls };
    if (auth.tenant) this.metadata.set('x-scope-orgid', auth.tenant);
    const h = authorizationHeader(auth);
    if (h) this.metadata.set('authorization', h);
  }

  send(part: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<SendOutcome> {
    return new Promise((resolve) => {
      const call = this.client.makeUnaryRequest(
        PUSH_METHOD,
        (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        (b: Buffer) => b,
        part,
        this.metadata,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null) => {
          signal.removeEventListener('abort', onAbort);
          if (!err) return resolve({ kind: 'ok' });
          const reason = `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`.slice(0, 600);
          if (err.code >= 100) return resolve(classifyStatus(err.code, err.details || err.message));
          if (GRPC_REJECT.has(err.code)) return resolve({ kind: 'reject', reason, status: err.code });
          if (err.code === grpc.status.UNAVAILABLE && this.secure) {
            void this.tlsFailure(this.secure).then((o) => resolve(o ?? { kind: 'retry', reason, status: err.code }));
            return;
          }
          resolve({ kind: 'retry', reason, status: err.code });
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /** grpc-js keeps only the text of a failed handshake: one of our own tells whether TLS is why. */
  private async tlsFailure(to: { host: string; port: number; tls: ConnectionOptions }): Promise<SendOutcome | undefined> {
    const e = await handshakeError(to.host, to.port, to.tls, ['h2']);
    return e && tlsOutcome(e, to.tls.cert !== undefined);
  }
}

/**
 * Channel credentials from the same options the HTTP sender uses: a secure context carries
 * the CA (none: Node's bundled roots, as createSsl() had), the client certificate and
 * minVersion, which createSsl() cannot take.
 *
 * grpc-js never shows its sockets, but hands checkServerIdentity to tls.connect: Node calls it
 * once per handshake with the server's certificate, after the chain was verified. It keeps
 * Node's own host name check and passes the certificate on for the expiry line.
 */
function grpcsCredentials(tls: ConnectionOptions, onPeerCertificate?: PeerCertificateListener): grpc.ChannelCredentials {
  const context = createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: tls.minVersion, maxVersion: tls.maxVersion });
  const verify: grpc.VerifyOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if (onPeerCertificate) {
    verify.checkServerIdentity = (host: string, cert: PeerCertificate) => {
      const mismatch = checkServerIdentity(host, cert);
      if (!mismatch && cert.raw) onPeerCertificate(certificateSeen(new X509Certificate(cert.raw)));
      return mismatch;
    };
  }
  return grpc.credentials.createFromSecureContext(context, verify);
}
