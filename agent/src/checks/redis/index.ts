import { defineCheck } from '../../core/check.js';
import { redisSchema } from './schema.js';
import { redisTargets } from './check.js';

export const redisCheck = defineCheck({
  name: 'redis',
  description: 'Redis roles: each node is the role it is expected to be, and replicas are linked',
  schema: redisSchema,
  targets: redisTargets,
});
