/**
 * The one `tls:` block of every client and listener in iMom's configs: the keys of Promtail's
 * and Loki's tls_config. The files are checked here, at validation, so that a wrong path or a
 * key where the certificate belongs is `FILE:LINE: path: problem` (exit 2), never a failure at
 * the first connection; core/tls loadTls reads them again when a target is built.
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { TlsSettings } from '../core/tls/settings.js';
import { duration } from './types.js';

type FileRead = { bytes: Buffer } | { problem: string };

function readTlsFile(key: string, path: string): FileRead {
  // The agent's cwd is / under systemd and the config's folder elsewhere: a relative path means two things.
  if (!isAbsolute(path)) return { problem: `${key} ${path} is not an absolute path` };
  try {
    return { bytes: readFileSync(path) };
  } catch (e) {
    return { problem: `cannot read ${key} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}` };
  }
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/** A problem with the file's content, in words; never the content, nor crypto's message (which may quote it). */
function certificateProblem(key: string, path: string, bytes: Buffer): string | undefined {
  if (!bytes.includes(PEM_CERTIFICATE)) return `${key} ${path} holds no PEM certificate`;
  try {
    new X509Certificate(bytes);
    return undefined;
  } catch {
    return `${key} ${path} holds a certificate that does not parse`;
  }
}

function keyProblem(key: string, path: string, bytes: Buffer): string | undefined {
  if (bytes.includes('ENCRYPTED PRIVATE KEY') || bytes.includes('Proc-Type: 4,ENCRYPTED')) {
    return `${key} ${path} is an encrypted private key; give it unencrypted (mode 0640, group imom)`;
  }
  try {
    createPrivateKey(bytes);
    return undefined;
  } catch {
    return `${key} ${path} holds no PEM private key`;
  }
}

const fileKey = (key: string, description: string, check: (key: string, path: string, bytes: Buffer) => string | undefined) =>
  z
    .string()
    .min(1)
    .superRefine((path, ctx) => {
      const read = readTlsFile(key, path);
      const problem = 'problem' in read ? read.problem : check(key, path, read.bytes);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ description });

export const caFile = (key = 'ca_file') => fileKey(key, 'PEM file of the CA(s) that signed the server\'s certificate; Node\'s bundled CAs when omitted (see use_system_ca)', certificateProblem);
export const certFile = (key = 'cert_file') => fileKey(key, 'PEM client certificate for mutual TLS (with key_file)', certificateProblem);
export const keyFile = (key = 'key_file') => fileKey(key, 'PEM private key of cert_file, unencrypted; a file readable by others gives a warning line', keyProblem);

const version = z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']);

/** The keys of `tls:`, for a block that adds its own (MySQL's `mode`): `z.object({ ...tlsFields, mode }).strict().superRefine(tlsPairRule)`. */
export const tlsFields = {
  ca_file: caFile().optional(),
  cert_file: certFile().optional(),
  key_file: keyFile().optional(),
  server_name: z.string().min(1).optional().meta({ description: 'Host name the server\'s certificate must carry (and SNI); the connection\'s host when omitted' }),
  insecure_skip_verify: z.boolean().default(false).meta({ description: 'Do not verify the server\'s certificate (tests only: anyone on the path can read and change the traffic)' }),
  min_version: version.default('TLS12').meta({ description: 'Lowest TLS version offered: TLS10, TLS11, TLS12 (default) or TLS13' }),
  max_version: version.optional().meta({ description: 'Highest TLS version offered; the newest Node supports when omitted' }),
  use_system_ca: z.boolean().default(false).meta({ description: 'Trust the operating system\'s CA store too (as node --use-system-ca), beside ca_file or the bundled CAs' }),
  expiry_warning: duration.prefault('14d').meta({ description: 'A certificate (ours or the server\'s) that expires within this gives an ERROR line; default 14d' }),
};

interface PairInput {
  cert_file?: string | undefined;
  key_file?: string | undefined;
}

/** cert_file and key_file come together, and the key is the certificate's. */
export function tlsPairRule(t: PairInput, ctx: z.RefinementCtx): void {
  if (t.cert_file === undefined && t.key_file === undefined) return;
  if (t.cert_file === undefined || t.key_file === undefined) {
    const [given, missing] = t.cert_file === undefined ? ['key_file', 'cert_file'] : ['cert_file', 'key_file'];
    ctx.addIssue({ code: 'custom', path: [missing], message: `required with ${given} (mutual TLS needs both)` });
    return;
  }
  try {
    const cert = new X509Certificate(readFileSync(t.cert_file));
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(t.key_file)))) {
      ctx.addIssue({ code: 'custom', path: ['key_file'], message: `key_file ${t.key_file} is not the private key of cert_file ${t.cert_file}` });
    }
  } catch {
    // Unreadable or unparsable: the key's own check has said so.
  }
}

export const tlsSchema = z
  .object(tlsFields)
  .strict()
  .superRefine(tlsPairRule)
  .meta({ description: 'TLS, with the keys of Promtail\'s and Loki\'s tls_config' });

export type TlsConfig = z.output<typeof tlsSchema>;

/** core/tls takes plain settings: this fails to compile if the schema's output stops fitting them. */
const fits: (c: TlsConfig) => TlsSettings = (c) => c;
void fits;

/**
 * The same block also taking older spellings (Kafka's `ca`, `cert`, `key`), each checked like
 * the key it stands for and reported at the key as written; the output is a TlsConfig.
 */
export function tlsSchemaWithAliases(aliases: Readonly<Record<string, 'ca_file' | 'cert_file' | 'key_file'>>) {
  const makers = { ca_file: caFile, cert_file: certFile, key_file: keyFile };
  const extra = Object.fromEntries(
    Object.entries(aliases).map(([alias, key]) => [alias, makers[key](alias).optional().meta({ description: `Alias of ${key}` })]),
  ) as Record<string, z.ZodOptional<z.ZodString>>;
  return z
    .object({ ...tlsFields, ...extra })
    .strict()
    .superRefine((t: Record<string, unknown>, ctx) => {
      for (const [alias, key] of Object.entries(aliases)) {
        if (t[alias] !== undefined && t[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [alias], message: `set either ${alias} or ${key}, not both` });
        }
      }
    })
    .transform((t): TlsConfig => {
      const out: Record<string, unknown> = { ...t };
      for (const [alias, key] of Object.entries(aliases)) {
        if (out[alias] !== undefined) out[key] = out[alias];
        delete out[alias];
      }
      return out as TlsConfig;
    })
    .superRefine((t, ctx) => tlsPairRule(t, ctx))
    .meta({ description: `TLS, with the keys of Promtail's and Loki's tls_config (${Object.entries(aliases).map(([a, k]) => `${a} = ${k}`).join(', ')} as aliases)` });
}

const TLS_FILE_KEYS = new Set(['ca_file', 'cert_file', 'key_file']);

/**
 * A digest of every TLS file a validated config value names (any `ca_file`, `cert_file`,
 * `key_file` at any depth), for the reload fingerprint: a certificate replaced under the same
 * path rebuilds its target on reload, which reads it again. An unreadable file digests as such.
 */
export function tlsFilesDigest(value: unknown): string {
  const hash = createHash('sha256');
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (TLS_FILE_KEYS.has(k) && typeof child === 'string') {
        hash.update(`${k}\0${child}\0`);
        try {
          hash.update(readFileSync(child));
        } catch {
          hash.update('unreadable');
        }
      } else walk(child);
    }
  };
  walk(value);
  return hash.digest('hex');
}
