import { z } from 'zod';
import { hostPort, instanceBase, secret } from '../../config/types.js';
import { maxReplyBytes } from '../../common/redis/limits.js';
import { tlsSchema } from '../../config/tls.js';

/** `host:port` as CLUSTER NODES prints it (IPv6 without brackets), for matching config entries to nodes. */
export const addrKey = (hp: { host: string; port: number }): string => `${hp.host}:${hp.port}`;

export const redisClusterSchema = z
  .object({
    ...instanceBase,
    nodes: z.array(hostPort).min(1).meta({
      description: 'Seed nodes, ip:port. Every node of the cluster is found from their CLUSTER NODES; listing them all still helps when some are down',
    }),
    username: z.string().min(1).optional().meta({ description: 'ACL user (Redis 6+); omit for the default user' }),
    password: secret.optional(),
    masters: z.array(hostPort).optional().meta({
      description: 'Intended masters, ip:port as CLUSTER NODES shows them; every other node is intended to be a slave. ' +
        'When omitted, the layout first observed (with cluster_state:ok) is kept in the state folder and used instead',
    }),
    servers: z.record(z.string().min(1), z.array(hostPort).min(1)).optional().meta({
      description: 'Which nodes share a server: { <server name>: [ip:port, ...] }. A node not listed belongs to the server named by its ip',
    }),
    single_server: z.boolean().default(false).meta({
      description: 'The cluster runs on one server by design (as on one test machine): a master beside its own slave is then not ERROR. Cannot be combined with servers:',
    }),
    max_memory_ratio: z.number().gt(0).lte(1).default(0.9).meta({ description: 'ERROR when used_memory reaches this share of maxmemory' }),
    max_master_skew: z.number().int().min(0).default(1).meta({
      description: 'How many masters a server may hold above (or below) its even share (masters / servers, rounded up or down) before its distribution line is ERROR',
    }),
    max_reply_bytes: maxReplyBytes,
    tls: tlsSchema.optional().meta({ description: 'TLS to every node (tls-port, as CLUSTER NODES gives it with tls-cluster yes); with tls-auth-clients yes, give cert_file and key_file' }),
  })
  .strict()
  .superRefine((inst, ctx) => {
    if (inst.single_server && inst.servers) {
      ctx.addIssue({ code: 'custom', path: ['single_server'], message: 'single_server: true says every node is on one server; drop servers: or single_server:' });
    }
    const owner = new Map<string, string>();
    for (const [server, list] of Object.entries(inst.servers ?? {})) {
      list.forEach((hp, i) => {
        const prev = owner.get(addrKey(hp));
        if (prev !== undefined && prev !== server) {
          ctx.addIssue({ code: 'custom', path: ['servers', server, i], message: `${hp.text} is already listed under server "${prev}"` });
        }
        owner.set(addrKey(hp), server);
      });
    }
  });

export type RedisClusterInstance = z.output<typeof redisClusterSchema>;
