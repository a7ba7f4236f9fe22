import { defineCheck } from '../../core/check.js';
import { redisClusterSchema } from './schema.js';
import { redisClusterTargets } from './check.js';

export const redisClusterCheck = defineCheck({
  name: 'redis_cluster',
  description: 'Redis Cluster: cluster_state, node states (fail, pfail, noaddr, disconnected), master/slave distribution per server, no-slave, no-slot, failovered, failbacked and memory, read from every node',
  schema: redisClusterSchema,
  targets: redisClusterTargets,
});
