import { maxReplyBytes as replyCap } from '../../config/types.js';

/**
 * 1 MiB: INFO replication of a master with 1,000 replicas is about 80 KB, and CLUSTER NODES of
 * a 1,000-node cluster (redis_cluster's node limit) about 400 KB with every slot in its own
 * range. One reply then holds at most 1/80 of the agent's 80 MB RSS target.
 */
export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;

/** `max_reply_bytes` of both Redis checks. */
export const maxReplyBytes = replyCap(DEFAULT_MAX_REPLY_BYTES, 'The most bytes one reply may take (default 1048576, 1 MiB). A node sending more is dropped, and its line says "reply over N bytes"');
