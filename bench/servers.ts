/**
 * The servers bench/checks.ts and bench/footprint.ts measure against: 25 redis-server masters,
 * each with its replica (50 processes), and a MariaDB primary/replica pair, all real, on loopback.
 */
import { join } from 'node:path';
import { RedisNode } from '../test/harness/redis.js';
import { ReplicationPair } from '../test/harness/mariadb.js';
import { freePorts, waitFor } from '../test/harness/proc.js';

export const REDIS_PAIRS = Number(process.env.IMOM_BENCH_REDIS_PAIRS ?? 25);

export interface BenchServers {
  masters: RedisNode[];
  replicas: RedisNode[];
  mysql: ReplicationPair;
  stop(): Promise<void>;
}

/** Starts them under dir, replicas linked; on a failure part-way, stops what did start. */
export async function startBenchServers(dir: string): Promise<BenchServers> {
  const nodes: RedisNode[] = [];
  let mysql: ReplicationPair | undefined;
  const stop = async () => { await Promise.allSettled([...nodes.map((n) => n.stop()), mysql?.stop()]); };
  try {
    process.stdout.write(`starting ${REDIS_PAIRS * 2} redis-server processes and a MariaDB pair...\n`);
    const ports = await freePorts(REDIS_PAIRS * 2);
    const masters = ports.slice(0, REDIS_PAIRS).map((p, i) => new RedisNode(join(dir, `m${i}`), p));
    nodes.push(...masters);
    await Promise.all(masters.map((n) => n.start()));
    const replicas = ports.slice(REDIS_PAIRS).map((p, i) => new RedisNode(join(dir, `r${i}`), p, ['--replicaof', '127.0.0.1', String(masters[i]!.port)]));
    nodes.push(...replicas);
    await Promise.all(replicas.map((n) => n.start()));
    mysql = await ReplicationPair.start();
    await waitFor(async () => (await Promise.all(replicas.map((r) => r.cli('INFO', 'replication')))).every((i) => /master_link_status:up/.test(i)), 60_000, 'replicas linked');
    return { masters, replicas, mysql, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
