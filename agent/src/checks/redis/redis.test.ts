import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisPair, startBlackhole } from '../../../../test/harness/redis.js';
import { removeDir, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';

const PASSWORD = 'r3dis-S3cret-xyz';
let pair: RedisPair;
let dir: string;

async function check(opts: { masters?: string[]; slaves?: string[]; password?: string; timeout?: string } = {}) {
  const cfg = checkConfig(dir, `
  redis:
    - name: session
      password: \${IMOM_REDIS_PASSWORD}
      masters: [${(opts.masters ?? [pair.master.address]).join(', ')}]
      slaves: [${(opts.slaves ?? [pair.replica.address]).join(', ')}]
`, { timeout: opts.timeout ?? '5s' });
  return checkOnce(cfg, { env: { IMOM_REDIS_PASSWORD: opts.password ?? PASSWORD } });
}

describe('redis check against a real master and replica', () => {
  before(async () => {
    dir = tempDir('redis-check');
    pair = await RedisPair.start({ password: PASSWORD });
  });
  after(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  test('healthy: Status=OK, Node=<ip:port>, Role=<role> per node, exit 0', async () => {
    const r = await check();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.lines].sort(), [
      `Status=OK, Node=${pair.master.address}, Role=master`,
      `Status=OK, Node=${pair.replica.address}, Role=slave`,
    ].sort());
  });

  test('REPLICAOF NO ONE on an expected slave: CRITICAL, exit 1', async () => {
    await pair.replica.cli('REPLICAOF', 'NO', 'ONE');
    try {
      const r = await check();
      assert.equal(r.code, 1);
      assert.ok(r.lines.includes(`CRITICAL: Node ${pair.replica.address} is expected to be slave but found master`), r.lines.join('\n'));
    } finally {
      await pair.replica.cli('REPLICAOF', '127.0.0.1', String(pair.master.port));
      await pair.waitLinked();
    }
  });

  test('expected master found slave: CRITICAL', async () => {
    const r = await check({ masters: [pair.replica.address], slaves: [] });
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [`CRITICAL: Node ${pair.replica.address} is expected to be master but found slave`]);
  });

  test('wrong password: unreachable CRITICAL with the reason, the password never shown', async () => {
    const wrong = 'n0t-the-Passw0rd';
    const r = await check({ password: wrong });
    assert.equal(r.code, 1);
    for (const l of r.lines) assert.match(l, /^CRITICAL: Node 127\.0\.0\.1:\d+ is unreachable \(WRONGPASS invalid username-password pair or user is disabled\.\)$/);
    const { readFileSync } = await import('node:fs');
    for (const out of [r.stdout, r.stderr, readFileSync(`${dir}/check.log`, 'utf8')]) {
      assert.ok(!out.includes(wrong) && !out.includes(PASSWORD), 'a password leaked');
    }
  });

  test('blackholed node times out while the others report', async () => {
    const hole = await startBlackhole();
    try {
      const holeAddr = `127.0.0.1:${hole.port}`;
      const r = await check({ slaves: [holeAddr, pair.replica.address], timeout: '5s' });
      assert.equal(r.lines.length, 3);
      assert.equal(r.lines[2], `CRITICAL: Node ${holeAddr} is unreachable (timeout after 5s)`);
      assert.deepEqual(r.lines.slice(0, 2).sort(), [`Status=OK, Node=${pair.master.address}, Role=master`, `Status=OK, Node=${pair.replica.address}, Role=slave`].sort());
    } finally {
      await hole.close();
    }
  });

  test('master killed: master unreachable (CRITICAL), replica link down (ERROR)', async () => {
    await pair.master.kill();
    await waitFor(async () => /master_link_status:down/.test(await pair.replica.cli('INFO', 'replication')), 20_000, 'replica to see its master gone');
    const r = await check();
    assert.equal(r.code, 1);
    assert.ok(r.lines.includes(`CRITICAL: Node ${pair.master.address} is unreachable (connect ECONNREFUSED ${pair.master.address})`), r.lines.join('\n'));
    const link = r.lines.find((l) => l.includes(`Node=${pair.replica.address}`));
    assert.match(link ?? '', new RegExp(`^Status=ERROR, Node=${pair.replica.address}, Role=slave, Master=${pair.master.address}, Master_Link_Status=down, Master_Link_Down_Since_Seconds=-?\\d+$`));
  });
});
