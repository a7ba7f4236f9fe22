import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicationPair, MONITOR_PASSWORD, MONITOR_USER } from '../../../../test/harness/mariadb.js';
import { startBlackhole } from '../../../../test/harness/redis.js';
import { freePort, removeDir, sleep, tempDir, waitFor } from '../../../../test/harness/proc.js';
import { checkConfig, checkOnce, linesOf, STAMP, stripStamp } from '../../../../test/harness/cli.js';

let pair: ReplicationPair;
let dir: string;

function config(opts: { slaves?: string[]; password?: string; threshold?: number; timeout?: string; extra?: string } = {}) {
  const slaves = opts.slaves ?? [pair.replica.address];
  return checkConfig(dir, `
  mysql:
    - name: order-db
      user: ${MONITOR_USER}
      password: \${IMOM_MYSQL_PASSWORD}
      master: ${pair.primary.address}
      slaves: [${slaves.join(', ')}]
      max_seconds_behind_master: ${opts.threshold ?? 30}
${opts.extra ? `      ${opts.extra}\n` : ''}`, { timeout: opts.timeout });
}

async function check(opts: Parameters<typeof config>[0] = {}) {
  const r = await checkOnce(config(opts), { env: { IMOM_MYSQL_PASSWORD: opts.password ?? MONITOR_PASSWORD } });
  for (const l of linesOf(r.stdout)) assert.match(l, STAMP);
  // Lines are written as each target finishes; the assertions read the primary first.
  const rank = (l: string) => (/\bMaster=/.test(l.split(', ')[1] ?? '') ? 0 : 1);
  return { ...r, written: r.lines, lines: [...r.lines].sort((a, b) => rank(a) - rank(b)) };
}

async function masterPos(): Promise<{ file: string; pos: number }> {
  const rows = (await pair.primary.sql('SHOW MASTER STATUS')) as { File: string; Position: number }[];
  return { file: rows[0]!.File, pos: Number(rows[0]!.Position) };
}

describe('mysql check against a real MariaDB primary and replica', () => {
  before(async () => {
    dir = tempDir('mysql-check');
    pair = await ReplicationPair.start();
  });
  after(async () => {
    await pair?.stop();
    removeDir(dir);
  });

  test('healthy replication: one OK line for the primary and one per replica, fields in order, exit 0', async () => {
    await pair.write(3);
    await pair.waitInSync();
    const m = await masterPos();
    const r = await check();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 2);
    assert.equal(r.lines[0], `Status=OK, Master=${pair.primary.address}, Master_Log_File=${m.file}, Master_Log_Position=${m.pos}`);
    assert.equal(r.lines[1],
      `Status=OK, Slave=${pair.replica.address}, Master_Log_File=${m.file}, Master_Log_Position=${m.pos}, ` +
      `Slave_Master_Log_File=${m.file}, Slave_Read_Master_Log_Pos=${m.pos}, Relay_Master_Log_File=${m.file}, Exec_Master_Log_Pos=${m.pos}, ` +
      'Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes');
    // The LOG_FILE holds the same lines, timestamped.
    const { readFileSync } = await import('node:fs');
    assert.deepEqual(linesOf(readFileSync(`${dir}/check.log`, 'utf8')).map(stripStamp).slice(-2), r.written);
  });

  test('SQL thread stopped: ERROR with Slave_SQL_Running=No, exit 1', async () => {
    await pair.replica.sql('STOP SLAVE SQL_THREAD');
    try {
      const r = await check();
      assert.equal(r.code, 1);
      assert.match(r.lines[1]!, /^Status=ERROR, Slave=127\.0\.0\.1:\d+, Master_Log_File=mysql-bin\.\d+, .*Seconds_Behind_Master=NULL, Slave_IO_Running=Yes, Slave_SQL_Running=No$/);
      // Stopped by hand: no error, and the follow-up says so.
      assert.equal(r.lines[2], `Status=ERROR, Slave=${pair.replica.address}, Last_SQL_Errno=0, Last_SQL_Error=`);
      assert.equal(r.lines.length, 3);
    } finally {
      await pair.replica.sql('START SLAVE SQL_THREAD');
      await pair.waitInSync();
    }
  });

  test('IO thread cannot reach its primary: Seconds_Behind_Master=NULL, ERROR', async () => {
    const dead = await freePort();
    await pair.pointReplicaAt(dead);
    try {
      await waitFor(async () => (await pair.replicaStatus()).Slave_IO_Running !== 'Yes', 20_000, 'IO thread to lose its primary');
      const r = await check();
      assert.equal(r.code, 1);
      assert.match(r.lines[1]!, /^Status=ERROR, Slave=127\.0\.0\.1:\d+, .*, Seconds_Behind_Master=NULL, Slave_IO_Running=(Connecting|No), Slave_SQL_Running=Yes$/);
      const s = await pair.replicaStatus();
      assert.equal(r.lines[2], `Status=ERROR, Slave=${pair.replica.address}, Last_IO_Errno=2003, Last_IO_Error=${String(s.Last_IO_Error).replace(/\s+/g, ' ')}`);
      assert.match(r.lines[2]!, new RegExp(`Last_IO_Error=error connecting to master 'repl@127\\.0\\.0\\.1:${dead}' .*Can't connect to server on '127\\.0\\.0\\.1'`));
    } finally {
      await pair.pointReplicaAt(pair.primary.port);
      await pair.waitInSync();
    }
  });

  test('replica really lagging at or beyond the threshold: ERROR with the lag', async () => {
    const release = await pair.holdReplicaLock();
    try {
      await pair.write(1);
      // The SQL thread is now blocked on the replicated row: the lag grows for real.
      await waitFor(async () => Number((await pair.replicaStatus()).Seconds_Behind_Master ?? 0) >= 3, 30_000, 'replica lag >= 3s');
      const r = await check({ threshold: 3 });
      assert.equal(r.code, 1);
      const lag = /Seconds_Behind_Master=(\d+)/.exec(r.lines[1]!);
      assert.ok(lag && Number(lag[1]) >= 3, r.lines[1] ?? "no replica line");
      assert.match(r.lines[1]!, /^Status=ERROR, Slave=.*, Slave_IO_Running=Yes, Slave_SQL_Running=Yes$/);
    } finally {
      await release();
      await pair.waitInSync();
    }
  });

  test('duplicate key on the replica: the seed line as before, then Last_SQL_Errno=1062 with the server\'s own text', async () => {
    // A row written on the replica by hand (root has READ ONLY ADMIN), then the same key on the primary.
    await pair.replica.sql("SET sql_log_bin=0; INSERT INTO shop.orders (id, note) VALUES (9001, 'replica only')");
    await pair.primary.sql("INSERT INTO shop.orders (id, note) VALUES (9001, 'primary')");
    try {
      await waitFor(async () => (await pair.replicaStatus()).Slave_SQL_Running === 'No', 20_000, 'SQL thread to stop on the duplicate key');
      const r = await check();
      assert.equal(r.code, 1);
      assert.equal(r.lines.length, 3);
      assert.match(r.lines[1]!, /^Status=ERROR, Slave=127\.0\.0\.1:\d+, Master_Log_File=mysql-bin\.\d+, .*, Seconds_Behind_Master=NULL, Slave_IO_Running=Yes, Slave_SQL_Running=No$/);
      const sqlError = String((await pair.replicaStatus()).Last_SQL_Error).replace(/\s+/g, ' ').trim();
      assert.match(sqlError, /Duplicate entry '9001' for key 'PRIMARY'/);
      assert.equal(r.lines[2], `Status=ERROR, Slave=${pair.replica.address}, Last_SQL_Errno=1062, Last_SQL_Error=${sqlError}`);
    } finally {
      await pair.replica.sql('SET sql_log_bin=0; DELETE FROM shop.orders WHERE id = 9001; START SLAVE SQL_THREAD');
      await pair.waitInSync();
    }
  });

  test('writable replica (read_only=OFF): its line is ERROR and a follow-up says why; allow_writable_replicas opts out', async () => {
    await pair.replica.sql('SET GLOBAL read_only = OFF');
    try {
      const r = await check();
      assert.equal(r.code, 1);
      assert.equal(r.lines.length, 3);
      assert.match(r.lines[1]!, /^Status=ERROR, Slave=127\.0\.0\.1:\d+, .*, Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes$/);
      assert.equal(r.lines[2], `Status=ERROR, Slave=${pair.replica.address}, Read_Only=OFF, Error=replica is writable (read_only=OFF)`);
      const allowed = await check({ extra: 'allow_writable_replicas: true' });
      assert.equal(allowed.code, 0, allowed.stdout);
      assert.deepEqual(allowed.lines.map((l) => l.split(',')[0]), ['Status=OK', 'Status=OK']);
    } finally {
      await pair.replica.sql('SET GLOBAL read_only = ON');
    }
  });

  test('Threads_connected at 95% of max_connections on the primary: its line is ERROR and a follow-up gives the figures', async () => {
    await pair.primary.sql('SET GLOBAL max_connections = 20');
    const held: Awaited<ReturnType<typeof pair.primary.root>>[] = [];
    try {
      // Connections held open until the server counts 18 (the replica's binlog dump included);
      // the check's own connection makes 19 of 20, over the default 0.9.
      for (;;) {
        const c = await pair.primary.root();
        held.push(c);
        const [rows] = await c.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
        if (Number((rows as { Value: string }[])[0]!.Value) >= 18) break;
      }
      const r = await check();
      assert.equal(r.code, 1);
      assert.match(r.lines[0]!, /^Status=ERROR, Master=127\.0\.0\.1:\d+, Master_Log_File=mysql-bin\.\d+, Master_Log_Position=\d+$/);
      assert.equal(r.lines[1], `Status=ERROR, Master=${pair.primary.address}, Threads_connected=19, Max_Connections=20, Error=connections at 95% of max_connections (limit 90%)`);
      assert.match(r.lines[2]!, /^Status=OK, Slave=/);
      assert.equal(r.lines.length, 3);
    } finally {
      await Promise.allSettled(held.map((c) => c.end()));
      await pair.primary.sql('SET GLOBAL max_connections = 151');
    }
  });

  test('multi-source replica: each channel gets its own line naming it, a broken one with its IO error', async () => {
    const dead = await freePort();
    await pair.replica.sql(`CHANGE MASTER 'east' TO MASTER_HOST='127.0.0.1', MASTER_PORT=${dead}, MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_CONNECT_RETRY=1; START SLAVE 'east'`);
    try {
      const east = async () => ((await pair.replica.sql('SHOW ALL SLAVES STATUS')) as Record<string, unknown>[]).find((s) => s.Connection_name === 'east');
      await waitFor(async () => ((await east())?.Last_IO_Errno === 2003 ? true : undefined), 20_000, "channel east's IO thread to fail");
      const m = await masterPos();
      const r = await check();
      assert.equal(r.code, 1);
      assert.equal(r.lines.length, 4);
      assert.equal(r.lines[1],
        `Status=OK, Slave=${pair.replica.address}, Master_Log_File=${m.file}, Master_Log_Position=${m.pos}, ` +
        `Slave_Master_Log_File=${m.file}, Slave_Read_Master_Log_Pos=${m.pos}, Relay_Master_Log_File=${m.file}, Exec_Master_Log_Pos=${m.pos}, ` +
        'Seconds_Behind_Master=0, Slave_IO_Running=Yes, Slave_SQL_Running=Yes');
      // Another primary's channel: the configured primary's position is not its own, so NULL.
      assert.match(r.lines[2]!, new RegExp(`^Status=ERROR, Slave=${pair.replica.address}, Channel=east, Master_Log_File=NULL, Master_Log_Position=NULL, .*, Seconds_Behind_Master=NULL, Slave_IO_Running=(Connecting|No), Slave_SQL_Running=Yes$`));
      assert.match(r.lines[3]!, new RegExp(`^Status=ERROR, Slave=${pair.replica.address}, Channel=east, Last_IO_Errno=2003, Last_IO_Error=error connecting to master 'repl@127\\.0\\.0\\.1:${dead}' `));
    } finally {
      await pair.replica.sql("STOP SLAVE 'east'; RESET SLAVE 'east' ALL");
    }
  });

  test('tls mode preferred against a server without TLS: plaintext, OK; mode required: one ERROR line per server saying so', async () => {
    const preferred = await check({ extra: 'tls: { mode: preferred }' });
    assert.equal(preferred.code, 0, preferred.stdout + preferred.stderr);
    assert.deepEqual(preferred.lines.map((l) => l.split(',')[0]), ['Status=OK', 'Status=OK']);
    const required = await check({ extra: 'tls: { mode: required }' });
    assert.equal(required.code, 1);
    assert.deepEqual(required.lines, [
      `Status=ERROR, Master=${pair.primary.address}, Error=the server does not offer TLS (tls mode required)`,
      `Status=ERROR, Slave=${pair.replica.address}, Error=the server does not offer TLS (tls mode required)`,
    ]);
  });

  test('wrong credentials: one ERROR line per server naming the reason, never the password', async () => {
    const wrong = 'Wr0ng-S3cret-value';
    const r = await check({ password: wrong });
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 2);
    assert.match(r.lines[0]!, /^Status=ERROR, Master=127\.0\.0\.1:\d+, Error=Access denied for user 'monitor'@'[^']+' \(using password: YES\)$/);
    assert.match(r.lines[1]!, /^Status=ERROR, Slave=127\.0\.0\.1:\d+, Error=Access denied/);
    for (const out of [r.stdout, r.stderr, await import('node:fs').then((fs) => fs.readFileSync(`${dir}/check.log`, 'utf8'))]) {
      assert.ok(!out.includes(wrong) && !out.includes(MONITOR_PASSWORD), 'a password leaked');
    }
  });

  test('blackholed replica times out while the primary and the real replica report on time', async () => {
    const hole = await startBlackhole();
    try {
      const holeAddr = `127.0.0.1:${hole.port}`;
      const r = await check({ slaves: [`127.0.0.1:${hole.port}`, pair.replica.address], timeout: '5s' });
      assert.equal(r.code, 1);
      assert.equal(r.lines.length, 3);
      // Lines are written as each target finishes: the healthy ones come before the timeout.
      assert.match(r.lines[0]!, /^Status=OK, (Master|Slave)=/);
      assert.match(r.lines[1]!, /^Status=OK, (Master|Slave)=/);
      assert.equal(r.lines[2], `Status=ERROR, Slave=${holeAddr}, Error=timeout after 5s`);
    } finally {
      await hole.close();
    }
  });

  test('replica server stopped: unreachable ERROR naming the server and the reason', async () => {
    await pair.replica.stop();
    try {
      const r = await check({ timeout: '3s' });
      assert.equal(r.code, 1);
      // Each target reports when it finishes: the refused one may come first.
      assert.deepEqual([...r.lines].sort(), [
        `Status=ERROR, Slave=${pair.replica.address}, Error=connect ECONNREFUSED ${pair.replica.address}`,
        `Status=OK, Master=${pair.primary.address}, Master_Log_File=${(await masterPos()).file}, Master_Log_Position=${(await masterPos()).pos}`,
      ]);
    } finally {
      await pair.replica.start();
      await sleep(100);
    }
  });
});
