import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SolrCloud, SolrStandalone, solrCycle, solrGet } from '../../../../test/harness/solr.js';
import { startBlackhole } from '../../../../test/harness/redis.js';
import { freePort, removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';
import { formatLine } from '../../core/format.js';
import { solrCheck } from './index.js';
import { nodeHostPort, shardLines, summarizeCluster } from './check.js';

/** One cycle of the check in-process, lines sorted. */
const cycle = async (dir: string, instance: Record<string, unknown>, timeoutMs = 10_000) => (await solrCycle(dir, instance, timeoutMs)).sort();

/** `imom check --once` with a config holding one solr instance; LOG_FILE lines without the stamp, sorted. */
async function cli(dir: string, solrYaml: string, env: NodeJS.ProcessEnv = {}) {
  const cfg = checkConfig(dir, `
  solr:
    - name: search
${solrYaml.replace(/^/gm, '      ')}
`);
  const r = await checkOnce(cfg, { env });
  return { ...r, lines: r.lines.sort() };
}

test('node_name to host:port, and replica states counted per node', () => {
  assert.equal(nodeHostPort('10.100.41.69:8983_solr'), '10.100.41.69:8983');
  assert.equal(nodeHostPort('solr-1.example:8983_'), 'solr-1.example:8983');
  const v = summarizeCluster({
    live_nodes: ['10.0.0.1:8983_solr'],
    collections: { c: { shards: { s1: { replicas: {
      a: { node_name: '10.0.0.1:8983_solr', state: 'active' },
      b: { node_name: '10.0.0.2:8983_solr', state: 'active' },
      d: { node_name: '10.0.0.1:8983_solr', state: 'recovering' },
    } } } } },
  });
  assert.deepEqual([...v.nodes.keys()].sort(), ['10.0.0.1:8983', '10.0.0.2:8983']);
  assert.deepEqual([...v.nodes.get('10.0.0.1:8983')!.states], [['active', 1], ['recovering', 1]]);
  // A node missing from live_nodes never published "down" when it was killed: its replicas count as down.
  assert.deepEqual([...v.nodes.get('10.0.0.2:8983')!.states], [['down', 1]]);
});

test('per shard: no active replica, or active replicas and no live leader, is one line naming the shard', () => {
  const v = summarizeCluster({
    live_nodes: ['10.0.0.1:8983_solr'],
    collections: { web: { shards: {
      shard1: { state: 'active', replicas: { a: { node_name: '10.0.0.1:8983_solr', state: 'active', leader: 'true' } } },
      // Its leader was on the dead node: the flag stays until the election.
      shard2: { state: 'active', replicas: { b: { node_name: '10.0.0.2:8983_solr', state: 'active', leader: 'true' }, c: { node_name: '10.0.0.1:8983_solr', state: 'active' } } },
      shard3: { state: 'active', replicas: { d: { node_name: '10.0.0.1:8983_solr', state: 'recovering' }, e: { node_name: '10.0.0.2:8983_solr', state: 'active' } } },
      // A split's parent: not served, not reported.
      shard4: { state: 'inactive', replicas: {} },
    } } },
  });
  assert.deepEqual(shardLines(v), [
    'Shard web/shard2 has no leader (active on 10.0.0.1:8983)',
    'Shard web/shard3 has no active replica (down on 10.0.0.2:8983, recovering on 10.0.0.1:8983)',
  ]);
});

test('config: one URL or a list, /solr by default, no credentials in URLs, password needs username', () => {
  const one = solrCheck.schema.parse({ name: 's', url: 'http://10.100.41.69:8983' });
  assert.deepEqual(one.url, [{ base: 'http://10.100.41.69:8983/solr', hostPort: '10.100.41.69:8983', text: 'http://10.100.41.69:8983' }]);
  assert.equal(one.mode, 'cloud');
  const two = solrCheck.schema.parse({ name: 's', mode: 'standalone', url: ['http://a:8983/solr/', 'https://b/search'] });
  assert.deepEqual(two.url.map((u: { base: string; hostPort: string }) => [u.base, u.hostPort]), [['http://a:8983/solr', 'a:8983'], ['https://b/search', 'b:443']]);
  const bad = (v: Record<string, unknown>) => {
    const r = solrCheck.schema.safeParse({ name: 's', ...v });
    assert.ok(!r.success);
    return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(bad({ url: ['http://u:secret@a:8983/solr'] }), ['url.0: put the credentials in username and password, not in the URL']);
  assert.deepEqual(bad({ url: 'http://a:8983', password: 'x' }), ['username: password is set, so username is required']);
  assert.deepEqual(bad({ url: ['http://a:8983', 'http://a:8983/solr'] }), ['url.1: duplicate Solr instance a:8983']);
  assert.deepEqual(bad({ url: [] }), ['url: Too small: expected array to have >=1 items']);
});

describe('solr check against a real 2-node SolrCloud (ZooKeeper from Debian, Solr 9 from Maven jars)', () => {
  let cloud: SolrCloud;
  let dir: string;
  let a: string;
  let b: string;
  const urls = () => `url: [${cloud.nodes[0]!.url}, ${cloud.nodes[1]!.url}]`;
  const both = () => ({ url: cloud.nodes.map((n) => n.url) });

  before(async () => {
    dir = tempDir('solr-check');
    cloud = await SolrCloud.start({ nodes: 2 });
    await cloud.createCollection('web', { numShards: 2, replicationFactor: 2 });
    // One shard whose only replica lives on the second node: stopping that node leaves it with none.
    await cloud.createCollection('solo', { numShards: 1, replicationFactor: 1, onNodes: [cloud.nodes[1]!] });
    a = cloud.nodes[0]!.address;
    b = cloud.nodes[1]!.address;
    // web has replicas on both nodes, two each; solo's one is on the second.
    assert.deepEqual(await cloud.replicasPerNode('web'), { [cloud.nodes[0]!.nodeName]: 2, [cloud.nodes[1]!.nodeName]: 2 });
    assert.deepEqual(await cloud.replicasPerNode('solo'), { [cloud.nodes[1]!.nodeName]: 1 });
  });
  after(async () => {
    await cloud?.stop();
    if (dir) removeDir(dir);
  });

  test('healthy: an OK line per Solr instance, exit 0 (imom check --once)', async () => {
    const r = await cli(dir, urls());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(r.lines, [
      `Status=OK, Solr=${a}, Live_Nodes=2, Active=2`,
      `Status=OK, Solr=${b}, Live_Nodes=2, Active=3`,
    ].sort());
  });

  test('recovery_failed published for a replica: CRITICAL for its node only', async () => {
    // A follower: its shard keeps its leader, so no shard line.
    const core = (await cloud.replicas('web')).find((x) => !x.leader)!;
    const [bad, good] = core.nodeName === cloud.nodes[0]!.nodeName ? [a, `${b}, Live_Nodes=2, Active=3`] : [b, `${a}, Live_Nodes=2, Active=2`];
    await cloud.publishReplicaState('web', core.core, 'recovery_failed');
    try {
      assert.deepEqual(await cycle(dir, both()), [
        `CRITICAL: 1 core(s) are in recovery_failed state on Solr instance ${bad}`,
        `Status=OK, Solr=${good}`,
      ].sort());
    } finally {
      await cloud.publishReplicaState('web', core.core, 'active');
    }
  });

  test('a node stopped: from the live node, its replicas are down and it is not in live_nodes; it is unreachable', async () => {
    await cloud.nodes[1]!.stop();
    // A controlled shutdown publishes the node's replicas as down.
    await waitFor(async () => (await cloud.replicas()).filter((x) => x.nodeName === cloud.nodes[1]!.nodeName).every((x) => x.state === 'down'), 30_000, 'replicas of the stopped node down');
    // web's shards elect leaders on the live node; solo's shard had its only replica on the stopped one.
    await cloud.waitLeadersOn('web', cloud.nodes[0]!);
    const r = await cli(dir, urls());
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      `Status=OK, Solr=${a}, Live_Nodes=1, Active=2`,
      `CRITICAL: Shard solo/shard1 has no active replica (down on ${b})`,
      `CRITICAL: Solr instance ${b} holds 3 core(s) but is not in live_nodes`,
      `CRITICAL: 3 core(s) are in down state on Solr instance ${b}`,
      `CRITICAL: Solr instance ${b} is unreachable (connect ECONNREFUSED ${b})`,
    ].sort());
    // Only the live node configured: the same facts about the stopped one.
    assert.deepEqual(await cycle(dir, { url: cloud.nodes[0]!.url }), [
      `Status=OK, Solr=${a}, Live_Nodes=1, Active=2`,
      `CRITICAL: Shard solo/shard1 has no active replica (down on ${b})`,
      `CRITICAL: Solr instance ${b} holds 3 core(s) but is not in live_nodes`,
      `CRITICAL: 3 core(s) are in down state on Solr instance ${b}`,
    ].sort());
  });

  test('the node restarted: its replicas recover (recovering), then every instance is OK', async () => {
    const node = cloud.nodes[1]!;
    await node.start();
    const seen = new Set<string>();
    await waitFor(async () => {
      const lines = await cycle(dir, both());
      for (const l of lines) seen.add(l);
      return lines.length === 2 && lines.every((l) => l.startsWith('Status=OK') && l.includes('Live_Nodes=2, Active='));
    }, 120_000, 'both instances OK again', 100);
    const recovering = [...seen].filter((l) => l.includes('recovering'));
    assert.ok(recovering.length > 0, `no recovering line seen:\n${[...seen].join('\n')}`);
    for (const l of recovering) assert.match(l, new RegExp(`^CRITICAL: [123] core\\(s\\) are in recovering state on Solr instance ${b.replace(/\./g, '\\.')}$`));
    // Every line seen on the way names the restarted node, or is the healthy node's OK line.
    for (const l of seen) {
      assert.ok(l.includes(b) || l.startsWith(`Status=OK, Solr=${a},`), l);
    }
  });

  test('a node killed (SIGKILL): once its ZooKeeper session expires, the same lines as a stopped node', async () => {
    await cloud.nodes[1]!.kill();
    // The ephemeral live node goes when the ZooKeeper session expires (zkClientTimeout 10s);
    // then the Overseer marks the node's replicas down (summarizeCluster counts them down either way).
    await waitFor(async () => (await cloud.liveNodes()).length === 1, 60_000, 'the killed node out of live_nodes', 500);
    await cloud.waitLeadersOn('web', cloud.nodes[0]!);
    assert.deepEqual(await cycle(dir, both()), [
      `Status=OK, Solr=${a}, Live_Nodes=1, Active=2`,
      `CRITICAL: Shard solo/shard1 has no active replica (down on ${b})`,
      `CRITICAL: Solr instance ${b} holds 3 core(s) but is not in live_nodes`,
      `CRITICAL: 3 core(s) are in down state on Solr instance ${b}`,
      `CRITICAL: Solr instance ${b} is unreachable (connect ECONNREFUSED ${b})`,
    ].sort());
  });
});

describe('solr check against a real standalone node (CoreAdmin STATUS) with basic auth', () => {
  const USER = 'monitor';
  const PASSWORD = 'S0lr-S3cret-pw';
  let solr: SolrStandalone;
  let dir: string;
  let x: string;

  before(async () => {
    dir = tempDir('solr-check-standalone');
    solr = await SolrStandalone.start({ cores: ['main'], brokenCores: ['broken'], auth: { user: USER, password: PASSWORD } });
    x = solr.node.address;
  });
  after(async () => {
    await solr?.stop();
    if (dir) removeDir(dir);
  });

  const yaml = () => `mode: standalone\nurl: ${solr.node.url}\nusername: ${USER}\npassword: \${IMOM_SOLR_PASSWORD}`;

  test('a core that failed to load: CRITICAL naming it; after UNLOAD, the OK line', async () => {
    const r = await cli(dir, yaml(), { IMOM_SOLR_PASSWORD: PASSWORD });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.lines, [`CRITICAL: 1 core(s) failed to initialize on Solr instance ${x} (broken)`]);

    await solrGet(solr.node.url, '/admin/cores?action=UNLOAD&core=broken', { user: USER, password: PASSWORD });
    const ok = await cli(dir, yaml(), { IMOM_SOLR_PASSWORD: PASSWORD });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.lines, [`Status=OK, Solr=${x}, Cores=1`]);
  });

  test('wrong password: HTTP 401 CRITICAL, and no password anywhere in the output', async () => {
    const wrong = 'n0t-the-S0lr-pw';
    const r = await cli(dir, yaml(), { IMOM_SOLR_PASSWORD: wrong });
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0]!, new RegExp(`^CRITICAL: Solr instance ${x.replace(/\./g, '\\.')} answered HTTP 401 Unauthorized`));
    const b64 = (p: string) => Buffer.from(`${USER}:${p}`).toString('base64');
    for (const out of [r.stdout, r.stderr, readFileSync(`${dir}/check.log`, 'utf8')]) {
      for (const s of [wrong, PASSWORD, b64(wrong), b64(PASSWORD)]) assert.ok(!out.includes(s), 'a credential leaked');
    }
  });

  test('no credentials at all: HTTP 401 CRITICAL', async () => {
    const lines = await cycle(dir, { mode: 'standalone', url: solr.node.url });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^CRITICAL: Solr instance 127\.0\.0\.1:\d+ answered HTTP 401 Unauthorized/);
  });

  test('mode: cloud against a standalone node: CRITICAL with Solr\'s own reason', async () => {
    const lines = await cycle(dir, { mode: 'cloud', url: solr.node.url, username: USER, password: PASSWORD });
    assert.deepEqual(lines, [`CRITICAL: Solr instance ${x} answered HTTP 400 Bad Request (Solr instance is not running in SolrCloud mode.)`]);
  });

  test('unreachable instance: CRITICAL with the reason', async () => {
    const port = await freePort();
    assert.deepEqual(await cycle(dir, { mode: 'standalone', url: `http://127.0.0.1:${port}/solr` }), [
      `CRITICAL: Solr instance 127.0.0.1:${port} is unreachable (connect ECONNREFUSED 127.0.0.1:${port})`,
    ]);
  });

  test('a hung instance times out on its own timeout while the other instance reports', async () => {
    const hole = await startBlackhole();
    try {
      const lines = await cycle(dir, { mode: 'standalone', url: [`http://127.0.0.1:${hole.port}/solr`, solr.node.url], username: USER, password: PASSWORD }, 1000);
      assert.deepEqual(lines, [
        `CRITICAL: Solr instance 127.0.0.1:${hole.port} is unreachable (timeout after 1s)`,
        `Status=OK, Solr=${x}, Cores=1`,
      ].sort());

      // run() itself gives up when ctx.signal aborts, long before its own 30s HTTP timeouts.
      const [t] = await solrCheck.targets(solrCheck.schema.parse({ name: 'search', mode: 'standalone', url: `http://127.0.0.1:${hole.port}/solr` }), { stateDir: dir });
      const ac = new AbortController();
      const openBefore = hole.open();
      setTimeout(() => ac.abort(new Error('timeout after 300ms')), 300);
      await assert.rejects(t!.run({ signal: ac.signal, timeoutMs: 30_000 }), /timeout after 300ms|aborted/i);
      // It gave up because of the abort (the reason above, not the 30 s HTTP timeout) and let go of its connection.
      await waitFor(() => hole.open() <= openBefore, 10_000, 'the aborted request\'s connection to close');
      assert.deepEqual(t!.failure('timeout after 300ms', new Date()).map(formatLine), [`CRITICAL: Solr instance 127.0.0.1:${hole.port} is unreachable (timeout after 300ms)`]);
      await t!.close?.();
    } finally {
      await hole.close();
    }
  });
});

