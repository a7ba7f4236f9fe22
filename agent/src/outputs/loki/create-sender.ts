/**
 * The sender for a transport's config. Each sender lives in its own module, loaded on first
 * use, so a transport loads only its own client (grpc-js is ~6 MB of heap).
 */
import type { ConnectionOptions } from 'node:tls';
import type { AuthConfig, PeerCertificateListener, Sender } from './sender.js';

/** `onPeerCertificate`: Loki's certificate, once per new connection, on either transport. */
export async function createSender(transport: 'http' | 'grpc', url: string, auth: AuthConfig, userAgent: string, tls?: ConnectionOptions, onPeerCertificate?: PeerCertificateListener): Promise<Sender> {
  if (transport === 'grpc') return new (await import('./grpc-sender.js')).GrpcSender(url, auth, userAgent, tls, onPeerCertificate);
  return new (await import('./http-sender.js')).HttpSender(url, auth, userAgent, tls, onPeerCertificate);
}
