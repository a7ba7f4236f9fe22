import { defineCheck } from '../../core/check.js';
import { solrSchema } from './schema.js';

export const solrCheck = defineCheck({
  name: 'solr',
  description: 'Solr cores: replicas by state per node (SolrCloud CLUSTERSTATUS) or cores that failed to load (CoreAdmin STATUS)',
  schema: solrSchema,
  // The HTTP client loads only when this check is configured.
  targets: async (inst, ctx) => (await import('./check.js')).solrTargets(inst, ctx),
});

/** Listed in checks/all.ts. */
export default solrCheck;
