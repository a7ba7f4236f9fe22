import { defineCheck } from '../../core/check.js';
import { redisClusterSchema } from './schema.js';

export const redisClusterCheck = defineCheck({
  name: 'redis_cluster',
  description: 'Redis Cluster: cluster_state, node states (fail, pfail, noaddr, disconnected), master/slave distribution per server, no-slave, no-slot, failovered, failbacked and memory, read from every node',
  schema: redisClusterSchema,
  // The client library loads only when this check is configured.
  targets: async (inst, ctx) => (await import('./check.js')).redisClusterTargets(inst, ctx),
});

/** Listed in checks/all.ts. */
export default redisClusterCheck;
