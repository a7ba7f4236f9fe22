import { z } from 'zod';
import { hostPort, instanceBase, secret } from '../../config/types.js';

export const mysqlSchema = z
  .object({
    ...instanceBase,
    user: z.string().min(1).meta({ description: 'A user with REPLICATION CLIENT (and SLAVE MONITOR on MariaDB 10.5+)' }),
    password: secret.optional(),
    master: hostPort.meta({ description: 'The primary, host:port' }),
    slaves: z.array(hostPort).default([]).meta({ description: 'Replicas, host:port each' }),
    max_seconds_behind_master: z.number().int().positive().default(30).meta({ description: 'A replica at or beyond this lag is ERROR' }),
  })
  .strict();

export type MysqlInstance = z.output<typeof mysqlSchema>;
