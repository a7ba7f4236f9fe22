/**
 * What a `tls:` block says once validated (config/tls.ts makes it from YAML with zod). Plain
 * types so that core/ imports nothing of ours: config/tls.ts's TlsConfig is assignable to this.
 */
export type TlsVersionName = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

export interface TlsSettings {
  readonly ca_file?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly key_file?: string | undefined;
  readonly server_name?: string | undefined;
  readonly insecure_skip_verify: boolean;
  readonly min_version: TlsVersionName;
  readonly max_version?: TlsVersionName | undefined;
  readonly use_system_ca: boolean;
  /** Milliseconds: a certificate expiring within this gives an ERROR line. */
  readonly expiry_warning: number;
}

/** node:tls spells the versions differently from Promtail's and Loki's tls_config. */
export const NODE_TLS_VERSION = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const satisfies Record<TlsVersionName, string>;
