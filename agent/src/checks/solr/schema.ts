import { z } from 'zod';
import { tlsSchema } from '../../config/tls.js';
import { instanceBase, secret } from '../../config/types.js';

/** A Solr node's base URL as it is configured and as the lines name it. */
export interface SolrUrl {
  /** Base URL without a trailing slash, ending in the context: `http://10.100.41.69:8983/solr`. */
  base: string;
  /** `host:port`, as the lines name the instance (`10.100.41.69:8983`). */
  hostPort: string;
  /** As written in the config. */
  text: string;
}

/**
 * `http://host:port/solr`; a URL without a path gets Solr's default context `/solr`.
 * Credentials in the URL are refused, so that a password can only come from `password`
 * (a secret) and never shows up in a line.
 */
export function parseSolrUrl(text: string): SolrUrl | string {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return 'expected a URL like http://10.100.41.69:8983/solr';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (u.username || u.password) return 'put the credentials in username and password, not in the URL';
  if (u.search || u.hash) return 'expected a base URL without ?query or #fragment';
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const path = u.pathname.replace(/\/+$/, '') || '/solr';
  return { base: `${u.protocol}//${u.host}${path}`, hostPort: `${u.hostname}:${port}`, text: text.trim() };
}

/**
 * 4 MiB: CLUSTERSTATUS costs about 350 bytes of JSON per replica, so this holds some 12,000
 * replicas, and the parsed answer stays far under the agent's 80 MB.
 */
export const SOLR_MAX_REPLY_BYTES = 4 * 1024 * 1024;

const urlText = z.string().meta({ description: 'Base URL of a Solr node', examples: ['http://10.100.41.69:8983/solr'] });

/** One URL or a list of them → a list of parsed URLs; each problem names its list index. */
const solrUrls = z
  .union([urlText, z.array(urlText).min(1)])
  .transform((v, ctx) => {
    const list = typeof v === 'string' ? [v] : v;
    const out: SolrUrl[] = [];
    list.forEach((text, i) => {
      const u = parseSolrUrl(text);
      if (typeof u === 'string') ctx.addIssue({ code: 'custom', path: typeof v === 'string' ? [] : [i], message: u });
      else out.push(u);
    });
    return out.length === list.length ? out : z.NEVER;
  });

export const solrSchema = z
  .object({
    ...instanceBase,
    url: solrUrls.meta({ description: 'Solr node(s) to check, one target each: a base URL, or a list of them' }),
    mode: z.enum(['cloud', 'standalone']).default('cloud')
      .meta({ description: 'cloud: Collections API CLUSTERSTATUS; standalone: CoreAdmin STATUS' }),
    username: z.string().min(1).optional().meta({ description: 'Basic auth user (Solr BasicAuthPlugin)' }),
    password: secret.optional(),
    tls: tlsSchema.optional().meta({ description: 'For https:// URLs: the CA of Solr\'s certificate, a client certificate when Jetty needs one (SOLR_SSL_NEED_CLIENT_AUTH), min_version…' }),
    max_reply_bytes: z
      .number()
      .int()
      .min(1024)
      .default(SOLR_MAX_REPLY_BYTES)
      .meta({ description: 'The most one HTTP answer body may hold, in bytes (4 MiB by default); past it the connection is dropped and the line says `reply over N bytes`' }),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.password !== undefined && v.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'password is set, so username is required' });
    }
    if (v.username !== undefined && v.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'username is set, so password is required' });
    }
    if (v.tls && v.url.some((u) => u.base.startsWith('http:'))) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls is set but a url is http://: use https:// URLs' });
    }
    const seen = new Set<string>();
    v.url.forEach((u, i) => {
      if (seen.has(u.hostPort)) ctx.addIssue({ code: 'custom', path: ['url', i], message: `duplicate Solr instance ${u.hostPort}` });
      seen.add(u.hostPort);
    });
  });

export type SolrInstance = z.output<typeof solrSchema>;
