import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MASTER_NAME, MONITOR, SentinelSet } from '../../../../test/harness/redis-sentinel.js';
import { removeDir, tempDir } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';

let set: SentinelSet;
let dir: string;

async function check() {
  const cfg = checkConfig(dir, `
  redis:
    - name: session
      username: ${MONITOR.username}
      password: \${IMOM_REDIS_PASSWORD}
      sentinel:
        master_name: ${MASTER_NAME}
        username: ${MONITOR.username}
        password: \${IMOM_REDIS_PASSWORD}
        sentinels: [${set.sentinels.map((s) => s.address).join(', ')}]
      nodes: [${set.pair.master.address}, ${set.pair.replica.address}]
`, { timeout: '5s' });
  return checkOnce(cfg, { env: { IMOM_REDIS_PASSWORD: MONITOR.password } });
}

/** The node lines, whatever order the reads finished in. */
const nodeLines = (lines: readonly string[]) => lines.filter((l) => l.includes('Node')).sort();

describe('redis check in Sentinel mode against three real Sentinels', () => {
  before(async () => {
    dir = tempDir('redis-sentinel-check');
    set = await SentinelSet.start();
  });
  after(async () => {
    await set?.stop();
    removeDir(dir);
  });

  test('healthy: the master line from the Sentinels, then each node in the role they give it', async () => {
    const { master, replica } = set.pair;
    const r = await check();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.lines[0], `Status=OK, Master=${MASTER_NAME}, Address=${master.address}, Sentinels=3`);
    assert.deepEqual(nodeLines(r.lines), [`Status=OK, Node=${master.address}, Role=master`, `Status=OK, Node=${replica.address}, Role=slave`].sort());
  });

  test('a Sentinel failover: one failover line, the nodes in their new roles (no role mismatch), then OK', async () => {
    const { from, to } = await set.failover();
    const r = await check();
    assert.equal(r.lines[0], `ERROR: Master ${MASTER_NAME} failed over from ${from} to ${to} (3 of 3 Sentinels agree)`, r.lines.join('\n'));
    assert.deepEqual(nodeLines(r.lines), [`Status=OK, Node=${to}, Role=master`, `Status=OK, Node=${from}, Role=slave`].sort());
    const next = await check();
    assert.equal(next.code, 0, next.lines.join('\n'));
    assert.equal(next.lines[0], `Status=OK, Master=${MASTER_NAME}, Address=${to}, Sentinels=3`);
  });

  test('one Sentinel cut off from the nodes during a failover: the Sentinels disagree (CRITICAL), agree again once it is back', async () => {
    const [s1, s2, s3] = set.sentinels as [typeof set.sentinels[0], typeof set.sentinels[0], typeof set.sentinels[0]];
    await set.cut(s3, true);
    let moved: { from: string; to: string };
    try {
      moved = await set.failover([s1, s2]);
      assert.equal(await s3.masterAddress(), moved.from, 'the cut-off Sentinel still names the old master');
      const r = await check();
      assert.equal(r.code, 1);
      assert.equal(r.lines[0], `CRITICAL: Master ${MASTER_NAME} is not agreed on by its Sentinels (${moved.to} from ${s1.address}, ${s2.address}; ${moved.from} from ${s3.address})`, r.lines.join('\n'));
      // No role is expected while they disagree: each node says what it is.
      assert.deepEqual(nodeLines(r.lines), [`Status=OK, Node=${moved.to}, Role=master`, `Status=OK, Node=${moved.from}, Role=slave`].sort());
    } finally {
      await set.cut(s3, false);
    }
    await set.waitSettled(moved.to);
    const back = await check();
    assert.equal(back.lines[0], `ERROR: Master ${MASTER_NAME} failed over from ${moved.from} to ${moved.to} (3 of 3 Sentinels agree)`, back.lines.join('\n'));
  });

  test('a Sentinel stopped: ERROR naming it and why, the master from the two others', async () => {
    const s3 = set.sentinels[2]!;
    const master = (await set.sentinels[0]!.masterAddress())!;
    await s3.daemon?.kill();
    const r = await check();
    assert.equal(r.code, 1);
    assert.equal(r.lines[0], `ERROR: Master ${MASTER_NAME} is ${master} as 2 of 3 Sentinels say; ${s3.address} did not answer (connect ECONNREFUSED ${s3.address})`);
  });
});

describe('redis config', () => {
  test('sample.yaml validates; sentinel: with masters:, or nodes: without sentinel:, is an error naming the key', async () => {
    const { imom } = await import('../../../../test/harness/cli.js');
    const { redisSchema } = await import('./schema.js');
    const ok = await imom(['config', 'validate', new URL('sample.yaml', import.meta.url).pathname], { env: { IMOM_REDIS_PASSWORD: 'x' } });
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const issues = (cfg: Record<string, unknown>) => redisSchema.safeParse({ name: 's', ...cfg }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(issues({ masters: ['10.0.0.1:6379'], sentinel: { master_name: 'm', sentinels: ['10.0.0.2:26379'] } }), [
      'nodes: sentinel mode needs the data nodes under nodes:',
      'masters: with sentinel the roles come from the Sentinels: list the nodes under nodes: instead',
    ]);
    assert.deepEqual(issues({ nodes: ['10.0.0.1:6379'] }), ['nodes: nodes: is for sentinel mode; without sentinel list them under masters: and slaves:']);
  });
});
