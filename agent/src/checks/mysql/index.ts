import { defineCheck } from '../../core/check.js';
import { mysqlSchema } from './schema.js';
import { mysqlTargets } from './check.js';

export const mysqlCheck = defineCheck({
  name: 'mysql',
  description: 'MySQL/MariaDB replication: one line for the primary and one per replica each cycle',
  schema: mysqlSchema,
  targets: mysqlTargets,
});
