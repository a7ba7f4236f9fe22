/**
 * Loki behind mutual TLS for tests: loki/loki-tls.yaml with the harness's CA (pki.ts).
 *
 *   const pki = await testPki();
 *   const loki = await startLoki({ tls: lokiTls(pki) });     // https://127.0.0.1:<port>
 *   clientTlsConfig(pki)        // the agent's `tls:` block for it (CN=imom-agent)
 *
 * Loki's certificate is pki.server (SAN IP:127.0.0.1, DNS:localhost) unless `server` names
 * another of the PKI's (expiredServer, wrongHost…); Loki's own gRPC clients present
 * pki.client, and so does the harness (readiness probe, query helpers).
 */
import type { LokiTlsFiles } from '../../agent/src/stack/components.js';
import { tlsSchema, type TlsConfig } from '../../agent/src/config/tls.js';
import { loadTls } from '../../agent/src/core/tls/index.js';
import type { TestPki } from './pki.js';
import type { StartLokiOptions } from './loki.js';

/** The `tls:` block an iMom client uses for this Loki: the CA and pki.client. */
export function clientTlsConfig(pki: TestPki): TlsConfig {
  return tlsSchema.parse({ ca_file: pki.caFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile });
}

/** startLoki's `tls` option: Loki's files, and the client side the harness presents. */
export function lokiTls(pki: TestPki, o: { server?: TestPki['server']; minVersion?: LokiTlsFiles['minVersion'] } = {}): NonNullable<StartLokiOptions['tls']> {
  const server = o.server ?? pki.server;
  return {
    files: {
      caFile: pki.caFile,
      certFile: server.certFile,
      keyFile: server.keyFile,
      internalCertFile: pki.client.certFile,
      internalKeyFile: pki.client.keyFile,
      ...(o.minVersion ? { minVersion: o.minVersion } : {}),
    },
    client: loadTls(clientTlsConfig(pki)).options,
  };
}
