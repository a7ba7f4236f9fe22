import { z } from 'zod';
import { distinctNodes, hostPort, instanceBase, secret } from '../../config/types.js';
import { maxReplyBytes } from '../../common/redis/limits.js';

export const redisSchema = z
  .object({
    ...instanceBase,
    username: z.string().min(1).optional().meta({ description: 'ACL user (Redis 6+); omit for the default user' }),
    password: secret.optional(),
    masters: z.array(hostPort).default([]).meta({ description: 'Nodes expected to be master, ip:port' }),
    slaves: z.array(hostPort).default([]).meta({ description: 'Nodes expected to be slave (replica), ip:port' }),
    max_reply_bytes: maxReplyBytes,
  })
  .strict()
  .superRefine(distinctNodes('masters', 'slaves'));

export type RedisInstance = z.output<typeof redisSchema>;
