import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { RedisCluster, byPort } from '../../../../test/harness/redis-cluster.js';
import { freePorts, removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, imom, linesOf, stripStamp, writeConfig } from '../../../../test/harness/cli.js';
import type { Target } from '../../core/check.js';
import { formatLine } from '../../core/format.js';
import { resultFactory } from '../../core/check.js';
import { redisClusterSchema } from './schema.js';
import { redisClusterTargets } from './check.js';
import { memoryResult } from './rules.js';
import { parseInfo } from '../../common/redis/info.js';
import { layoutPath, legacyLayoutPath } from './layout.js';

const HERE = new URL('.', import.meta.url).pathname;

let dir: string;
let stateDir: string;

/** The instance's own state folder under an agent state_dir, as the agent names it: `<state_dir>/redis_cluster/cache`. */
const instanceDir = (state: string) => join(state, 'redis_cluster', 'cache');

function target(cfg: Record<string, unknown>, state = stateDir): Target {
  const inst = redisClusterSchema.parse({ name: 'cache', ...cfg });
  return redisClusterTargets(inst, { stateDir: instanceDir(state) })[0]!;
}

async function lines(t: Target, opts: { timeoutMs?: number } = {}): Promise<string[]> {
  const ac = new AbortController();
  const res = await t.run({ signal: ac.signal, timeoutMs: opts.timeoutMs ?? 5000 });
  // Used memory moves between reads; everything else is exact.
  return res.map(formatLine).map((l) => l.replace(/Used_Memory=\d+/, 'Used_Memory=*'));
}

const memOk = (addrs: string[]) => [...addrs].sort(byPort).map((a) => `Status=OK, Cluster=cache, Node=${a}, Used_Memory=*, Maxmemory=0, Used_Ratio=NULL`);
const stateOk = (o: { nodes?: number; reachable?: number; masters?: number; slaves?: number } = {}) =>
  `Status=OK, Cluster=cache, Cluster_State=ok, Nodes=${o.nodes ?? 6}, Reachable_Nodes=${o.reachable ?? o.nodes ?? 6}, Masters=${o.masters ?? 3}, Slaves=${o.slaves ?? 3}, Slots_Assigned=16384, Slots_OK=16384, Slots_Pfail=0, Slots_Fail=0`;
const dist = (server: string, m: number, s: number, share: string, status = 'OK', same?: string) =>
  `Status=${status}, Cluster=cache, Server=${server}, Masters=${m}, Slaves=${s}, Even_Share=${share}${same ? `, Same_Server=${same}` : ''}`;

describe('redis_cluster check against a real 6-node Redis Cluster', () => {
  let c: RedisCluster;
  /** Masters m1..m3 (by port) and r1..r3, r<i> the replica of m<i>, as redis-cli --cluster create paired them. */
  let m1: string, m2: string, m3: string, r1: string, r2: string, r3: string;
  let all: string[];
  /** Three "servers", each with one master and another master's replica: the layout an operator wants. */
  let servers: Record<string, string[]>;
  /** The check under test with the observed layout: one target across tests, as the agent keeps it. */
  let observed: Target;
  let healthy: () => string[];

  before(async () => {
    dir = tempDir('redis-cluster-check');
    stateDir = join(dir, 'state');
    c = await RedisCluster.start({ nodeTimeoutMs: 2000 });
    const layout = await c.layout();
    assert.equal(layout.length, 3);
    [m1, m2, m3] = layout.map((x) => x.master) as [string, string, string];
    [r1, r2, r3] = layout.map((x) => { assert.equal(x.replicas.length, 1); return x.replicas[0]!; }) as [string, string, string];
    all = [m1, m2, m3, r1, r2, r3];
    servers = { A: [m1, r2], B: [m2, r3], C: [m3, r1] };
    observed = target({ nodes: all, servers });
    healthy = () => [stateOk(), dist('A', 1, 1, '1'), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'), ...memOk(all)];
  });
  after(async () => {
    await observed?.close?.();
    await c?.stop();
    removeDir(dir);
  });

  test('healthy: cluster_state ok, one distribution line per server, one memory line per node; the layout is recorded', async () => {
    assert.deepEqual(await lines(observed), healthy());
    const saved = JSON.parse(readFileSync(layoutPath(instanceDir(stateDir)), 'utf8')) as { nodes: Record<string, string> };
    assert.deepEqual(saved.nodes, Object.fromEntries([...all].sort(byPort).map((a) => [a, [m1, m2, m3].includes(a) ? 'master' : 'slave'])));
    // A second cycle reuses the connections and says the same.
    assert.deepEqual(await lines(observed), healthy());
  });

  test('check-distribution: a master and its own slave on one server is ERROR (not with single_server: true); by default the server is the ip', async () => {
    const byIp = await lines(target({ nodes: [m1] }));
    const pairs = [`${m1}>${r1}`, `${m2}>${r2}`, `${m3}>${r3}`].sort((a, b) => byPort(a.split('>')[1]!, b.split('>')[1]!)).join(';');
    assert.deepEqual(byIp, [stateOk(), dist('127.0.0.1', 3, 3, '3', 'ERROR', pairs), ...memOk(all)]);

    const together = await lines(target({ nodes: all, servers: { A: [m1, r1], B: [m2, r3], C: [m3, r2] } }));
    assert.deepEqual(together, [stateOk(), dist('A', 1, 1, '1', 'ERROR', `${m1}>${r1}`), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'), ...memOk(all)]);
    // A cluster on one server by design says so: its masters beside their own slaves are then expected.
    assert.deepEqual(await lines(target({ nodes: [m1], single_server: true })), [stateOk(), dist('127.0.0.1', 3, 3, '3'), ...memOk(all)]);
  });

  test('check-distribution: masters piled on one server are ERROR beyond max_master_skew', async () => {
    const piled = { A: [m1, m2, m3], B: [r1, r2, r3] };
    assert.deepEqual(await lines(target({ nodes: all, servers: piled, max_master_skew: 0 })), [
      stateOk(), dist('A', 3, 0, '1.5', 'ERROR'), dist('B', 0, 3, '1.5', 'ERROR'), ...memOk(all),
    ]);
    // Within the default tolerance of one master above or below the even share.
    assert.deepEqual(await lines(target({ nodes: all, servers: piled })), [stateOk(), dist('A', 3, 0, '1.5'), dist('B', 0, 3, '1.5'), ...memOk(all)]);
  });

  test('CLUSTER FAILOVER: the replica is failovered, the old master failbacked (observed and configured layout)', async () => {
    await c.failover(r1);
    try {
      const expected = [
        stateOk(), dist('A', 0, 2, '1'), dist('B', 1, 1, '1'), dist('C', 2, 0, '1'),
        `ERROR: Node ${r1} is expected to be slave but found master (failovered)`,
        `ERROR: Node ${m1} is expected to be master but found slave (failbacked)`,
        ...memOk(all),
      ];
      assert.deepEqual(await lines(observed), expected);
      // The same against `masters:` from the config, with no state folder history.
      assert.deepEqual(await lines(target({ nodes: [m2], servers, masters: [m1, m2, m3] }, join(dir, 'state-configured'))), expected);
      assert.equal(existsSync(layoutPath(instanceDir(join(dir, 'state-configured')))), false, 'a configured layout is not persisted');
    } finally {
      await c.failover(m1);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('memory: used_memory over max_memory_ratio of maxmemory is ERROR; writes refused (noeviction) is CRITICAL OOM', async () => {
    const info = async () => parseInfo(String(await c.cmd(m2, 'INFO', 'memory')));
    const slotsOfM2 = (await c.clusterNodes(m2)).find((l) => l.addr === m2)!;
    assert.ok(slotsOfM2.slots > 0);
    // A hash tag that lands in m2's slots, so the keys are written where the memory is capped.
    let tag = '';
    for (let i = 0; !tag; i++) {
      if (await ownsSlot(c, m2, Number(await c.cmd(m2, 'CLUSTER', 'KEYSLOT', `t${i}`)))) tag = `t${i}`;
    }
    const used = Number((await info()).get('used_memory'));
    const max = used + 4 * 1024 * 1024;
    await c.cmd(m2, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction', 'maxmemory', max);
    try {
      const value = 'x'.repeat(64 * 1024);
      for (let i = 0; Number((await info()).get('used_memory')) / max < 0.92; i++) await c.cmd(m2, 'SET', `{${tag}}:${i}`, value);
      const over = await lines(observed);
      const i2 = over.findIndex((l) => l.startsWith(`ERROR: Node ${m2} `));
      assert.match(over[i2] ?? '', new RegExp(`^ERROR: Node ${m2} used_memory is 9\\d\\.\\d% of maxmemory \\(used_memory=\\d+, maxmemory=${max}, max_memory_ratio=0\\.9\\)$`));
      assert.deepEqual(over.filter((_, i) => i !== i2), healthy().filter((l) => !l.includes(`Node=${m2},`)));

      // maxmemory below what is held: Redis refuses writes with OOM.
      const low = Math.floor(Number((await info()).get('used_memory')) * 0.8);
      await c.cmd(m2, 'CONFIG', 'SET', 'maxmemory', low);
      await assert.rejects(c.cmd(m2, 'SET', `{${tag}}:more`, value), /OOM/);
      const oom = await lines(observed);
      assert.match(oom.find((l) => l.includes(m2) && l.startsWith('CRITICAL')) ?? '', new RegExp(`^CRITICAL: Node ${m2} is OOM \\(used_memory=\\d+, maxmemory=${low}, maxmemory_policy=noeviction\\)$`));
    } finally {
      await c.cmd(m2, 'FLUSHALL');
      await c.cmd(m2, 'CONFIG', 'SET', 'maxmemory', 0);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('kill a master: CRITICAL fail and cluster_state fail, then its replica takes over (failovered, no-slave), then it comes back as a slave (failbacked)', async () => {
    // Hold the replica back so the fail state can be observed before the takeover.
    await c.cmd(r3, 'CONFIG', 'SET', 'cluster-replica-no-failover', 'yes');
    await c.kill(m3);
    const m3id = (await c.layout()).find((x) => x.master === m3)?.id;
    await c.waitViews(`${m3} flagged fail`, (ls, info) => info.get('cluster_state') === 'fail' && ls.some((l) => l.addr === m3 && l.flags.includes('fail')));
    const five = all.filter((a) => a !== m3);
    const reachable = [...five].sort(byPort).join(', ');
    assert.deepEqual(await lines(observed), [
      `CRITICAL: Cluster cache state is fail on 5 of 5 reachable nodes (${reachable})`,
      `CRITICAL: Node ${m3} is in fail state`,
      dist('A', 1, 1, '0.67'), dist('B', 1, 1, '0.67'), dist('C', 0, 1, '0.67'),
      ...memOk(five),
    ]);

    await c.cmd(r3, 'CONFIG', 'SET', 'cluster-replica-no-failover', 'no');
    await c.waitViews(`${r3} to take over`, (ls, info) => info.get('cluster_state') === 'ok' && ls.some((l) => l.addr === r3 && l.flags.includes('master') && l.slots > 0));
    assert.deepEqual(await lines(observed), [
      stateOk({ reachable: 5, slaves: 2 }),
      `ERROR: Node ${m3} is in fail state`,
      dist('A', 1, 1, '1'), dist('B', 2, 0, '1'), dist('C', 0, 1, '1'),
      `ERROR: Master ${r3} has no slave`,
      `ERROR: Node ${r3} is expected to be slave but found master (failovered)`,
      ...memOk(five),
    ]);
    assert.ok(m3id);

    await c.restart(m3);
    await c.waitHealthy();
    assert.deepEqual(await lines(observed), [
      stateOk(), dist('A', 1, 1, '1'), dist('B', 2, 0, '1'), dist('C', 0, 2, '1'),
      `ERROR: Node ${r3} is expected to be slave but found master (failovered)`,
      `ERROR: Node ${m3} is expected to be master but found slave (failbacked)`,
      ...memOk(all),
    ]);
    await c.failover(m3);
    assert.deepEqual(await lines(observed), healthy());
  });

  test('lost nodes.conf: the old id is noaddr until CLUSTER FORGET; the node is outside, then an empty master (no-slot), then a slave again', async () => {
    const { oldId, newId } = await c.restartWithLostNodesConf(r2);
    assert.notEqual(oldId, newId);
    const members = all.filter((a) => a !== r2);
    await c.waitViews(`${oldId} to be noaddr`, (ls, _info, addr) => addr === r2 || ls.some((l) => l.id === oldId && l.flags.includes('noaddr')));
    const five = members;
    const noSlave = `ERROR: Master ${m2} has no slave`;
    const outside = `ERROR: Node ${r2} is not part of cluster cache (cluster_known_nodes:1)`;
    assert.deepEqual(await lines(observed), [
      stateOk({ nodes: 5, slaves: 2 }),
      outside,
      `ERROR: Node ${oldId} is in noaddr state, remove it with CLUSTER FORGET`,
      dist('A', 1, 0, '1'), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'),
      noSlave,
      ...memOk(five),
    ]);

    await c.forget(oldId);
    assert.deepEqual(await lines(observed), [
      stateOk({ nodes: 5, slaves: 2 }), outside, dist('A', 1, 0, '1'), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'), noSlave, ...memOk(five),
    ]);

    await c.meet(r2, m1);
    await c.waitHealthy();
    assert.deepEqual(await lines(observed), [
      stateOk({ masters: 4, slaves: 2 }),
      dist('A', 2, 0, '1.33'), dist('B', 1, 1, '1.33'), dist('C', 1, 1, '1.33'),
      noSlave,
      `ERROR: Master ${r2} has no slots`,
      ...memOk(all),
    ]);

    await c.replicate(r2, m2);
    assert.deepEqual(await lines(observed), healthy());
  });

  test('redis-cli --cluster add-node: a master without slots is no-slot, on the server named by its ip', async () => {
    const extra = await c.addEmptyMaster();
    try {
      assert.deepEqual(await lines(observed), [
        stateOk({ nodes: 7, masters: 4 }),
        dist('A', 1, 1, '1'), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'), dist('127.0.0.1', 1, 0, '1'),
        `ERROR: Master ${extra.addr} has no slots`,
        ...memOk([...all, extra.addr]),
      ]);
      const saved = JSON.parse(readFileSync(layoutPath(instanceDir(stateDir)), 'utf8')) as { nodes: Record<string, string> };
      assert.equal(saved.nodes[extra.addr], undefined, 'a master without slots is not part of the baseline');
    } finally {
      await c.removeNode(extra.addr);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('peers cannot dial a node (its bus cut): ERROR disconnected, though the agent still reads it', async () => {
    const [closed] = await freePorts(1);
    await c.cutBus(r1, closed);
    try {
      await c.waitViews(`${r1} disconnected`, (ls, _info, addr) => addr === r1 || ls.some((l) => l.addr === r1 && l.link === 'disconnected'));
      const cut = await lines(observed);
      const h = healthy();
      assert.deepEqual(cut, [h[0]!, `ERROR: Node ${r1} is disconnected`, ...h.slice(1)]);
    } finally {
      await c.cutBus(r1, undefined);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('a node cut off the cluster bus both ways (a proxy in front of every bus port): it flags every peer pfail, they flag it fail, the agent still reads it', async () => {
    const undo = await c.isolateBus(r1);
    try {
      await c.waitViews(`${r1} cut off the bus`, (ls, info, addr) => addr === r1
        ? info.get('cluster_state') === 'fail' && ls.every((l) => l.flags.includes('myself') || l.flags.includes('fail?'))
        : ls.some((l) => l.addr === r1 && l.flags.includes('fail'))).catch(async (e) => {
        for (const n of c.liveNodes()) console.error(n.addr, n.busPort, (await c.clusterInfo(n.addr)).get('cluster_state'), String(await c.cmd(n.addr, 'CLUSTER', 'NODES')).split('\n').map((l) => l.split(' ').slice(1, 3).join(' ')).join(' | '));
        throw e;
      });
      assert.deepEqual(await lines(observed), [
        `CRITICAL: Cluster cache state is fail on 1 of 6 reachable nodes (${r1})`,
        ...[...all].sort(byPort).map((a) => (a === r1 ? `ERROR: Node ${r1} is in fail state` : `ERROR: Node ${a} is in pfail state`)),
        dist('A', 1, 1, '1'), dist('B', 1, 1, '1'), dist('C', 1, 0, '1'),
        `ERROR: Master ${m1} has no slave`,
        ...memOk(all),
      ]);
    } finally {
      await undo();
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('a slot no node serves while cluster_state is ok (cluster-require-full-coverage no): ERROR with the count instead of the OK state line', async () => {
    const slot = 16383;
    let owner: string | undefined;
    for (const a of [m1, m2, m3]) if (await ownsSlot(c, a, slot)) owner = a;
    assert.ok(owner);
    try {
      for (const a of all) await c.cmd(a, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'no');
      // Every node forgets it: a slot given up by its owner alone stays assigned in the others' views.
      for (const a of all) await c.cmd(a, 'CLUSTER', 'DELSLOTS', slot);
      await c.waitViews('slot 16383 unassigned everywhere', (_ls, info) => info.get('cluster_slots_assigned') === '16383' && info.get('cluster_state') === 'ok');
      assert.deepEqual(await lines(observed), [`ERROR: Cluster cache has 16383 of 16384 slots assigned, though cluster_state is ok`, ...healthy().slice(1)]);
    } finally {
      await c.cmd(owner, 'CLUSTER', 'ADDSLOTS', slot);
      await c.waitViews('slot 16383 assigned again', (_ls, info) => info.get('cluster_slots_assigned') === '16384');
      for (const a of all) await c.cmd(a, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'yes');
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('a node the agent cannot dial while the cluster sees it fine: unreachable, CRITICAL for a master with slots', async () => {
    const [closed] = await freePorts(1);
    const gone = `127.0.0.1:${closed}`;
    await c.announcePort(m1, closed);
    try {
      const t = target({ nodes: [m2], servers: { A: [gone, r2], B: [m2, r3], C: [m3, r1] }, masters: [gone, m2, m3] }, join(dir, 'state-announce'));
      assert.deepEqual(await lines(t), [
        stateOk({ reachable: 5 }),
        `CRITICAL: Node ${gone} is unreachable (connect ECONNREFUSED ${gone})`,
        dist('A', 1, 1, '1'), dist('B', 1, 1, '1'), dist('C', 1, 1, '1'),
        ...memOk(all.filter((a) => a !== m1)),
      ]);
      await t.close?.();
    } finally {
      await c.announcePort(m1, undefined);
    }
    assert.deepEqual(await lines(observed), healthy());
  });

  test('an unreadable layout file is one ERROR line; failovered/failbacked are then not checked, and the file is left alone', async () => {
    const state = join(dir, 'state-corrupt');
    const path = layoutPath(instanceDir(state));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{ not json');
    const t = target({ nodes: all, servers }, state);
    const h = healthy();
    const got = await lines(t);
    assert.equal(got.length, h.length + 1);
    assert.match(got[4]!, new RegExp(`^ERROR: Cluster cache layout file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is unreadable \\(.+\\); failovered/failbacked are not checked$`));
    assert.deepEqual([...got.slice(0, 4), ...got.slice(5)], h);
    assert.equal(readFileSync(path, 'utf8'), '{ not json');
    await t.close?.();
  });

  test('a layout file at its old place (<state_dir>/redis_cluster/<name>.layout.json) is moved into the instance folder and used', async () => {
    const state = join(dir, 'state-legacy');
    const legacy = join(state, 'redis_cluster', 'cache.layout.json');
    mkdirSync(join(state, 'redis_cluster'), { recursive: true });
    // m1 and r1 swapped: lines that only this file can explain.
    const nodes = Object.fromEntries([...all].sort(byPort).map((a) => [a, [r1, m2, m3].includes(a) ? 'master' : 'slave']));
    const old = `${JSON.stringify({ version: 1, cluster: 'cache', nodes, updated: '2024-09-02T08:00:00.000Z' }, null, 2)}\n`;
    writeFileSync(legacy, old);
    const t = target({ nodes: all, servers }, state);
    try {
      const h = healthy();
      assert.deepEqual(await lines(t), [
        ...h.slice(0, 4),
        `ERROR: Node ${m1} is expected to be slave but found master (failovered)`,
        `ERROR: Node ${r1} is expected to be master but found slave (failbacked)`,
        ...h.slice(4),
      ]);
      assert.equal(existsSync(legacy), false, 'the old file is moved, not copied');
      assert.equal(readFileSync(layoutPath(instanceDir(state)), 'utf8'), old, 'moved as it was: every node was already in it');

      // A file left at the old place later is not looked at again: the instance folder's file wins.
      writeFileSync(legacy, '{ not json');
      assert.equal((await lines(t)).length, h.length + 2);
      assert.equal(readFileSync(legacy, 'utf8'), '{ not json');
    } finally {
      await t.close?.();
    }
    // A new target (an agent restart) with both files: the instance folder's is used, the old one left alone.
    const again = target({ nodes: all, servers }, state);
    try {
      assert.equal((await lines(again)).length, healthy().length + 2);
      assert.equal(readFileSync(legacy, 'utf8'), '{ not json');
    } finally {
      await again.close?.();
    }
  });

  test('privileges: a user allowed INFO, CLUSTER NODES and CLUSTER INFO only reads the whole cluster', async () => {
    for (const a of all) await c.cmd(a, 'ACL', 'SETUSER', 'monitor', 'on', '>monitor-Pw-7', '-@all', '+info', '+cluster|nodes', '+cluster|info');
    const t = target({ nodes: [m1], servers, username: 'monitor', password: 'monitor-Pw-7' }, join(dir, 'state-monitor'));
    try {
      assert.deepEqual(await lines(t), healthy());
    } finally {
      await t.close?.();
      for (const a of all) await c.cmd(a, 'ACL', 'DELUSER', 'monitor');
    }
  });

  test('password (through the CLI): lines and log never show it; a wrong one is one CRITICAL line with the server reason, exit 1', async () => {
    const PASSWORD = 'cl5ster-S3cret-xyz';
    const WRONG = 'n0t-the-Cl5ster-pw';
    await c.setPassword(PASSWORD);
    try {
      const cliDir = join(dir, 'cli');
      mkdirSync(cliDir, { recursive: true });
      const cfg = checkConfig(cliDir, `
  redis_cluster:
    - name: cache
      password: \${IMOM_REDIS_CLUSTER_PASSWORD}
      nodes: [${all.join(', ')}]
      servers: { A: [${servers.A!.join(', ')}], B: [${servers.B!.join(', ')}], C: [${servers.C!.join(', ')}] }
`, { timeout: '5s' });
      const ok = await imom(['check', '--config', cfg, '--once', '--only', 'redis_cluster'], { env: { IMOM_REDIS_CLUSTER_PASSWORD: PASSWORD } });
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      assert.deepEqual(linesOf(ok.stdout).map(stripStamp).map((l) => l.replace(/Used_Memory=\d+/, 'Used_Memory=*')), healthy());

      const bad = await imom(['check', '--config', cfg, '--once', '--only', 'redis_cluster'], { env: { IMOM_REDIS_CLUSTER_PASSWORD: WRONG } });
      assert.equal(bad.code, 1);
      assert.deepEqual(linesOf(bad.stdout).map(stripStamp), [
        `CRITICAL: Cluster cache is unreachable, tried ${all.join(', ')} (WRONGPASS invalid username-password pair or user is disabled.)`,
      ]);
      for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr, readFileSync(`${cliDir}/check.log`, 'utf8')]) {
        assert.ok(!out.includes(PASSWORD) && !out.includes(WRONG), 'a password leaked');
      }
      // No password at all: the server's NOAUTH, in one line.
      assert.deepEqual(await lines(target({ nodes: [m1] })), [`CRITICAL: Cluster cache is unreachable, tried ${m1} (NOAUTH Authentication required.)`]);
      // A crash or timeout message that happens to carry the secret is redacted too.
      const t = target({ nodes: [m1], password: PASSWORD });
      assert.deepEqual(t.failure(`boom ${PASSWORD}`, new Date()).map(formatLine), ['CRITICAL: Cluster cache is unreachable (boom ****)']);
    } finally {
      await c.setPassword(undefined);
    }
  });
});

/** A TCP server that accepts and never answers; counts the connections it accepted and those still open. */
async function startBlackhole(): Promise<{ port: number; accepted(): number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const srv = createServer((s) => { accepted++; sockets.add(s); s.resume(); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  const port = await new Promise<number>((res) => srv.listen(0, '127.0.0.1', () => res((srv.address() as AddressInfo).port)));
  return {
    port,
    accepted: () => accepted,
    connections: () => sockets.size,
    close: () => new Promise((res) => { for (const s of sockets) s.destroy(); srv.close(() => res()); }),
  };
}

/** Whether `addr` serves `slot`, from its own CLUSTER SLOTS. */
async function ownsSlot(c: RedisCluster, addr: string, slot: number): Promise<boolean> {
  const slots = (await c.cmd(addr, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const port = Number(addr.split(':')[1]);
  return slots.some(([a, b, master]) => slot >= a && slot <= b && Number(master[1]) === port);
}

describe('redis_cluster check without a cluster', () => {
  before(() => {
    dir = tempDir('redis-cluster-nocluster');
    stateDir = join(dir, 'state');
  });
  after(() => removeDir(dir));

  test('no node answers: one CRITICAL line naming the nodes tried', async () => {
    const [p1, p2] = await freePorts(2);
    const t = target({ nodes: [`127.0.0.1:${p1}`, `127.0.0.1:${p2}`] });
    assert.deepEqual(await lines(t), [
      `CRITICAL: Cluster cache is unreachable, tried 127.0.0.1:${p1}, 127.0.0.1:${p2} (connect ECONNREFUSED 127.0.0.1:${p1}; connect ECONNREFUSED 127.0.0.1:${p2})`,
    ]);
    await t.close?.();
  });

  test('a node that accepts but never answers is reported as timed out within the target timeout', async () => {
    const hole = await startBlackhole();
    const t = target({ nodes: [`127.0.0.1:${hole.port}`] });
    try {
      // The line names the check's own I/O budget (400 ms of the 500 ms target timeout), not some other timer.
      assert.deepEqual(await lines(t, { timeoutMs: 500 }), [`CRITICAL: Cluster cache is unreachable, tried 127.0.0.1:${hole.port} (timed out after 400ms)`]);
      // The timeout ended the read: the node saw its connection dropped, before close().
      assert.equal(hole.accepted(), 1, 'the check connected to the node');
      await waitFor(() => hole.connections() === 0, 5000, 'the timed-out connection to be dropped');
    } finally {
      await t.close?.();
      await hole.close();
    }
  });

  test('ctx.signal aborts a run at once; failure() gives the line; close() releases the connections', async () => {
    const hole = await startBlackhole();
    const t = target({ nodes: [`127.0.0.1:${hole.port}`] });
    try {
      const ac = new AbortController();
      const run = t.run({ signal: ac.signal, timeoutMs: 60_000 });
      // Abort once the run is blocked on the node, not after a guessed delay.
      await waitFor(() => hole.accepted() === 1, 5000, 'the run to connect');
      ac.abort(new Error('timeout after 200ms'));
      // The signal's own error, not the 48 s I/O budget's "timed out after": the abort ended the run.
      await assert.rejects(run, /^Error: timeout after 200ms$/);
      // And it dropped the connection itself, before close().
      await waitFor(() => hole.connections() === 0, 5000, 'the aborted connection to be dropped');
      assert.deepEqual(t.failure('timeout after 200ms', new Date()).map(formatLine), ['CRITICAL: Cluster cache is unreachable (timeout after 200ms)']);
      await t.close?.();
      await waitFor(() => hole.connections() === 0, 5000, 'the connection to close');
    } finally {
      await hole.close();
    }
  });

  test('isOOM:true in INFO memory (flashbase) is CRITICAL; over the ratio is ERROR; else OK with the figures', () => {
    const r = resultFactory('redis_cluster', 'cache');
    const flashbase = '# Memory\r\nused_memory:1073741824\r\nused_memory_human:1.00G\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\nisOOM:true\r\n';
    assert.equal(formatLine(memoryResult(r, 'cache', '127.0.0.1:18202', parseInfo(flashbase), 0.9)), 'CRITICAL: Node 127.0.0.1:18202 is OOM (isOOM:true)');
    const near = 'used_memory:950\r\nmaxmemory:1000\r\nmaxmemory_policy:allkeys-lru\r\nisOOM:false\r\n';
    assert.equal(formatLine(memoryResult(r, 'cache', '127.0.0.1:18202', parseInfo(near), 0.9)),
      'ERROR: Node 127.0.0.1:18202 used_memory is 95.0% of maxmemory (used_memory=950, maxmemory=1000, max_memory_ratio=0.9)');
    // At maxmemory with an eviction policy: keys are evicted, writes still succeed: ERROR, not OOM.
    assert.equal(formatLine(memoryResult(r, 'cache', '127.0.0.1:18202', parseInfo('used_memory:1200\nmaxmemory:1000\nmaxmemory_policy:allkeys-lru\n'), 0.9)),
      'ERROR: Node 127.0.0.1:18202 used_memory is 120.0% of maxmemory (used_memory=1200, maxmemory=1000, max_memory_ratio=0.9)');
    assert.equal(formatLine(memoryResult(r, 'cache', '127.0.0.1:18202', parseInfo('used_memory:500\nmaxmemory:1000\n'), 0.9)),
      'Status=OK, Cluster=cache, Node=127.0.0.1:18202, Used_Memory=500, Maxmemory=1000, Used_Ratio=0.5');
  });

  test('the old layout place is the agent folder of the check with the name made file-safe, as it was named', () => {
    assert.equal(legacyLayoutPath('/var/lib/imom/redis_cluster/eu/cache 1', 'eu/cache 1'), '/var/lib/imom/redis_cluster/eu_cache_1.layout.json');
    assert.equal(legacyLayoutPath('/var/lib/imom/redis_cluster/cache', 'cache'), '/var/lib/imom/redis_cluster/cache.layout.json');
    assert.equal(legacyLayoutPath('/var/lib/imom//redis_cluster/cache', 'cache'), '/var/lib/imom/redis_cluster/cache.layout.json');
    assert.equal(legacyLayoutPath('/elsewhere/state', 'cache'), undefined);
  });

  test('config: sample.yaml validates; a node listed under two servers is an error naming the path', async () => {
    const ok = await imom(['config', 'validate', join(HERE, 'sample.yaml')], { env: { IMOM_REDIS_CLUSTER_PASSWORD: 'x' } });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const bad = redisClusterSchema.safeParse({ name: 'c', nodes: ['10.0.0.1:7000'], servers: { a: ['10.0.0.1:7000'], b: ['10.0.0.1:7000'] } });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['servers.b.0: 10.0.0.1:7000 is already listed under server "a"']);
    const both = redisClusterSchema.safeParse({ name: 'c', nodes: ['10.0.0.1:7000'], single_server: true, servers: { a: ['10.0.0.1:7000'] } });
    assert.deepEqual(both.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['single_server: single_server: true says every node is on one server; drop servers: or single_server:']);
    const cfg = writeConfig(dir, 'checks:\n  redis_cluster:\n    - name: c\n      nodes: [10.0.0.1:7000]\n      max_memory_ratio: 1.5\n');
    const r = await imom(['config', 'validate', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr + r.stdout, /checks\.redis_cluster\[0\]\.max_memory_ratio/);
  });
});
