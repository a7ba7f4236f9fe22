import { after, before, describe, test } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { RedisPair, startBlackhole } from '../../../../test/harness/redis.js';
import { removeDir, run, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce } from '../../../../test/harness/cli.js';

const PASSWORD = 'r3dis-S3cret-xyz';
let pair: RedisPair;
let dir: string;

async function check(opts: { masters?: string[]; slaves?: string[]; password?: string; timeout?: string; extra?: string } = {}) {
  const cfg = checkConfig(dir, `
  redis:
    - name: session
      password: \${IMOM_REDIS_PASSWORD}${opts.extra ?? ''}
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
    await pair.withReplicaDetached(async () => {
      const r = await check();
      assert.equal(r.code, 1);
      assert.ok(r.lines.includes(`CRITICAL: Node ${pair.replica.address} is expected to be slave but found master`), r.lines.join('\n'));
    });
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

  test('filled to maxmemory: ERROR with used_memory against maxmemory, and OK again once freed', async () => {
    const m = pair.master;
    const used = Number(/used_memory:(\d+)/.exec(await m.cli('INFO', 'memory'))![1]);
    // 4 MiB above what it uses now, evicting: the 6 MB fill below takes it past 90% and keeps it there.
    await m.cli('CONFIG', 'SET', 'maxmemory', String(used + 4 * 1024 * 1024), 'maxmemory-policy', 'allkeys-random');
    try {
      await m.cli('EVAL', "for i=1,6000 do redis.call('SET', 'fill:'..i, string.rep('x', 1000)) end", '0');
      const mem = await m.cli('INFO', 'memory');
      const [u, max] = [Number(/used_memory:(\d+)/.exec(mem)![1]), Number(/maxmemory:(\d+)/.exec(mem)![1])];
      assert.ok(u / max >= 0.9, `filled to ${u} of ${max}`);
      const r = await check();
      assert.equal(r.code, 1);
      const line = r.lines.find((l) => l.includes(m.address)) ?? '';
      assert.match(line, new RegExp(`^ERROR: Node ${m.address} used_memory is \\d+\\.\\d% of maxmemory \\(used_memory=\\d+, maxmemory=${max}, max_memory_ratio=0\\.9\\)$`));
      assert.equal(r.lines.filter((l) => l.includes(m.address)).length, 1, 'no OK line beside the ERROR');
    } finally {
      await m.cli('FLUSHALL');
      await m.cli('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
    }
    assert.ok((await check()).lines.includes(`Status=OK, Node=${m.address}, Role=master`));
  });

  test('dump directory unwritable (chattr +i): ERROR rdb_last_bgsave_status is err, OK after a good save', async () => {
    const m = pair.master;
    // The tests run as root, who writes through any mode bits (and `dir` is a protected config
    // Redis 7 refuses to change): the immutable flag makes the node's own folder unwritable for real.
    await run('chattr', ['+i', m.dir]);
    try {
      await m.cli('SET', 'k', 'v');
      await m.cli('BGSAVE');
      await waitFor(async () => /rdb_last_bgsave_status:err/.test(await m.cli('INFO', 'persistence')), 20_000, 'the background save to fail');
      const r = await check();
      assert.equal(r.code, 1);
      const line = r.lines.find((l) => l.includes(m.address)) ?? '';
      assert.match(line, new RegExp(`^ERROR: Node ${m.address} rdb_last_bgsave_status is err \\(rdb_changes_since_last_save=\\d+, rdb_last_save_time=\\d+\\)$`));
    } finally {
      await run('chattr', ['-i', m.dir]);
      await m.cli('BGSAVE');
      await waitFor(async () => {
        const p = await m.cli('INFO', 'persistence');
        return /rdb_bgsave_in_progress:0/.test(p) && /rdb_last_bgsave_status:ok/.test(p);
      }, 20_000, 'a good save');
      await m.cli('DEL', 'k');
    }
    assert.ok((await check()).lines.includes(`Status=OK, Node=${m.address}, Role=master`));
  });

  test('AOF file unwritable (chattr +i): ERROR aof_last_write_status is err, OK once it can write again', async () => {
    const m = pair.master;
    await m.cli('CONFIG', 'SET', 'appendonly', 'yes');
    const aofDir = join(m.dir, 'appendonlydir');
    let incr: string[] = [];
    try {
      await waitFor(async () => {
        const p = await m.cli('INFO', 'persistence');
        incr = existsSync(aofDir) ? readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof')).map((f) => join(aofDir, f)) : [];
        return /aof_enabled:1/.test(p) && /aof_rewrite_in_progress:0/.test(p) && /aof_rewrite_scheduled:0/.test(p) && incr.length > 0;
      }, 20_000, 'the AOF to be on');
      // The file stays open in Redis: an immutable file refuses its next write (EPERM), as a full disk would (ENOSPC).
      await run('chattr', ['+i', ...incr]);
      try {
        await m.cli('SET', 'aof-k', 'v');
        await waitFor(async () => /aof_last_write_status:err/.test(await m.cli('INFO', 'persistence')), 20_000, 'the AOF write to fail');
        const r = await check();
        assert.equal(r.code, 1);
        assert.deepEqual(r.lines.filter((l) => l.includes(m.address)), [`ERROR: Node ${m.address} aof_last_write_status is err (aof_last_bgrewrite_status=ok)`]);
      } finally {
        await run('chattr', ['-i', ...incr]);
      }
      await waitFor(async () => /aof_last_write_status:ok/.test(await m.cli('INFO', 'persistence')), 20_000, 'the AOF to write again');
      assert.ok((await check()).lines.includes(`Status=OK, Node=${m.address}, Role=master`));
    } finally {
      await m.cli('CONFIG', 'SET', 'appendonly', 'no');
      await m.cli('DEL', 'aof-k');
    }
  });

  test('maxclients capped: connections rejected since the last check are one ERROR line, then OK', async () => {
    const m = pair.master;
    const base = await check();
    assert.ok(base.lines.includes(`Status=OK, Node=${m.address}, Role=master`), base.lines.join('\n'));
    const before = Number(/rejected_connections:(\d+)/.exec(await m.cli('INFO', 'stats'))![1]);
    // maxclients counts the replica's link (connected_clients does not): two more fit, the rest are refused.
    await m.cli('CONFIG', 'SET', 'maxclients', '3');
    try {
      const sockets = Array.from({ length: 4 }, () => connect({ host: '127.0.0.1', port: m.port }));
      try {
        const replies = await Promise.all(sockets.map((s) => new Promise<string>((res) => {
          let got = '';
          s.on('error', () => res(got));
          s.on('data', (d) => { got += d.toString(); if (got.includes('\r\n')) res(got); });
          s.on('close', () => res(got));
          s.write('PING\r\n');
        })));
        assert.ok(replies.some((x) => x.includes('max number of clients reached')), replies.join('|'));
      } finally {
        for (const s of sockets) s.destroy();
      }
      // This redis-cli is the one client left.
      await waitFor(async () => /connected_clients:1\r?\n/.test(await m.cli('INFO', 'clients')), 10_000, 'the extra clients to go');
      const rejected = Number(/rejected_connections:(\d+)/.exec(await m.cli('INFO', 'stats'))![1]);
      assert.ok(rejected > before, `rejected_connections ${before} -> ${rejected}`);
      const r = await check();
      assert.equal(r.code, 1);
      assert.ok(r.lines.includes(`ERROR: Node ${m.address} rejected ${rejected - before} connections since the last check (rejected_connections=${rejected}, connected_clients=1, maxclients=3)`), r.lines.join('\n'));
    } finally {
      await m.cli('CONFIG', 'SET', 'maxclients', '10000');
    }
    assert.ok((await check()).lines.includes(`Status=OK, Node=${m.address}, Role=master`));
  });

  test('replica stopped: the master has fewer connected_slaves than min_connected_slaves (ERROR)', async () => {
    const extra = '\n      min_connected_slaves: 1';
    assert.ok((await check({ extra })).lines.includes(`Status=OK, Node=${pair.master.address}, Role=master`));
    await pair.replica.stop();
    try {
      await waitFor(async () => /connected_slaves:0/.test(await pair.master.cli('INFO', 'replication')), 20_000, 'the master to lose its replica');
      const r = await check({ extra });
      assert.equal(r.code, 1);
      assert.ok(r.lines.includes(`ERROR: Master ${pair.master.address} has 0 connected slaves, fewer than min_connected_slaves=1`), r.lines.join('\n'));
      assert.ok(r.lines.includes(`CRITICAL: Node ${pair.replica.address} is unreachable (connect ECONNREFUSED ${pair.replica.address})`), r.lines.join('\n'));
    } finally {
      await pair.replica.start();
      await pair.waitLinked();
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
