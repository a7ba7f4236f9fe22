/**
 * More than ten nodes read in one run: one real redis-server answering on twelve loopback
 * addresses, as twelve redis targets and as twelve seeds of one redis_cluster target. Before
 * issue 17 the cluster put one abort listener per node on its run's AbortSignal, and Node
 * printed MaxListenersExceededWarning at the eleventh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisNode } from '../harness/redis.js';
import { checkConfig } from '../harness/cli.js';
import { freePort, tempDirs } from '../harness/proc.js';
import { agentUntil } from './hostile.js';

const ADDRESSES = 12;

describe('more than ten Redis nodes in one agent', () => {
  let real: RedisNode;
  let port: number;
  const dirs = tempDirs('robust-max-listeners');
  const hosts = Array.from({ length: ADDRESSES }, (_, i) => `127.0.0.${i + 1}`);
  before(async () => {
    port = await freePort();
    // A later --bind replaces the harness's 127.0.0.1 with all twelve.
    real = new RedisNode(join(dirs.make(), 'real'), port, ['--bind', ...hosts]);
    await real.start();
  });
  after(async () => {
    await real?.stop();
    dirs.removeAll();
  });

  test('twelve redis targets and a twelve-seed redis_cluster under imom agent: every line, no MaxListenersExceededWarning', async () => {
    const nodes = hosts.map((h) => `${h}:${port}`);
    const dir = dirs.make();
    const config = checkConfig(dir, `  redis:
    - name: many
      masters: [${nodes.join(', ')}]
  redis_cluster:
    - name: many
      nodes: [${nodes.join(', ')}]`, { interval: '2s', timeout: '5s' });
    const clusterLine = `CRITICAL: Cluster many is unreachable, tried ${nodes.join(', ')} (ERR This instance has cluster support disabled)`;
    const out = await agentUntil(config, `${dir}/check.log`, (lines) => lines.filter((l) => l === clusterLine).length >= 2, 60_000, 'two cycles of the cluster');
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /MaxListenersExceededWarning/);
    const roles = out.lines.filter((l) => l.startsWith('Status=OK, Node='));
    for (const n of nodes) assert.ok(roles.includes(`Status=OK, Node=${n}, Role=master`), `no OK line for ${n}`);
    assert.deepEqual(out.lines.filter((l) => !roles.includes(l) && l !== clusterLine), []);
  });
});
