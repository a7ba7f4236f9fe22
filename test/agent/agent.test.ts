import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { RedisPair, startBlackhole } from '../harness/redis.js';
import { Rsyslog } from '../harness/rsyslog.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';
import { imom, linesOf, spawnImom, stripStamp, writeConfig, STAMP } from '../harness/cli.js';

let pair: RedisPair;
let syslog: Rsyslog;
let dir: string;

let logName = 'check.log';
function config(extra: { slaves?: string[]; interval?: string; timeout?: string; syslog?: string; instanceExtra?: string; log?: string } = {}) {
  logName = extra.log ?? 'check.log';
  return writeConfig(dir, `
env: test
host: agent-test
interval: ${extra.interval ?? '60s'}
timeout: ${extra.timeout ?? '5s'}
state_dir: ${dir}/state
outputs:
  file: { path: ${dir}/${logName} }
${extra.syslog ? `  syslog: { enabled: true, address: "${extra.syslog}" }` : ''}
checks:
  redis:
    - name: session
      masters: [${pair.master.address}]
      slaves: [${(extra.slaves ?? [pair.replica.address]).join(', ')}]
${extra.instanceExtra ?? ''}
`);
}

const fileLines = (f = `${dir}/${logName}`) => (existsSync(f) ? linesOf(readFileSync(f, 'utf8')) : []);

describe('agent lifecycle against real Redis and a real rsyslogd', () => {
  before(async () => {
    dir = tempDir('agent');
    [pair, syslog] = await Promise.all([RedisPair.start(), Rsyslog.start()]);
  });
  after(async () => {
    await Promise.allSettled([pair?.stop(), syslog?.stop()]);
    removeDir(dir);
  });

  test('syslog gets only ERROR and CRITICAL, tagged <check>_check, over a /dev/log-style unix socket, UDP and TCP', async () => {
    await pair.replica.cli('REPLICAOF', 'NO', 'ONE');
    try {
      for (const [i, address] of [syslog.socket, `udp://127.0.0.1:${syslog.udpPort}`, `tcp://127.0.0.1:${syslog.tcpPort}`].entries()) {
        const r = await imom(['check', '--config', config({ syslog: address })]);
        assert.equal(r.code, 1);
        const critical = `CRITICAL: Node ${pair.replica.address} is expected to be slave but found master`;
        assert.ok(linesOf(r.stdout).map(stripStamp).includes(critical));
        const got = await waitFor(() => {
          const l = syslog.lines().filter((x) => x.includes(critical));
          return l.length >= i + 1 ? l : undefined;
        }, 10_000, 'rsyslogd to write the line');
        // user.crit, tag redis_check, the line unchanged; the OK line for the master never reaches syslog.
        assert.match(got.at(-1)!, new RegExp(`^user\\.crit \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ redis_check: ${critical.replace(/\./g, '\\.')}$`));
        assert.ok(!syslog.lines().some((x) => x.includes('Status=OK')));
      }
    } finally {
      await pair.replica.cli('REPLICAOF', '127.0.0.1', String(pair.master.port));
      await pair.waitLinked();
    }
  });

  test('SIGHUP after rename reopens the file: every line lands in exactly one file, none lost', async () => {
    const agent = spawnImom(['agent', '--config', config({ interval: '100ms', log: 'hup.log' })]);
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => fileLines().length >= 4, 20_000, 'first lines');
    for (let i = 1; i <= 5; i++) {
      const rotated = `${dir}/hup.log.${i}`;
      renameSync(`${dir}/hup.log`, rotated);
      // As with logrotate, the agent keeps writing to the renamed file until the signal: wait
      // until it has, rather than sleep and hope.
      const atRename = fileLines(rotated).length;
      await waitFor(() => fileLines(rotated).length > atRename, 10_000, 'a line in the renamed file');
      agent.kill('SIGHUP');
      // 4 lines per reopened file: with the first 4 and one per renamed file, at least 29 lines
      // in all, so `written > 20` below holds however slowly the machine runs.
      await waitFor(() => fileLines().length >= 4, 10_000, 'lines in the reopened file');
    }
    agent.kill('SIGTERM');
    const [code] = (await once(agent, 'exit')) as [number];
    assert.equal(code, 0, stderr);
    const written = Number(/agent stopped: (\d+) lines written/.exec(stderr)?.[1]);
    const files = readdirSync(dir).filter((f) => f.startsWith('hup.log'));
    assert.equal(files.length, 6);
    const all = files.flatMap((f) => fileLines(join(dir, f)));
    for (const l of all) assert.match(l, STAMP);
    assert.ok(written > 20, stderr);
    assert.equal(all.length, written, 'lines in all files = lines the agent wrote');
  });

  test('SIGTERM lets the in-flight check finish and flushes before exit', async () => {
    const hole = await startBlackhole();
    const holeAddr = `127.0.0.1:${hole.port}`;
    const unreachable = `CRITICAL: Node ${holeAddr} is unreachable (timeout after 3s)`;
    try {
      // SIGTERM has to arrive while the blackholed run is in flight, within its 3 s timeout of
      // the healthy line. Whether it did is read from the file, not assumed: if a loaded machine
      // let the timeout fire first, nothing was in flight, and the attempt is made again.
      for (let attempt = 1; ; attempt++) {
        const agent = spawnImom(['agent', '--config', config({ slaves: [holeAddr], timeout: '3s', log: `term-${attempt}.log` })]);
        await waitFor(() => fileLines().some((l) => l.endsWith(`Node=${pair.master.address}, Role=master`)), 20_000, 'the healthy line');
        const before = fileLines().map(stripStamp);
        agent.kill('SIGTERM');
        const [code] = (await once(agent, 'exit')) as [number];
        assert.equal(code, 0);
        if (before.includes(unreachable)) {
          assert.ok(attempt < 5, 'in 5 attempts the 3 s timeout always fired before SIGTERM arrived');
          continue;
        }
        const after = fileLines().map(stripStamp).slice(before.length);
        assert.ok(after.includes(unreachable), after.join('\n'));
        return;
      }
    } finally {
      await hole.close();
    }
  });

  test('a run that would overlap the previous run of the same target is skipped with an ERROR line', async () => {
    const hole = await startBlackhole();
    const holeAddr = `127.0.0.1:${hole.port}`;
    try {
      const cfg = config({ log: 'skip.log', slaves: [holeAddr], instanceExtra: '      interval: 1s\n      timeout: 3500ms' });
      const agent = spawnImom(['agent', '--config', cfg]);
      const skipped = `Status=ERROR, Check=redis, Target=${holeAddr}, Error=previous run still in progress after 1s; run skipped`;
      const masterOk = `Node=${pair.master.address}, Role=master`;
      // Outcomes, not their order: the skip line comes, and the master, on the same interval,
      // reports at least twice while the blackholed node hangs (its first two runs and the
      // first skip can land on the same tick, so neither is asserted before the other).
      await waitFor(() => {
        const lines = fileLines();
        return lines.map(stripStamp).includes(skipped) && lines.filter((l) => l.endsWith(masterOk)).length >= 2;
      }, 30_000, 'the skip line and two healthy master lines');
      agent.kill('SIGTERM');
      const [code] = (await once(agent, 'exit')) as [number];
      assert.equal(code, 0);
    } finally {
      await hole.close();
    }
  });
});
