import { z } from 'zod';
import { tlsSchema } from '../../config/tls.js';
import { duration, secret } from '../../config/types.js';

/** Labels the transport sets itself; `labels:` may not override them. */
export const RESERVED_LABELS = ['job', 'env', 'host', 'check', 'instance', 'level'] as const;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const positiveInt = z.number().int().positive();

export const lokiOutputSchema = z
  .object({
    url: z
      .string()
      .min(1)
      .meta({
        description:
          'http(s)://host:3100 (the push path /loki/api/v1/push is added when the URL has no path) for transport http; grpc://host:9095 or grpcs://host:9095 for transport grpc',
        examples: ['http://127.0.0.1:3100', 'grpc://127.0.0.1:9095'],
      }),
    transport: z.enum(['http', 'grpc']).default('http').meta({ description: 'http: protobuf+snappy POST, as Promtail sends (the default; use it unless the URL is a Loki distributor target). grpc: logproto.Pusher/Push, one call per stream (a Loki ingester answers only for the last stream of a request); to a single binary (-target=all) or write target it reaches the ingester directly, skipping the distributor\'s validation and stream sharding, so a hot stream is throttled (429, retried) at a lower rate than over http' }),
    tenant: z.string().min(1).optional().meta({ description: 'Sent as X-Scope-OrgID (multi-tenant Loki)' }),
    basic_auth: z
      .object({ username: z.string().min(1), password: secret })
      .strict()
      .optional()
      .meta({ description: 'HTTP basic auth (or gRPC "authorization" metadata); never mix with bearer_token' }),
    bearer_token: secret.optional().meta({ description: 'Sent as "Authorization: Bearer …"' }),
    tls: tlsSchema.optional().meta({ description: 'For an https:// or grpcs:// url: the CA that signed Loki\'s certificate, this host\'s client certificate for a Loki that requires one (loki/loki-tls.yaml), server_name when the url\'s host is not in the certificate' }),
    labels: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((labels, ctx) => {
        for (const name of Object.keys(labels)) {
          if (!LABEL_NAME.test(name) || name.startsWith('__')) ctx.addIssue({ code: 'custom', path: [name], message: 'expected a Loki label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)' });
          else if ((RESERVED_LABELS as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', path: [name], message: `label "${name}" is set by the agent and cannot be overridden` });
        }
      })
      .meta({ description: 'Extra static labels added to every stream (keep them low-cardinality)' }),
    batch: z
      .object({
        max_lines: positiveInt.default(10_000).meta({ description: 'At most this many lines per push' }),
        max_bytes: positiveInt.default(1_048_576).meta({ description: 'At most this many line bytes per push (a single longer line goes alone)' }),
        max_wait: duration.prefault('1s').meta({ description: 'A line waits at most this long for a batch to fill' }),
      })
      .strict()
      .prefault({}),
    spool_dir: z.string().min(1).default('/var/lib/imom/loki-spool').meta({ description: 'On-disk spool: every line is appended here before it counts as accepted, and removed after Loki answers 2xx' }),
    spool_max_bytes: positiveInt
      .min(1_048_576)
      .default(268_435_456)
      .meta({ description: 'Bound of the spool (segment files, unsent lines); at least 1 MiB' }),
    spool_full_policy: z
      .enum(['drop_oldest', 'drop_newest'])
      .default('drop_oldest')
      .meta({
        description:
          'At the bound: drop_oldest deletes the oldest unsent segment to make room; drop_newest refuses new lines. Either way every dropped line is counted and an ERROR is reported',
      }),
    spool_fsync: z
      .union([z.literal('always'), duration])
      .default(1000)
      .meta({ description: '"always": fdatasync before a line is accepted; a duration: fdatasync at most that often (a kill -9 loses nothing either way; a power cut loses at most that window)' }),
    dead_letter_max_bytes: positiveInt
      .default(67_108_864)
      .meta({ description: 'dead-letter.ndjson is rotated to dead-letter.1.ndjson past this size (the rotation is reported)' }),
    retry: z
      .object({
        min_backoff: duration.prefault('500ms'),
        max_backoff: duration.prefault('30s'),
        timeout: duration.prefault('10s').meta({ description: 'Per push request' }),
      })
      .strict()
      .prefault({})
      .meta({ description: 'Network errors, 429 and 5xx are retried forever (the spool holds the lines) with exponential backoff and jitter' }),
    shutdown_timeout: duration
      .prefault('5s')
      .meta({ description: 'On SIGTERM/close, try this long to deliver what is spooled; the rest stays spooled for the next start' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.basic_auth && c.bearer_token) ctx.addIssue({ code: 'custom', path: ['bearer_token'], message: 'use either basic_auth or bearer_token, not both' });
    let u: URL | undefined;
    try {
      u = new URL(c.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected a URL such as http://127.0.0.1:3100 or grpc://127.0.0.1:9095' });
      return;
    }
    if (u.username || u.password) ctx.addIssue({ code: 'custom', path: ['url'], message: 'credentials in the URL are not allowed; use basic_auth or bearer_token' });
    const ok = c.transport === 'http' ? ['http:', 'https:'] : ['grpc:', 'grpcs:'];
    if (!ok.includes(u.protocol)) ctx.addIssue({ code: 'custom', path: ['url'], message: `transport ${c.transport} expects a ${ok.map((p) => p.replace(':', '://')).join(' or ')} URL` });
    if (c.transport === 'grpc' && !u.port) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a grpc URL needs a port (Loki serves gRPC on 9095 by default)' });
    if (c.retry.min_backoff > c.retry.max_backoff) ctx.addIssue({ code: 'custom', path: ['retry', 'min_backoff'], message: 'min_backoff exceeds max_backoff' });
  })
  .meta({ description: 'Push every line directly to Loki, through an on-disk spool (for hosts without Promtail)' });

export type LokiOutputInput = z.input<typeof lokiOutputSchema>;
export type LokiOutputConfig = z.output<typeof lokiOutputSchema>;
