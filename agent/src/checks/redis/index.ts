import { defineCheck } from '../../core/check.js';
import { redisSchema } from './schema.js';

export const redisCheck = defineCheck({
  name: 'redis',
  description: 'Redis roles: each node is the role it is expected to be, and replicas are linked',
  schema: redisSchema,
  // The client library loads only when this check is configured.
  targets: async (inst, ctx) => (await import('./check.js')).redisTargets(inst, ctx),
});

/** Listed in checks/all.ts. */
export default redisCheck;
