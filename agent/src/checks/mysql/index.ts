import { defineCheck } from '../../core/check.js';
import { mysqlSchema } from './schema.js';

export const mysqlCheck = defineCheck({
  name: 'mysql',
  description: 'MySQL/MariaDB replication: one line for the primary and one per replica and channel each cycle, with follow-up lines for thread errors, writable replicas and connections',
  schema: mysqlSchema,
  // The client library loads only when this check is configured.
  targets: async (inst, ctx) => (await import('./check.js')).mysqlTargets(inst, ctx),
});

/** Listed in checks/all.ts. */
export default mysqlCheck;
