/**
 * Every check, one import per folder, as Telegraf's plugins/inputs/all does: adding a check is
 * adding its folder and one line here. check-folders.test.ts fails when the folders and this
 * list disagree. The client libraries stay unloaded: each index imports only its schema.
 */
import kafka from './kafka/index.js';
import loki from './loki/index.js';
import mysql from './mysql/index.js';
import redis from './redis/index.js';
import redis_cluster from './redis_cluster/index.js';
import solr from './solr/index.js';

/** Every check by its config key under `checks:`. */
export const CHECKS = { kafka, loki, mysql, redis, redis_cluster, solr } as const;

export type CheckName = keyof typeof CHECKS;

export const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];
