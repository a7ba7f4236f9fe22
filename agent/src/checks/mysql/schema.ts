import { z } from 'zod';
import { distinctNodes, hostPort, instanceBase, maxReplyBytes, secret } from '../../config/types.js';
import { tlsFields, tlsPairRule } from '../../config/tls.js';

/** As the mysql client's --ssl-mode (MySQL 5.7.11+), lower-cased. */
export const MYSQL_TLS_MODES = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'] as const;
export type MysqlTlsMode = (typeof MYSQL_TLS_MODES)[number];

/** The shared tls block (config/tls.ts) plus `mode`. */
export const mysqlTlsSchema = z
  .object({
    ...tlsFields,
    mode: z.enum(MYSQL_TLS_MODES).default('verify_identity').meta({
      description: "As the mysql client's --ssl-mode: disabled (plaintext), preferred (TLS when the server offers it, unverified), required (TLS, unverified), verify_ca (the CA is checked), verify_identity (the CA and the host name or server_name; the default)",
    }),
  })
  .strict()
  .superRefine(tlsPairRule)
  .meta({ description: "TLS, with the keys of Promtail's and Loki's tls_config, plus mode" });

/**
 * 1 MiB: one run reads the handshake and one status row (SHOW REPLICA STATUS is about 2 KB with
 * its error texts), so this is some 500 times what a healthy server sends.
 */
export const MYSQL_MAX_REPLY_BYTES = 1024 * 1024;

export const mysqlSchema = z
  .object({
    ...instanceBase,
    user: z.string().min(1).meta({ description: 'A user with REPLICATION CLIENT (and SLAVE MONITOR on MariaDB 10.5+)' }),
    password: secret.optional(),
    master: hostPort.meta({ description: 'The primary, host:port' }),
    slaves: z.array(hostPort).default([]).meta({ description: 'Replicas, host:port each' }),
    max_seconds_behind_master: z.number().int().positive().default(30).meta({ description: 'A replica at or beyond this lag is ERROR' }),
    max_connections_ratio: z.number().gt(0).lte(1).default(0.9).meta({ description: 'ERROR when Threads_connected reaches this share of max_connections (on the primary and every replica)' }),
    allow_writable_replicas: z.boolean().default(false).meta({ description: 'The replicas are writable by design: read_only (and super_read_only) OFF is not an ERROR' }),
    tls: mysqlTlsSchema.optional().meta({ description: 'TLS to every server of the instance (the same keys as Promtail\'s tls_config, plus mode); without it, plaintext' }),
    max_reply_bytes: maxReplyBytes(MYSQL_MAX_REPLY_BYTES, 'The most one run may read from a server, in bytes (1 MiB by default); past it the connection is dropped and the line says `reply over N bytes`'),
  })
  .strict()
  .superRefine(distinctNodes('master', 'slaves'));

export type MysqlInstance = z.output<typeof mysqlSchema>;
