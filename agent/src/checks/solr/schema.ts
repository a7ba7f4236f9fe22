import { z } from 'zod';
import { tlsSchema } from '../../config/tls.js';
import { httpBaseUrls, httpInstanceRule, type HttpBaseUrl } from '../../config/http-url.js';
import { instanceBase, maxReplyBytes, secret } from '../../config/types.js';

/** A Solr node's base URL as it is configured and as the lines name it. */
export type SolrUrl = HttpBaseUrl;

/** A URL without a path gets Solr's default context `/solr`. */
const SOLR_URL_EXAMPLE = 'http://10.100.41.69:8983/solr';

/**
 * 4 MiB: CLUSTERSTATUS costs about 350 bytes of JSON per replica, so this holds some 12,000
 * replicas, and the parsed answer stays far under the agent's 80 MB.
 */
export const SOLR_MAX_REPLY_BYTES = 4 * 1024 * 1024;

export const solrSchema = z
  .object({
    ...instanceBase,
    url: httpBaseUrls('Base URL of a Solr node', SOLR_URL_EXAMPLE, '/solr').meta({ description: 'Solr node(s) to check, one target each: a base URL, or a list of them' }),
    mode: z.enum(['cloud', 'standalone']).default('cloud')
      .meta({ description: 'cloud: Collections API CLUSTERSTATUS; standalone: CoreAdmin STATUS' }),
    username: z.string().min(1).optional().meta({ description: 'Basic auth user (Solr BasicAuthPlugin)' }),
    password: secret.optional(),
    tls: tlsSchema.optional().meta({ description: 'For https:// URLs: the CA of Solr\'s certificate, a client certificate when Jetty needs one (SOLR_SSL_NEED_CLIENT_AUTH), min_version…' }),
    max_reply_bytes: maxReplyBytes(SOLR_MAX_REPLY_BYTES, 'The most one HTTP answer body may hold, in bytes (4 MiB by default); past it the connection is dropped and the line says `reply over N bytes`'),
  })
  .strict()
  .superRefine(httpInstanceRule('Solr instance'));

export type SolrInstance = z.output<typeof solrSchema>;
