import { defineCheck } from '../../core/check.js';
import { kafkaSchema } from './schema.js';
import { kafkaTargets } from './check.js';

export const kafkaCheck = defineCheck({
  name: 'kafka',
  description: 'Kafka: offline and leaderless partitions, consumer-group lag per partition, under-replicated partitions and leader skew',
  schema: kafkaSchema,
  targets: kafkaTargets,
});

/** Listed in checks/all.ts. */
export default kafkaCheck;
