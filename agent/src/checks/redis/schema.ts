import { z } from 'zod';
import { distinctNodes, hostPort, instanceBase, secret } from '../../config/types.js';
import { maxReplyBytes } from '../../common/redis/limits.js';
import { DEFAULT_MAX_MEMORY_RATIO } from '../../common/redis/health.js';
import { tlsSchema } from '../../config/tls.js';

const username = z.string().min(1).optional().meta({ description: 'ACL user (Redis 6+); omit for the default user' });

/** Sentinel mode: the roles come from the Sentinels watching `master_name`, not from `masters`/`slaves`. */
export const sentinelSchema = z
  .object({
    master_name: z.string().min(1).meta({ description: 'The name the Sentinels monitor the master by (sentinel monitor <name> ...)' }),
    sentinels: z.array(hostPort).min(1).meta({ description: 'Sentinels, ip:port; every one is read each cycle' }),
    username,
    password: secret.optional(),
    tls: tlsSchema.optional().meta({ description: 'TLS to the Sentinels (their tls-port); the instance\'s tls when omitted' }),
  })
  .strict();

export const redisSchema = z
  .object({
    ...instanceBase,
    username,
    password: secret.optional(),
    masters: z.array(hostPort).default([]).meta({ description: 'Nodes expected to be master, ip:port' }),
    slaves: z.array(hostPort).default([]).meta({ description: 'Nodes expected to be slave (replica), ip:port' }),
    nodes: z.array(hostPort).default([]).meta({ description: 'With sentinel: the data nodes, ip:port; the one the Sentinels name is expected to be master, the others slave' }),
    sentinel: sentinelSchema.optional().meta({ description: 'Sentinel mode: the roles come from the Sentinels watching master_name (list the data nodes under nodes:)' }),
    max_memory_ratio: z.number().gt(0).lte(1).default(DEFAULT_MAX_MEMORY_RATIO).meta({ description: 'ERROR when used_memory reaches this share of maxmemory (default 0.9)' }),
    min_connected_slaves: z.number().int().min(1).optional().meta({ description: 'ERROR when a master has fewer connected_slaves than this; not checked when omitted' }),
    max_reply_bytes: maxReplyBytes,
    tls: tlsSchema.optional().meta({ description: 'TLS to the nodes (tls-port); with tls-auth-clients yes, give cert_file and key_file' }),
  })
  .strict()
  .superRefine(distinctNodes('masters', 'slaves', 'nodes'))
  .superRefine((inst, ctx) => {
    if (inst.sentinel) {
      if (inst.nodes.length === 0) ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'sentinel mode needs the data nodes under nodes:' });
      for (const key of ['masters', 'slaves'] as const) {
        if (inst[key].length > 0) ctx.addIssue({ code: 'custom', path: [key], message: 'with sentinel the roles come from the Sentinels: list the nodes under nodes: instead' });
      }
    } else if (inst.nodes.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'nodes: is for sentinel mode; without sentinel list them under masters: and slaves:' });
    }
  });

export type RedisInstance = z.output<typeof redisSchema>;
export type SentinelConfig = z.output<typeof sentinelSchema>;
