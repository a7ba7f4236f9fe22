import { z } from 'zod';
import { httpBaseUrls, httpInstanceRule } from '../../config/http-url.js';
import { tlsSchema } from '../../config/tls.js';
import { instanceBase, maxReplyBytes, secret } from '../../config/types.js';

/**
 * 8 MiB: the largest of the three answers is /metrics, about 240 KB on a single-binary Loki 3.7.8
 * (measured by loki.test.ts; per-tenant and per-route series grow it); /ring costs about 1.6 KB per member (128 tokens).
 * The cap keeps a wrong URL or a hostile server from growing the agent (80 MB).
 */
export const LOKI_MAX_REPLY_BYTES = 8 * 1024 * 1024;

export const lokiSchema = z
  .object({
    ...instanceBase,
    url: httpBaseUrls('HTTP base URL of one Loki member (its own port, not a load balancer)', 'http://10.100.50.11:3100')
      .meta({ description: 'Loki member(s) to check, one target each: a base URL, or a list of them. Each member\'s /ready, /ring and /metrics are read' }),
    ring: z.boolean().default(true).meta({ description: 'Read the ingester ring (/ring) and report members that are not ACTIVE; false for members that run no ingester' }),
    username: z.string().min(1).optional().meta({ description: 'Basic auth user, when a proxy in front of each member asks for it' }),
    password: secret.optional(),
    tls: tlsSchema.optional().meta({ description: 'For https:// URLs: the CA of Loki\'s certificate, a client certificate when Loki asks for one (http_tls_config client_auth_type), min_version…' }),
    max_reply_bytes: maxReplyBytes(LOKI_MAX_REPLY_BYTES, 'The most one HTTP answer body may hold, in bytes (8 MiB by default); past it the connection is dropped and the line says `reply over N bytes`'),
  })
  .strict()
  .superRefine(httpInstanceRule('Loki member'));

export type LokiInstance = z.output<typeof lokiSchema>;
