import type { CheckDefinition } from '../core/check.js';
import { kafkaCheck } from './kafka/index.js';
import { mysqlCheck } from './mysql/index.js';
import { redisCheck } from './redis/index.js';
import { redisClusterCheck } from './redis_cluster/index.js';
import { solrCheck } from './solr/index.js';

/** The one place checks are registered: a folder under checks/ plus one line here. */
export const CHECKS: readonly CheckDefinition[] = [
  mysqlCheck,
  redisCheck,
  redisClusterCheck,
  kafkaCheck,
  solrCheck,
];
