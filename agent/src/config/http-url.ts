import { z } from 'zod';

/** A server's base URL as it is configured and as the lines name it (the Solr and Loki checks). */
export interface HttpBaseUrl {
  /** Base URL without a trailing slash: `http://10.100.41.69:8983/solr`. */
  base: string;
  /** `host:port`, as the lines name the server (`10.100.41.69:8983`). */
  hostPort: string;
  /** As written in the config. */
  text: string;
}

/**
 * `http://host:port/path`; a URL without a path gets `defaultPath` (Solr's `/solr`, Loki's none).
 * Credentials in the URL are refused, so that a password can only come from a secret key and
 * never shows up in a line.
 */
export function parseHttpBaseUrl(text: string, example: string, defaultPath = ''): HttpBaseUrl | string {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return `expected a URL like ${example}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (u.username || u.password) return 'put the credentials in username and password, not in the URL';
  if (u.search || u.hash) return 'expected a base URL without ?query or #fragment';
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const path = u.pathname.replace(/\/+$/, '') || defaultPath;
  return { base: `${u.protocol}//${u.host}${path}`, hostPort: `${u.hostname}:${port}`, text: text.trim() };
}

/** One URL or a list of them → a list of parsed URLs; each problem names its list index. */
export function httpBaseUrls(description: string, example: string, defaultPath = '') {
  const urlText = z.string().meta({ description, examples: [example] });
  return z
    .union([urlText, z.array(urlText).min(1)])
    .transform((v, ctx) => {
      const list = typeof v === 'string' ? [v] : v;
      const out: HttpBaseUrl[] = [];
      list.forEach((text, i) => {
        const u = parseHttpBaseUrl(text, example, defaultPath);
        if (typeof u === 'string') ctx.addIssue({ code: 'custom', path: typeof v === 'string' ? [] : [i], message: u });
        else out.push(u);
      });
      return out.length === list.length ? out : z.NEVER;
    });
}

/**
 * What every instance with `url`, `username`/`password` and `tls` must hold together: both
 * credentials or none, https:// URLs with tls, and no server twice (`what` names it in the error).
 */
export function httpInstanceRule(what: string) {
  return (v: { url: readonly HttpBaseUrl[]; username?: string | undefined; password?: string | undefined; tls?: unknown }, ctx: z.RefinementCtx): void => {
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
      if (seen.has(u.hostPort)) ctx.addIssue({ code: 'custom', path: ['url', i], message: `duplicate ${what} ${u.hostPort}` });
      seen.add(u.hostPort);
    });
  };
}
