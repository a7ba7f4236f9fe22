import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisPair, startBlackhole } from '../harness/redis.js';
import { queryAll, startLoki, waitForCount, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';
import { linesOf, spawnImom, stripStamp, STAMP } from '../harness/cli.js';

let pair: RedisPair;
let dir: string;
let n = 0;

const fileLines = (f: string) => (existsSync(f) ? linesOf(readFileSync(f, 'utf8')) : []);

/** A running `imom agent` and what it has said on stderr. */
function startAgent(config: string): { proc: ChildProcess; stderr: () => string } {
  const proc = spawnImom(['agent', '--config', config]);
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { proc, stderr: () => err };
}

/** SIGTERM, exit 0, and the agent's own count of the lines it wrote. */
async function stopAgent(a: { proc: ChildProcess; stderr: () => string }): Promise<number> {
  a.proc.kill('SIGTERM');
  const [code] = (await once(a.proc, 'exit')) as [number];
  assert.equal(code, 0, a.stderr());
  return Number(/agent stopped: (\d+) lines written/.exec(a.stderr())?.[1]);
}

const count = (text: string, what: string) => text.split(what).length - 1;

/** The main config: its `checks.redis` list as YAML items (indented 4 spaces). */
function mainConfig(d: string, log: string, redis: string): string {
  return `env: test
host: reload-test
interval: 200ms
timeout: 5s
state_dir: ${d}/state
outputs:
  file: { path: ${join(d, log)} }
checks:
  redis:
${redis.replace(/^\n+/, '').trimEnd()}
`;
}

describe('reload: SIGHUP re-reads the config and conf.d, SIGUSR1 only reopens the log files', () => {
  let caseDir: string;
  let cfg: string;
  before(async () => {
    dir = tempDir('reload');
    pair = await RedisPair.start();
  });
  after(async () => {
    await pair?.stop();
    removeDir(dir);
  });
  const freshCase = () => {
    caseDir = join(dir, `case-${++n}`);
    mkdirSync(join(caseDir, 'conf.d'), { recursive: true });
    cfg = join(caseDir, 'imom.yaml');
  };

  test('a valid config is applied live: a new target starts, removed ones stop (the one in flight finishes), the changed output reopens, no line lost or doubled', async () => {
    freshCase();
    const hole = await startBlackhole();
    const holeAddr = `127.0.0.1:${hole.port}`;
    const keep = `Node=${pair.master.address}, Role=master`;
    const old = `Node=${pair.replica.address}, Role=slave`;
    const fresh = `CRITICAL: Node ${pair.replica.address} is expected to be master but found slave`;
    const skipped = `Status=ERROR, Check=redis, Target=${holeAddr}, Error=previous run still in progress after 1s; run skipped`;
    const holeTimeout = `CRITICAL: Node ${holeAddr} is unreachable (timeout after 15s)`;
    writeFileSync(cfg, mainConfig(caseDir, 'a.log', `
    - name: keep
      masters: [${pair.master.address}]
    - name: old
      slaves: [${pair.replica.address}]
    - name: hung
      slaves: [${holeAddr}]
      interval: 1s
      timeout: 15s
`));
    const a = startAgent(cfg);
    try {
      const aLog = join(caseDir, 'a.log');
      const bLog = join(caseDir, 'b.log');
      // The skip line: hung's first run is in flight (a blackhole answers only by its 15 s timeout).
      await waitFor(() => {
        const l = fileLines(aLog);
        return l.filter((x) => x.endsWith(keep)).length >= 2 && l.some((x) => x.includes(old)) && l.map(stripStamp).includes(skipped);
      }, 30_000, 'keep, old and the skip line of hung in a.log');

      // New outputs in the main file, old and hung gone, a new instance in conf.d.
      writeFileSync(cfg, mainConfig(caseDir, 'b.log', `
    - name: keep
      masters: [${pair.master.address}]
`));
      writeFileSync(join(caseDir, 'conf.d', 'fresh.yaml'), `checks:\n  redis:\n    - name: fresh\n      masters: [${pair.replica.address}]\n`);
      a.proc.kill('SIGHUP');
      await waitFor(() => a.stderr().includes('config reloaded'), 30_000, 'the reload');
      assert.match(a.stderr(), /config reloaded: 2 targets, instances 1 added, 2 removed, 0 changed, outputs reopened/);

      // Everything before the message is written; from here on a.log is closed and old is stopped.
      const aAtReload = fileLines(aLog).length;
      const bAtReload = fileLines(bLog).length;
      await waitFor(() => {
        const later = fileLines(bLog).slice(bAtReload);
        return later.filter((x) => x.endsWith(keep)).length >= 3 && later.filter((x) => stripStamp(x) === fresh).length >= 3;
      }, 30_000, 'keep and fresh in b.log after the reload');
      const later = fileLines(bLog).slice(bAtReload);
      assert.ok(!later.some((x) => x.includes(old) || x.includes(holeAddr)), later.join('\n'));
      assert.equal(fileLines(aLog).length, aAtReload, 'a.log gets nothing after the reload');
      assert.ok(!fileLines(aLog).some((x) => stripStamp(x) === fresh), 'fresh started only with the new config');

      const written = await stopAgent(a);
      const all = [...fileLines(aLog), ...fileLines(bLog)];
      for (const l of all) assert.match(l, STAMP);
      assert.equal(all.length, written, 'lines in a.log + b.log = lines the agent wrote');
      // The in-flight run of hung was not cut: it ended by its own timeout, after the SIGHUP, once.
      assert.equal(all.map(stripStamp).filter((x) => x === holeTimeout).length, 1, all.join('\n'));
      assert.ok(fileLines(bLog).map(stripStamp).includes(holeTimeout));
    } finally {
      if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
      await hole.close();
    }
  });

  test('an invalid config keeps the running one and writes one ERROR line with FILE:LINE: path: problem; the log file is still reopened', async () => {
    freshCase();
    const keep = `Node=${pair.master.address}, Role=master`;
    const good = mainConfig(caseDir, 'check.log', `
    - name: keep
      masters: [${pair.master.address}]
`);
    writeFileSync(cfg, good);
    const a = startAgent(cfg);
    try {
      const log = join(caseDir, 'check.log');
      await waitFor(() => fileLines(log).filter((x) => x.endsWith(keep)).length >= 2, 30_000, 'keep lines');
      const bad = good.replace(`masters: [${pair.master.address}]`, 'masters: [not-a-host-port]');
      const line = bad.split('\n').indexOf('      masters: [not-a-host-port]') + 1;
      assert.ok(line > 0);
      writeFileSync(cfg, bad);
      renameSync(log, `${log}.1`);
      a.proc.kill('SIGHUP');
      await waitFor(() => a.stderr().includes('config reload failed'), 30_000, 'the failed reload');
      const problem = `${cfg}:${line}: checks.redis[0].masters[0]: expected host:port`;
      assert.ok(a.stderr().includes(problem), a.stderr());
      // The running config goes on, into the reopened file.
      await waitFor(() => fileLines(log).filter((x) => x.endsWith(keep)).length >= 2, 30_000, 'keep lines in the reopened file');
      const errors = [...fileLines(`${log}.1`), ...fileLines(log)].map(stripStamp).filter((x) => x.includes('config reload failed'));
      assert.deepEqual(errors, [`ERROR: config reload failed, running config kept: ${problem}`]);
      assert.ok(fileLines(log).map(stripStamp).includes(errors[0]!), 'the ERROR line is in the reopened file');
      assert.equal(count(a.stderr(), 'config reloaded'), 0);
      const written = await stopAgent(a);
      assert.equal(fileLines(`${log}.1`).length + fileLines(log).length, written);
    } finally {
      if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
    }
  });

  test('SIGUSR1 reopens the log file and does not load the edited config; SIGHUP then does', async () => {
    freshCase();
    const keep = `Node=${pair.master.address}, Role=master`;
    const fresh = `CRITICAL: Node ${pair.replica.address} is expected to be master but found slave`;
    writeFileSync(cfg, mainConfig(caseDir, 'check.log', `
    - name: keep
      masters: [${pair.master.address}]
`));
    const a = startAgent(cfg);
    try {
      const log = join(caseDir, 'check.log');
      await waitFor(() => fileLines(log).filter((x) => x.endsWith(keep)).length >= 2, 30_000, 'keep lines');
      // A config edited (here: valid, with a new instance) but not meant to be loaded by a rotation.
      writeFileSync(join(caseDir, 'conf.d', 'fresh.yaml'), `checks:\n  redis:\n    - name: fresh\n      masters: [${pair.replica.address}]\n`);
      renameSync(log, `${log}.1`);
      a.proc.kill('SIGUSR1');
      await waitFor(() => fileLines(log).filter((x) => x.endsWith(keep)).length >= 3, 30_000, 'keep lines in the reopened file');
      a.proc.kill('SIGHUP');
      await waitFor(() => fileLines(log).some((x) => stripStamp(x) === fresh), 30_000, 'fresh, after SIGHUP');
      // One reload: the SIGHUP's. Had SIGUSR1 loaded the config, fresh would be in check.log.1 or reported twice.
      assert.equal(count(a.stderr(), 'config reloaded'), 1, a.stderr());
      assert.match(a.stderr(), /config reloaded: 2 targets, instances 1 added, 0 removed, 0 changed, outputs unchanged/);
      assert.ok(!fileLines(`${log}.1`).some((x) => stripStamp(x) === fresh));
      const written = await stopAgent(a);
      assert.equal(fileLines(`${log}.1`).length + fileLines(log).length, written);
    } finally {
      if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
    }
  });

  describe('with a Loki output', () => {
    let loki: LokiHandle;
    before(async () => {
      loki = await startLoki();
    });
    after(async () => loki?.close());

    test('a changed Loki output reopens on the same spool: the lock passes to the new output, every line in Loki exactly once', async () => {
      freshCase();
      const host = `reload-loki-${process.pid}`;
      const spool = join(caseDir, 'spool');
      const withLabel = (generation: string) => mainConfig(caseDir, 'check.log', `
    - name: keep
      masters: [${pair.master.address}]
`).replace('host: reload-test', `host: ${host}`).replace(/(  file: .*\n)/, `$1  loki: { url: ${loki.url}, spool_dir: ${spool}, batch: { max_wait: 100ms }, shutdown_timeout: 60s, labels: { generation: "${generation}" } }\n`);
      writeFileSync(cfg, withLabel('one'));
      const a = startAgent(cfg);
      try {
        await waitForCount(loki.url, `{host="${host}", generation="one"}`, 3, { timeoutMs: 30_000 });
        writeFileSync(cfg, withLabel('two'));
        a.proc.kill('SIGHUP');
        await waitFor(() => a.stderr().includes('config reloaded'), 30_000, 'the reload');
        assert.match(a.stderr(), /instances 0 added, 0 removed, 0 changed, outputs reopened/);
        await waitForCount(loki.url, `{host="${host}", generation="two"}`, 3, { timeoutMs: 30_000 });
        assert.equal(readFileSync(join(spool, 'lock'), 'utf8').trim(), String(a.proc.pid));
        const written = await stopAgent(a);
        assert.ok(!a.stderr().includes('in use by process'), a.stderr());
        // The check lines: the heartbeat goes to Loki but not into a single check.log.
        const selector = `{job="imom", host="${host}", check!="heartbeat"}`;
        // Exited with nothing left in the spool (shutdown_timeout 60 s): Loki has answered 2xx
        // for every line, so a query now sees them all.
        assert.doesNotMatch(a.stderr(), /still spooled/, a.stderr());
        const inLoki = await queryAll(loki.url, selector);
        const inFile = fileLines(join(caseDir, 'check.log'));
        assert.equal(inFile.length, written);
        assert.equal(inLoki.length, written, 'every line in Loki once: none lost at the handover, none sent twice');
        assert.deepEqual(inLoki.map((e) => e.line).sort(), inFile.map(stripStamp).sort());
      } finally {
        if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
      }
    });
  });
});
