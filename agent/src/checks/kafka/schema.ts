import { z } from 'zod';
import { tlsSchemaWithAliases } from '../../config/tls.js';
import { duration, hostPort, instanceBase, maxReplyBytes, secret } from '../../config/types.js';

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

/** A MirrorMaker 2 flow into this instance's cluster (the target), read from Connect's offsets topic there. */
const mirrorEntry = z
  .object({
    source_alias: z.string().min(1).meta({ description: 'The source cluster\'s alias in mm2.properties (`clusters=`)' }),
    source_brokers: z.array(hostPort).min(1).meta({ description: 'Bootstrap brokers of the source cluster, host:port' }),
    target_alias: z.string().min(1).optional().meta({ description: 'The target cluster\'s alias, for the lines (`Mirror=<source>-><target>`); the instance name when omitted' }),
    topics: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Source topics to report; every source topic MM2 has stored an offset for when omitted' }),
    offsets_topic: z.string().min(1).optional().meta({ description: 'Connect\'s offsets topic on the target (`offset.storage.topic`); mm2-offsets.<source_alias>.internal when omitted' }),
    heartbeats_topic: z.string().min(1).optional().meta({ description: 'The replicated heartbeats topic on the target; <source_alias>.heartbeats when omitted' }),
    connector: z.string().min(1).default('MirrorSourceConnector').meta({ description: 'The source connector\'s name in the offsets topic\'s keys' }),
    lag_threshold: z.number().int().nonnegative().optional().meta({ description: 'A partition whose lag is above this is over the threshold; the instance\'s lag_threshold when omitted' }),
    stall_cycles: z.number().int().min(1).default(3).meta({ description: 'CRITICAL when the source grew while MM2\'s offsets did not move for this many cycles in a row' }),
    max_replication_latency: duration.default(60_000).meta({ description: 'ERROR when the newest heartbeat is older than this (MM2 emits one a second by default)' }),
  })
  .strict();

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
    stall_cycles: z
      .number()
      .int()
      .min(1)
      .default(3)
      .meta({ description: 'A group whose commits stand still while its lag is above 0 for this many cycles in a row is stalled (CRITICAL); one whose lag grows while it commits, slow (ERROR)' }),
    leader_skew_tolerance: z
      .number()
      .int()
      .nonnegative()
      .default(1)
      .meta({ description: 'Leader skew (most minus fewest partitions led by one broker of the topic) above this is an ERROR' }),
    mirrors: z.array(mirrorEntry).default([]).meta({ description: 'MirrorMaker 2 flows whose target is this cluster: lag per partition, replication latency, stall' }),
    max_reply_bytes: maxReplyBytes(KAFKA_MAX_REPLY_BYTES, 'The most one broker response may hold, in bytes (4 MiB by default); a larger frame drops the connection and the line says `reply over N bytes`'),
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
export type MirrorEntry = KafkaInstance['mirrors'][number];
