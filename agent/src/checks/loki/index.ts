import { defineCheck } from '../../core/check.js';
import { lokiSchema } from './schema.js';

export const lokiCheck = defineCheck({
  name: 'loki',
  description: 'Loki members: /ready, ingester ring members not ACTIVE, chunk flush and object store failures, ruler evaluation and notification failures (/metrics)',
  schema: lokiSchema,
  // The HTTP client loads only when this check is configured.
  targets: async (inst, ctx) => (await import('./check.js')).lokiTargets(inst, ctx),
});

/** Listed in checks/all.ts. */
export default lokiCheck;
