/**
 * The redis_cluster check against a hostile Redis (resp-server.ts) in each of the six modes:
 * alone through `imom check --once`, and under `imom agent` beside a real redis-server (watched
 * by the redis check), which must keep reporting while the agent lives within its RSS bound.
 * Then views no real cluster gives: more nodes than the check evaluates, one address under two ids.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RedisNode } from '../harness/redis.js';
import { checkConfig, checkOnce } from '../harness/cli.js';
import { freePort, tempDirs } from '../harness/proc.js';
import { AGENT_RSS_LIMIT, MODES, agentUntil, startHostile, type HostileServer, type Mode } from './hostile.js';
import { respProtocol, SELF_LINE, startAnswering } from './resp-server.js';

const MAX_REPLY_BYTES = 1048576;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The cluster's line in each mode, with the hostile server as its only seed. */
function expected(mode: Mode, address: string): string | RegExp {
  const line = (reason: string) => `CRITICAL: Cluster hostile is unreachable, tried ${address} (${reason})`;
  switch (mode) {
    case 'random': return new RegExp(`^${escape(`CRITICAL: Cluster hostile is unreachable, tried ${address} (protocol error: `)}(unexpected reply type|bad number|control byte in a line|bulk string not followed by CRLF)\\)$`);
    case 'truncated': return line('Connection is closed.');
    case 'oversized': return line(`reply over ${MAX_REPLY_BYTES} bytes`);
    case 'extra': return line('protocol error: more replies than commands');
    // 80% of the 2s timeout: the share the reads may take.
    case 'silent': return line('timed out after 1600ms');
    case 'close': return line('Connection is closed.');
  }
}

const matches = (line: string, want: string | RegExp) => (typeof want === 'string' ? line === want : want.test(line));

/** `n` peer lines, each a master on its own address that refuses connections (port 1 of 127.1.x.y), not dialled when over the limit. */
function peers(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = i.toString(16).padStart(40, '0');
    out.push(`${id} 127.1.${i >> 8}.${i & 255}:1@10001 master - 0 0 1 connected`);
  }
  return out.join('\n');
}

describe('redis_cluster check against a hostile server', () => {
  let real: RedisNode;
  const dirs = tempDirs('robust-redis-cluster');
  const servers: { close(): Promise<void> }[] = [];
  before(async () => {
    real = new RedisNode(join(dirs.make(), 'real'), await freePort());
    await real.start();
  });
  after(async () => {
    await Promise.allSettled(servers.map((h) => h.close()));
    await real?.stop();
    dirs.removeAll();
  });

  const hostile = async (mode: Mode) => {
    const h = await startHostile(respProtocol(), mode);
    servers.push(h);
    return h;
  };
  const answering = async (clusterNodes: string) => {
    const s = await startAnswering(respProtocol({ clusterNodes }));
    servers.push(s);
    return s;
  };
  const hostileEntry = (h: HostileServer) => `
    - name: hostile
      nodes: [${h.address}]
      timeout: 2s`;

  for (const mode of MODES) {
    test(`${mode}: imom check --once writes the cluster's CRITICAL line and exits 1`, async () => {
      const h = await hostile(mode);
      const r = await checkOnce(checkConfig(dirs.make(), `  redis_cluster:${hostileEntry(h)}`));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.lines.length, 1, r.stdout);
      assert.ok(matches(r.lines[0]!, expected(mode, h.address)), `${r.lines[0]} should be ${expected(mode, h.address)}`);
    });

    test(`${mode}: under imom agent, the hostile cluster gets its line every cycle, a real node keeps reporting, the agent lives and stays under its RSS bound`, async () => {
      const h = await hostile(mode);
      const dir = dirs.make();
      const config = checkConfig(dir, `  redis_cluster:${hostileEntry(h)}
  redis:
    - name: healthy
      masters: [${real.address}]`, { interval: '2s', timeout: '5s' });
      const healthy = (l: string) => l === `Status=OK, Node=${real.address}, Role=master`;
      const isHostile = (l: string) => l.startsWith('CRITICAL: Cluster hostile ');
      const out = await agentUntil(config, `${dir}/check.log`, (lines) => {
        const first = lines.findIndex(isHostile);
        return first >= 0 && lines.filter(isHostile).length >= 2 && lines.slice(first).filter(healthy).length >= 2;
      }, 60_000, `two cycles of the hostile cluster (${mode}) and the real node`);
      assert.equal(out.code, 0, out.stderr);
      for (const l of out.lines.filter(isHostile)) assert.ok(matches(l, expected(mode, h.address)), `${l} should be ${expected(mode, h.address)}`);
      assert.ok(out.peakRss < AGENT_RSS_LIMIT, `peak RSS ${out.peakRss} bytes`);
      process.stdout.write(`# redis_cluster ${mode}: peak agent RSS ${(out.peakRss / 1024 ** 2).toFixed(1)} MB, ${h.bytesSent()} bytes sent by the hostile server\n`);
    });
  }

  for (const n of [1001, 20_000]) {
    test(`a CLUSTER NODES of ${n} nodes is refused with one line, its peers not followed`, async () => {
      const s = await answering(`${SELF_LINE}\n${peers(n - 1)}\n`);
      // 20,000 lines are about 1.5 MB: over the default cap, so the cap is raised to reach the node limit.
      const r = await checkOnce(checkConfig(dirs.make(), `  redis_cluster:
    - name: big
      nodes: [${s.address}]
      max_reply_bytes: 8388608
      timeout: 2s`));
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.lines, [`CRITICAL: Cluster big is not checked: CLUSTER NODES of ${s.address} lists ${n} nodes, over the limit of 1000`]);
    });
  }

  test('one address under two ids (a confused view): each line is written once', async () => {
    const closed = await freePort();
    const slave = (id: string) => `${id} 127.0.0.1:${closed}@${closed + 10000} slave ${SELF_LINE.slice(0, 40)} 0 0 1 connected`;
    const s = await answering(`${SELF_LINE}\n${slave('a'.repeat(40))}\n${slave('b'.repeat(40))}\n`);
    const r = await checkOnce(checkConfig(dirs.make(), `  redis_cluster:
    - name: dup
      nodes: [${s.address}]`));
    assert.equal(r.code, 1, r.stderr);
    const twin = `127.0.0.1:${closed}`;
    assert.deepEqual(r.lines, [
      'Status=OK, Cluster=dup, Cluster_State=ok, Nodes=3, Reachable_Nodes=1, Masters=1, Slaves=2, Slots_Assigned=16384, Slots_OK=16384, Slots_Pfail=0, Slots_Fail=0',
      `ERROR: Node ${twin} is unreachable (connect ECONNREFUSED ${twin})`,
      `Status=ERROR, Cluster=dup, Server=127.0.0.1, Masters=1, Slaves=2, Even_Share=1, Same_Server=${s.address}>${twin};${s.address}>${twin}`,
      `Status=OK, Cluster=dup, Node=${s.address}, Used_Memory=1000000, Maxmemory=0, Used_Ratio=NULL`,
    ]);
  });
});
