import { z } from 'zod';
import { tlsSchemaWithAliases } from '../../config/tls.js';
import { hostPort, instanceBase, secret } from '../../config/types.js';

/**
 * 4 MiB: a Metadata v5 answer costs about 60 bytes per partition with 3 replicas, so this holds
 * some 70,000 partitions of the watched topics, and keeps one reply far under the agent's 80 MB.
 */
export const KAFKA_MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** The check's keys before the one tls schema: still accepted, documented in README.md. */
const KAFKA_TLS_ALIASES = { ca: 'ca_file', cert: 'cert_file', key: 'key_file' } as const;

const groupEntry = z.union([
  z.string().min(1),
  z
    .object({
      name: z.string().min(1).meta({ description: 'Consumer group id' }),
      topics: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Topics this group consumes; all of `topics` when omitted' }),
    })
    .strict(),
]);

export const kafkaSchema = z
  .object({
    ...instanceBase,
    brokers: z.array(hostPort).min(1).meta({ description: 'Bootstrap brokers, host:port; all are tried, and named when none answers' }),
    topics: z.array(z.string().min(1)).min(1).meta({ description: 'Topics to watch' }),
    consumer_groups: z
      .array(groupEntry)
      .default([])
      .meta({ description: 'Consumer groups whose lag is checked: a group id (lag on every topic), or { name, topics }' }),
    lag_threshold: z.number().int().nonnegative().default(10000).meta({ description: 'A partition whose lag is above this is over the threshold' }),
    leader_skew_tolerance: z
      .number()
      .int()
      .nonnegative()
      .default(1)
      .meta({ description: 'Leader skew (most minus fewest partitions led by one broker of the topic) above this is an ERROR' }),
    max_reply_bytes: z
      .number()
      .int()
      .min(1024)
      .default(KAFKA_MAX_REPLY_BYTES)
      .meta({ description: 'The most one broker response may hold, in bytes (4 MiB by default); a larger frame drops the connection and the line says `reply over N bytes`' }),
    client_id: z.string().min(1).default('imom').meta({ description: 'Kafka client.id the check identifies itself with' }),
    tls: tlsSchemaWithAliases(KAFKA_TLS_ALIASES)
      .optional()
      .meta({ description: 'Connect with TLS (SSL or SASL_SSL listeners): the keys of every tls block; ca, cert and key are accepted for ca_file, cert_file and key_file' }),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: secret,
      })
      .strict()
      .optional()
      .meta({ description: 'SASL authentication (SASL_PLAINTEXT or SASL_SSL listeners)' }),
  })
  .strict();

export type KafkaInstance = z.output<typeof kafkaSchema>;
