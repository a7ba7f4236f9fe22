import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RedisPair } from '../harness/redis.js';
import { Rsyslog } from '../harness/rsyslog.js';
import { countLines, pushStreams, startLoki, waitForCount, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';
import { imom, linesOf, spawnImom, stripStamp, writeConfig } from '../harness/cli.js';

let pair: RedisPair;
let syslog: Rsyslog;
let loki: LokiHandle;
let dir: string;

const HOST = `test-mode-${process.pid}`;

async function sendDatagram(port: number, text: string): Promise<void> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((res, rej) => sock.send(text, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  } finally {
    sock.close();
  }
}

describe('imom check --test beside a live agent with file, syslog and Loki outputs', () => {
  before(async () => {
    dir = tempDir('test-mode');
    [pair, syslog, loki] = await Promise.all([RedisPair.start(), Rsyslog.start(), startLoki()]);
  });
  after(async () => {
    await Promise.allSettled([pair?.stop(), syslog?.stop(), loki?.close()]);
    removeDir(dir);
  });

  test('prints the cycle to stdout and touches no output: log file, rsyslogd, Loki and the spool lock are as the agent left them', async () => {
    const spool = join(dir, 'spool');
    const logFile = join(dir, 'check.log');
    // A 10-minute interval: the live agent writes its first cycle and then nothing while we look.
    const cfg = writeConfig(dir, `
env: test
host: ${HOST}
interval: 10m
timeout: 5s
state_dir: ${dir}/state
outputs:
  file: { path: ${logFile} }
  syslog: { enabled: true, address: "udp://127.0.0.1:${syslog.udpPort}" }
  loki: { url: ${loki.url}, spool_dir: ${spool}, batch: { max_wait: 100ms } }
checks:
  redis:
    - name: session
      masters: [${pair.master.address}]
      slaves: [${pair.replica.address}]
    - name: wrong-role
      masters: [${pair.replica.address}]
`);
    const critical = `CRITICAL: Node ${pair.replica.address} is expected to be master but found slave`;
    const agent = spawnImom(['agent', '--config', cfg]);
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      await waitFor(() => stderr.includes('agent started'), 30_000, 'agent started');
      await waitFor(() => linesOf(readFileSync(logFile, 'utf8')).length >= 3, 20_000, 'the first cycle in the log file');
      await waitFor(() => syslog.lines().some((l) => l.includes(critical)), 20_000, 'the CRITICAL line in rsyslogd');
      // The check lines (the agent's heartbeat, its own stream, comes at start and every minute).
      const selector = `{job="imom", host="${HOST}", check!="heartbeat"}`;
      // Loki has every line of the first cycle: as many as the log file holds (the next cycle is 10 minutes away).
      const cycle = linesOf(readFileSync(logFile, 'utf8')).length;
      const lokiBefore = await waitForCount(loki.url, selector, cycle, { timeoutMs: 30_000 });
      assert.equal(lokiBefore, cycle, 'each line of the cycle once in Loki');
      const fileBefore = statSync(logFile);
      const syslogBefore = syslog.lines();
      const lockBefore = statSync(join(spool, 'lock'));
      const spoolBefore = readdirSync(spool).sort();

      const r = await imom(['check', '--config', cfg, '--test']);
      assert.equal(r.code, 1, r.stderr); // the CRITICAL line
      const lines = linesOf(r.stdout).map(stripStamp);
      assert.ok(lines.includes(critical), r.stdout);
      assert.ok(lines.some((l) => l.endsWith(`Node=${pair.master.address}, Role=master`)), r.stdout);
      assert.equal(r.stderr, '', 'no output trouble, no spool in use');

      // The log file: the same inode, not one byte more.
      const fileAfter = statSync(logFile);
      assert.equal(fileAfter.ino, fileBefore.ino);
      assert.equal(fileAfter.size, fileBefore.size);

      // rsyslogd: a marker datagram sent after --test exited arrives, and nothing came before it.
      const marker = `test-mode-marker-${process.pid}`;
      await sendDatagram(syslog.udpPort, `<14>marker: ${marker}`);
      await waitFor(() => syslog.lines().some((l) => l.includes(marker)), 10_000, 'the marker datagram');
      assert.deepEqual(syslog.lines().slice(0, -1), syslogBefore);

      // Loki: a marker pushed after --test exited is queryable, and the agent's stream has no new line.
      await pushStreams(loki.url, [{ labels: { job: 'marker', host: HOST }, entries: [[Date.now(), marker]] }]);
      await waitForCount(loki.url, `{job="marker", host="${HOST}"}`, 1, { timeoutMs: 30_000 });
      assert.equal(await countLines(loki.url, selector), lokiBefore);

      // The live agent still holds its spool lock: same file, its pid, nothing added to the spool.
      const lockAfter = statSync(join(spool, 'lock'));
      assert.equal(lockAfter.ino, lockBefore.ino);
      assert.equal(readFileSync(join(spool, 'lock'), 'utf8').trim(), String(agent.pid));
      assert.deepEqual(readdirSync(spool).sort(), spoolBefore);
      assert.equal(agent.exitCode, null, 'the agent is still running');

      // --once is what it was: every configured output, so beside the agent it meets the spool lock.
      const onceRun = await imom(['check', '--config', cfg, '--once']);
      assert.equal(onceRun.code, 2);
      assert.match(onceRun.stderr, new RegExp(`loki spool ${spool} is in use by process ${agent.pid}`));
    } finally {
      agent.kill('SIGTERM');
      if (agent.exitCode === null) await once(agent, 'exit');
    }
  });
});
